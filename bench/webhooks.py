"""Webhook delivery: sustained rate with commit-to-delivery lag, and the drain of a backlog.

    .venv/bin/python bench/webhooks.py [--rate 1000] [--seconds 20] [--backlog 30000] [--workers 2]

Runs the real machinery against a scratch database (created, migrated, dropped) and the Redis
database REDIS_URL names (default redis://127.0.0.1:6379/3, purged first): Celery workers
(`bin/worker`'s command), Celery beat (the 1-second `webhooks.pump` schedule from the migration)
and a receiver process on 127.0.0.1 that verifies every signature with `standardwebhooks` and
notes when each event arrived. One endpoint is subscribed to everything.

1. Sustained: this process records `--rate` events a second (one transaction every 50 ms, spread
   over 1,000 members) for `--seconds`; lag is the receiver's arrival time minus the event's
   `occurred_at` (taken just before its commit). Targets: delivered rate >= 1,000/s, p99 <= 2 s.
2. Backlog: with the workers and beat stopped (the receiver "down"), `--backlog` events are
   recorded; then workers and beat start and the script times until the last one arrives.
   Target: >= 1,000 events/s.
The machine is shared: figures vary from run to run; quote medians of several runs.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(PROJECT_DIR))

from pgdb import ScratchDatabase  # noqa: E402

MEMBERS = 1000
TICK = 0.05  # seconds between the generator's transactions
QUIET = ["--loglevel", "WARNING", "--without-gossip", "--without-mingle"]


# --- the receiver (run as `bench/webhooks.py --receiver PORT SECRET LOG`) ---------------------


def run_receiver(port: int, secret: str, log_path: str) -> None:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)
    log = open(log_path, "a", buffering=1)  # a line at a time: the script reads as it goes  # noqa: SIM115 - open for the process's life

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the sender's session expects

        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            try:
                message = verifier.verify(body, dict(self.headers))
                status = 204
            except WebhookVerificationError:
                message, status = None, 401
            if message is not None:
                log.write(f"{message['id']} {message['timestamp']} {time.time():.6f}\n")
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    def flush_and_exit(*_):
        log.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, flush_and_exit)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


def read_arrivals(log_path: Path) -> dict[str, tuple[float, float]]:
    """event id -> (occurred_at, first arrival), Unix seconds."""
    arrivals = {}
    if not log_path.exists():
        return arrivals
    # Read while the receiver writes: the last line may be half written.
    for line in log_path.read_bytes().decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[0] in arrivals:
            continue
        try:
            arrivals[parts[0]] = (datetime.fromisoformat(parts[1]).timestamp(), float(parts[2]))
        except ValueError:
            continue
    return arrivals


# --- processes -----------------------------------------------------------------------------


class Processes:
    def __init__(self, env: dict, workers: int, concurrency: int):
        self.env, self.workers, self.concurrency = env, workers, concurrency
        self.running: list[subprocess.Popen] = []

    def start(self) -> None:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": PROJECT_DIR, "env": self.env}
        celery = [sys.executable, "-m", "celery", "-A", "loyalty"]
        for index in range(self.workers):
            self.running.append(
                subprocess.Popen(
                    [*celery, "worker", "-n", f"bench{index}@%h", "--concurrency", str(self.concurrency), *QUIET],
                    **quiet,
                )
            )
        schedule = Path(tempfile.mkdtemp()) / "beat-schedule"
        self.running.append(
            subprocess.Popen([*celery, "beat", "--loglevel", "WARNING", "--schedule", str(schedule)], **quiet)
        )

    def stop(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.running = []


def start_receiver(port: int, secret: str, log_path: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, __file__, "--receiver", str(port), secret, str(log_path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    return process


# --- the runs ------------------------------------------------------------------------------


def members():
    from events.services import MemberRef

    return [MemberRef(1_000_000 + index, uuid.uuid4()) for index in range(MEMBERS)]


def record(refs, count: int, offset: int) -> None:
    """`count` events in one transaction, round-robin over the members, stamped just before commit."""
    from django.db import transaction
    from django.utils import timezone

    from events import services as events
    from events.types import EventType

    with transaction.atomic():
        now = timezone.now()
        events.record_many(
            events.build(
                EventType.POINTS_EARNED,
                member=refs[(offset + i) % len(refs)],
                data={"points": 10, "balance": 10, "kind": "bench"},
                occurred_at=now,
            )
            for i in range(count)
        )


def wait_for_arrivals(log_path: Path, expected: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrivals = read_arrivals(log_path)
        if len(arrivals) >= expected:
            return arrivals
        time.sleep(0.5)
    return read_arrivals(log_path)


def sustained(refs, args, log_path: Path) -> dict:
    per_tick = max(1, round(args.rate * TICK))
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < args.seconds:
        record(refs, per_tick, sent)
        sent += per_tick
        time.sleep(max(0.0, start + sent / args.rate - time.monotonic()))
    generated_in = time.monotonic() - start
    arrivals = wait_for_arrivals(log_path, sent, timeout=120)
    lags = sorted(arrived - occurred for occurred, arrived in arrivals.values())
    span = max(a for _, a in arrivals.values()) - min(o for o, _ in arrivals.values()) if arrivals else 0
    return {
        "events": sent,
        "recorded_per_s": sent / generated_in,
        "delivered": len(arrivals),
        "delivered_per_s": len(arrivals) / span if span else 0,
        "lag_p50_s": statistics.median(lags) if lags else None,
        "lag_p99_s": lags[int(len(lags) * 0.99) - 1] if lags else None,
        "lag_max_s": lags[-1] if lags else None,
    }


def backlog(refs, args, processes: Processes, log_path: Path) -> dict:
    processes.stop()
    for offset in range(0, args.backlog, 2000):
        record(refs, min(2000, args.backlog - offset), offset)
    already = len(read_arrivals(log_path))
    started = time.time()
    processes.start()
    arrivals = wait_for_arrivals(log_path, already + args.backlog, timeout=args.backlog / 50 + 120)
    last = max(arrived for _, arrived in arrivals.values())
    drained = len(arrivals) - already
    return {
        "events": args.backlog,
        "delivered": drained,
        "drain_s": last - started,
        "drain_per_s": drained / (last - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--backlog", type=int, default=30000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (each --concurrency)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--db-name", default="bench_webhooks")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    db = ScratchDatabase(
        host=args.db_host, port=args.db_port, user="postgres", name=args.db_name, app_options="-c jit=off"
    )
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3")
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "REDIS_URL": redis_url,
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-secret-key-that-is-long-enough-0123456789",
        "WEBHOOK_ALLOW_HTTP": "True",
        "METRICS_ENABLED": "False",
        "LOG_LEVEL": "WARNING",
    }
    db.recreate()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT_DIR, env=env, check=True)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    import django

    django.setup()
    import redis

    from webhooks.services import endpoint_create

    redis.Redis.from_url(redis_url).flushdb()
    workdir = Path(tempfile.mkdtemp())
    log_path = workdir / "arrivals.log"
    with socket.socket() as probe:  # a free TCP port on 127.0.0.1
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _, secret = endpoint_create(url=f"http://127.0.0.1:{port}/hook", event_types=[])
    receiver = start_receiver(port, secret, log_path)
    processes = Processes(env, args.workers, args.concurrency)
    refs = members()
    try:
        processes.start()
        time.sleep(3)  # workers connect, beat loads its schedule
        first = sustained(refs, args, log_path)
        second = backlog(refs, args, processes, log_path)
    finally:
        processes.stop()
        receiver.terminate()
        receiver.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            db.drop()
    print(json.dumps({"sustained": first, "backlog": second}, indent=2))
    print(
        f"sustained: {first['delivered']}/{first['events']} delivered, "
        f"{first['recorded_per_s']:.0f} events/s recorded, "
        f"{first['delivered_per_s']:.0f}/s delivered, lag p50 {first['lag_p50_s']:.2f} s, "
        f"p99 {first['lag_p99_s']:.2f} s (target <= 2 s)"
    )
    print(
        f"backlog: {second['delivered']}/{second['events']} in {second['drain_s']:.1f} s = "
        f"{second['drain_per_s']:.0f} events/s (target >= 1000)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--receiver":
        run_receiver(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        main()
