"""How long a new user waits for the demo: `make run` on a fresh clone (install, embedded
PostgreSQL, migrate, demo data) until it answers, and a restart (data kept) until it answers.

    .venv/bin/python -m bench.demo_start [--rounds 3] [--keep-venv]

Each round clones this checkout's HEAD into a new folder (no .venv, no .pgdata), runs `make run`
there and times it to the first 200 from /healthz, stops it, starts it again and times that. Prints
each round and the medians against the targets (first start <= 90 s, restart <= 10 s). pip's cache
is whatever this machine has: say so when quoting the first-start figure. With --keep-venv the
venv of this checkout is copied in, to time the rest without the install.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import PROJECT_DIR as ROOT
from bench.harness import median
from devtools.demo_check import start, stop

FIRST_START_TARGET = 90.0
RESTART_TARGET = 10.0


def one_round(port: int, keep_venv: bool) -> tuple[float, float]:
    workdir = Path(tempfile.mkdtemp(prefix="demo-start-"))
    project = workdir / "loyalty"
    try:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(project)], check=True)
        if keep_venv:
            subprocess.run(["cp", "-a", str(ROOT / ".venv"), str(project / ".venv")], check=True)
        data = project / ".pgdata"
        first = start(project=project, port=port, data_dir=data, log=workdir / "first.log")
        stop(first.process)
        again = start(project=project, port=port, data_dir=data, log=workdir / "restart.log")
        stop(again.process)
        return first.seconds_to_answer, again.seconds_to_answer
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8777)
    parser.add_argument("--keep-venv", action="store_true", help="copy this checkout's .venv in (no install)")
    args = parser.parse_args()

    firsts, restarts = [], []
    for number in range(1, args.rounds + 1):
        first, restart = one_round(args.port, args.keep_venv)
        firsts.append(first)
        restarts.append(restart)
        print(f"round {number}: first start {first:.1f} s, restart {restart:.1f} s", flush=True)
    first, restart = median(firsts), median(restarts)
    ok = first <= FIRST_START_TARGET and restart <= RESTART_TARGET
    print(
        f"median of {args.rounds}: first start {first:.1f} s (target <= {FIRST_START_TARGET:.0f}), "
        f"restart {restart:.1f} s (target <= {RESTART_TARGET:.0f}): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":  # python -m bench.demo_start
    sys.exit(main())
