"""Runs the demo as a new user does and checks what they would try, for CI and the start-up benchmark.

    python -m devtools.demo_check [--port 8765] [--contract PATH]

`make run` in the background on a fresh data folder; wait until it answers; the README's curl
example with the printed key and card; the independent POS client (`../shared/contract/
pos_client.py`, when present) with the printed key; stop; then a second `make run` on the same
folder (a restart, data kept) and stop again. Prints how long each start took to answer and
exits non-zero on the first thing a user would find broken.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class DemoBroken(Exception):
    pass


@dataclass
class Demo:
    process: subprocess.Popen
    log: Path
    seconds_to_answer: float
    key: str
    card: str
    base: str


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own localhost URL
            return response.status == 200
    except OSError:
        return False


def start(*, project: Path, port: int, data_dir: Path, log: Path, timeout: float = 600) -> Demo:
    """`make run` in its own process group (so a stop reaches make, the runner and the server)."""
    env = {**os.environ, "EMBEDDED_PGDATA": str(data_dir), "PORT": str(port)}
    env.pop("DATABASE_URL", None)
    began = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    while not _answers(base + "/healthz"):
        if process.poll() is not None:
            raise DemoBroken(f"make run exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() - began > timeout:
            stop(process)
            raise DemoBroken(f"the demo did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    seconds = time.monotonic() - began
    text = log.read_text()
    key = re.search(r"Demo POS key: (\S+)", text)
    card = re.search(r"Demo card:\s+(\d{16})", text)
    if not key or not card:
        stop(process)
        raise DemoBroken(f"make run printed no POS key or demo card:\n{text[-3000:]}")
    if not re.search(r"password: \S+", text):
        stop(process)
        raise DemoBroken("make run printed no admin password")
    return Demo(process, log, seconds, key.group(1), card.group(1), base)


def stop(process: subprocess.Popen, timeout: float = 60) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _gone(path: Path, timeout: float) -> bool:
    """`make` exits at once on a stop; the runner behind it stops PostgreSQL a moment later."""
    deadline = time.monotonic() + timeout
    while path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def readme_example() -> str:
    """The shell block of the README's "The POS API in one minute", less its KEY=/CARD= lines."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The POS API in one minute") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    return "\n".join(line for line in block.splitlines() if not re.match(r"(KEY|CARD)=", line))


def check_readme_example(demo: Demo) -> dict:
    script = readme_example().replace("http://127.0.0.1:8000", demo.base)
    result = subprocess.run(
        ["bash", "-c", script],  # the README's own example
        env={**os.environ, "KEY": demo.key, "CARD": demo.card},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise DemoBroken(f"the README example answered no JSON: {result.stdout!r} {result.stderr!r}") from None
    if "points_earned" not in answer or answer.get("total") != "100.00":
        raise DemoBroken(f"the README example's purchase was not recorded: {answer}")
    return answer


def member_balance(demo: Demo, card: str) -> int:
    """The demo card's points balance, read through the API with this run's key."""
    request = urllib.request.Request(  # noqa: S310 - our own localhost URL
        f"{demo.base}/api/v1/members/{card}/", headers={"Authorization": f"Api-Key {demo.key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own localhost URL
            return json.loads(response.read())["points_balance"]
    except (OSError, ValueError, KeyError) as exc:
        raise DemoBroken(f"the demo card {card} could not be read: {exc}") from None


def check_contract(demo: Demo, client: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(client)],
        env={**os.environ, "BASE": demo.base, "KEY": demo.key},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    last = (result.stdout.strip().splitlines() or [""])[-1]
    match = re.match(r"(\d+)/(\d+) POS contract checks pass", last)
    if result.returncode != 0 or not match or match.group(1) != match.group(2):
        output = result.stdout[-3000:] + result.stderr[-2000:]
        raise DemoBroken(f"the POS contract client failed against the demo:\n{output}")
    return last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--contract", type=Path, default=ROOT.parent / "shared" / "contract" / "pos_client.py")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="demo-check-"))
    data_dir = workdir / "pgdata"
    demo = None
    try:
        demo = start(project=ROOT, port=args.port, data_dir=data_dir, log=workdir / "first.log")
        print(f"demo: first start answered after {demo.seconds_to_answer:.1f} s", flush=True)
        answer = check_readme_example(demo)
        print(f"demo: README example recorded a purchase earning {answer['points_earned']} points", flush=True)
        if args.contract.exists():
            print(f"demo: {check_contract(demo, args.contract)}", flush=True)
        else:
            print(f"demo: no POS contract client at {args.contract}, skipped", flush=True)
        card, balance = demo.card, member_balance(demo, demo.card)
        stop(demo.process)
        if not _gone(data_dir / "postmaster.pid", timeout=30):
            raise DemoBroken("the embedded PostgreSQL still runs 30 s after make run stopped")
        demo = start(project=ROOT, port=args.port, data_dir=data_dir, log=workdir / "restart.log")
        print(f"demo: restart answered after {demo.seconds_to_answer:.1f} s", flush=True)
        # The same card, with the points the first run earned: the data were kept, not loaded anew
        # (the demo's own lines are in the programme's language, so the check reads data, not words).
        if member_balance(demo, card) != balance:
            raise DemoBroken("the restart did not keep the demo data")
        stop(demo.process)
        demo = None
        if not _gone(data_dir / "postmaster.pid", timeout=30):
            raise DemoBroken("the embedded PostgreSQL still runs 30 s after make run stopped")
    except DemoBroken as exc:
        print(f"demo check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if demo is not None:
            stop(demo.process)
        shutil.rmtree(workdir, ignore_errors=True)
    print("demo: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
