"""Benchmark: the member portal's home and history pages with a member's session (issue 13:
<= 50 ms server time at p99 and >= 300 pages/s on 2 cores with 3 gunicorn workers).

Builds a scratch database (migrated), bulk-loads `--members` filler members so the tables have
some size, gives `--sessions` members `--purchases` purchases each through `purchase_record` (so
the ledger, lots and tiers are real), and a portal session each (the session backend's own store).
Then it serves the app with gunicorn (sync workers) and sends GET /portal/ and GET
/portal/history/ in turn from `--concurrency` client threads for `--duration` seconds, each request
with a random member's session cookie, for `--runs` runs.

Server time is gunicorn's own measure of each request (the access log's %(D)s, microseconds from
reading the request to the last byte written), so it holds no client queueing; pages/s is the
number of pages answered 200 divided by the run's length. Figures are medians of the runs.
The database is dropped and gunicorn stopped at the end, also on errors and Ctrl-C.

    .venv/bin/python bench/portal.py                                  # small scale, 3 runs x 20 s
    .venv/bin/python bench/portal.py --members 1000000 --sessions 2000 --runs 5 --duration 30

Uses bench/pgdb.py for the scratch database; PostgreSQL on 127.0.0.1:5432 (user postgres).
"""

import argparse
import contextlib
import http.client
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgdb import ScratchDatabase  # noqa: E402 - the bench folder's own helper

TARGET_P99_MS, TARGET_PAGES_PER_S = 50.0, 300.0
PAGES = ("/portal/", "/portal/history/")
ACCESS_LINE = re.compile(r"^PORTALBENCH (?P<path>\S+) (?P<status>\d{3}) (?P<us>\d+)$")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def app_env(args, db: ScratchDatabase) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DEBUG": "False",
        "SECRET_KEY": args.secret_key,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": db.url,
        "REDIS_URL": args.redis_url,
        "SESSION_COOKIE_SECURE": "False",  # plain HTTP on localhost
        "LOG_LEVEL": "WARNING",
        "METRICS_ENABLED": "False",
        "LOG_REQUESTS": "False",
        "PYTHONUNBUFFERED": "1",
    }


def load(args, env: dict) -> list[str]:
    """Migrate, load the members, and return one session key per session member."""
    subprocess.run([args.python, "manage.py", "migrate", "--noinput"], cwd=PROJECT_DIR, env=env, check=True,
                   capture_output=True)  # fmt: skip
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal
    from importlib import import_module

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from members.identifiers import new_card_number, new_referral_code
    from members.models import Member
    from members.services import purchase_record
    from portal.auth import SESSION_EPOCH, SESSION_MEMBER
    from portal.models import PortalAccount
    from rewards.earning import BasketLine
    from stores.models import Store

    started = time.monotonic()
    with connection.cursor() as cur:
        # Filler members in one statement: the portal reads by primary key, so their number only
        # sizes the tables and indexes. Card numbers and referral codes need not pass checks here.
        cur.execute(
            """INSERT INTO members_member (public_id, card_number, phone, email, name, enrolled_channel, enrolled_at,
                 consent_email, consent_sms, interests, language, referral_code, status, suspended_reason,
                 points_balance, lifetime_spend, purchase_count, stage, lapse_state, loyalty_type, tier_pin_reason,
                 updated_at)
               SELECT gen_random_uuid(), '9' || lpad(i::text, 15, '0'), '+8619' || lpad(i::text, 9, '0'), '', '',
                 'store', now(), false, false, '[]', 'zh-hans', 'F' || i, 'active', '', 0, 0, 0, 'prospect',
                 'active', 'none', '', now()
               FROM generate_series(1, %s) AS i""",
            [args.members],
        )
    log(f"{args.members:,} filler members in {time.monotonic() - started:.1f} s")
    store = Store.objects.create(code="BENCH", name="Bench store")
    engine = import_module(settings.SESSION_ENGINE)
    keys, started, rng = [], time.monotonic(), random.Random(7)
    now = timezone.now()
    for i in range(args.sessions):
        member = Member.objects.create(
            card_number=new_card_number(), referral_code=new_referral_code(), phone=f"+8613{i:09d}", name=f"Bench {i}"
        )
        for p in range(args.purchases):
            total = Decimal(rng.randrange(2000, 90000)) / 100
            purchase_record(
                member=member, store=store, receipt_id=f"B{i}-{p}", channel="store",
                occurred_at=now - timedelta(days=args.purchases - p, minutes=1), total=total,
                lines=[BasketLine(f"SKU-{p % 7}", f"cat-{p % 3}", 1, total)],
            )  # fmt: skip
        account = PortalAccount.objects.create(member=member)
        session = engine.SessionStore()
        session[SESSION_MEMBER], session[SESSION_EPOCH] = member.pk, account.session_epoch
        session.set_expiry(3600 * 24)
        session.create()
        keys.append(session.session_key)
    log(f"{args.sessions} members with {args.purchases} purchases and a session each in "
        f"{time.monotonic() - started:.1f} s")  # fmt: skip
    connection.close()
    return keys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, args, env: dict, logdir: Path):
        self.port = free_port()
        self.access_path = logdir / "access.log"
        self.log_path = logdir / "gunicorn.log"
        self.log = self.log_path.open("w")
        cmd = [
            args.gunicorn, "loyalty.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(args.workers), "--worker-class", "sync", "--backlog", "2048", "--timeout", "60",
            "--access-logfile", str(self.access_path),
            "--access-logformat", 'PORTALBENCH %(U)s %(s)s %(D)s',
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz") as r:
                if r.status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s; see {self.log_path}")

    def server_times(self) -> dict[str, list[float]]:
        """Milliseconds per answered page, by path, from the access log; the log is then emptied."""
        times: dict[str, list[float]] = {path: [] for path in PAGES}
        for line in self.access_path.read_text().splitlines():
            match = ACCESS_LINE.match(line)
            if match and match["status"] == "200" and match["path"] in times:
                times[match["path"]].append(int(match["us"]) / 1000)
        self.access_path.write_text("")  # gunicorn appends (O_APPEND), so truncating is safe
        return times

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_load(port: int, keys: list[str], *, concurrency: int, duration: float) -> tuple[int, int, float]:
    """Pages answered 200, other answers, and the seconds the run lasted."""
    ok, bad, lock = [0], [0], threading.Lock()
    deadline = time.monotonic() + duration

    def client(tid: int) -> None:
        rng, conn, n_ok, n_bad, i = random.Random(tid), http.client.HTTPConnection("127.0.0.1", port), 0, 0, tid
        while time.monotonic() < deadline:
            path, i = PAGES[i % len(PAGES)], i + 1
            try:
                conn.request("GET", path, headers={"Cookie": f"sessionid={rng.choice(keys)}"})
                response = conn.getresponse()
                response.read()
                n_ok, n_bad = (n_ok + 1, n_bad) if response.status == 200 else (n_ok, n_bad + 1)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                n_bad += 1
                conn.close()
        conn.close()
        with lock:
            ok[0], bad[0] = ok[0] + n_ok, bad[0] + n_bad

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(t,)) for t in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ok[0], bad[0], time.monotonic() - started


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values, default=0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20_000, help="filler members (the issue: 1,000,000)")
    parser.add_argument("--sessions", type=int, default=100, help="members with purchases and a session")
    parser.add_argument("--purchases", type=int, default=12, help="purchases per session member")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-name", default="loyalty_bench_portal")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--python", default=str(PROJECT_DIR / ".venv/bin/python"))
    parser.add_argument("--gunicorn", default=str(PROJECT_DIR / ".venv/bin/gunicorn"))
    args = parser.parse_args()
    args.secret_key = "bench-" + secrets.token_urlsafe(48)

    db = ScratchDatabase(host="127.0.0.1", port=5432, user="postgres", name=args.db_name)
    db.recreate()
    server = None
    try:
        env = app_env(args, db)
        keys = load(args, env)
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as logdir:
            server = Gunicorn(args, env, Path(logdir))
            server.wait_ready()
            run_load(server.port, keys, concurrency=args.concurrency, duration=args.warmup)
            server.server_times()
            rates, p99s = [], {path: [] for path in PAGES}
            for run in range(1, args.runs + 1):
                ok, bad, seconds = run_load(server.port, keys, concurrency=args.concurrency, duration=args.duration)
                times = server.server_times()
                rates.append(ok / seconds)
                for path in PAGES:
                    p99s[path].append(p99(times[path]))
                figures = ", ".join(
                    f"{path} p99 {p99(times[path]):.1f} ms median {statistics.median(times[path] or [0]):.1f} ms"
                    for path in PAGES
                )  # fmt: skip
                log(f"run {run}: {ok / seconds:.1f} pages/s ({ok} pages, {bad} not 200); {figures}")
            server.stop()
    finally:
        if server is not None:
            server.stop()
        db.drop()

    rate = statistics.median(rates)
    worst = max(statistics.median(values) for values in p99s.values())
    print(f"\nportal, {args.members:,} filler + {args.sessions} session members, {args.workers} sync workers, "
          f"{args.concurrency} clients, {args.runs} x {args.duration:.0f} s, CPUs: {os.cpu_count()}")  # fmt: skip
    for path in PAGES:
        print(f"  {path:<18} p99 server time (median of runs): {statistics.median(p99s[path]):.1f} ms")
    print(f"  pages/s (median of runs): {rate:.1f}")
    print(f"  targets: p99 <= {TARGET_P99_MS:.0f} ms: {'met' if worst <= TARGET_P99_MS else 'MISSED'}; "
          f">= {TARGET_PAGES_PER_S:.0f} pages/s: {'met' if rate >= TARGET_PAGES_PER_S else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
