"""POS p99 while a campaign grants points to every member (issue 10: <= 100 ms at 100,000 members).

One run: create a fresh database (bench_pos_campaign), migrate, load N members (as `python -m
bench.pos_earn` does) all born this month, serve the app with gunicorn as bin/web does, and drive
POST /api/v1/purchases/ twice at the same concurrency for the same time: first alone, then while
birthday campaigns granting points to every member run back to back (the real `campaign` job:
its preparation, then its chunks, run by --campaign-workers threads here as Celery workers would
run them; a new campaign starts whenever the last one is done, until the load ends). Prints p50/p99
and throughput without and with the campaign, how many members the campaigns granted and how fast,
the ledger check, and PASS/FAIL (p99 with the campaign <= 100 ms, no 5xx).

    .venv/bin/python -m bench.pos_earn.during_campaign                      # 100k members, 20 s each, c=8
    .venv/bin/python -m bench.pos_earn.during_campaign --members 2000 --duration 5 --warmup 1   # a quick check
"""

import argparse
import contextlib
import json
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg2

from bench.harness import Gunicorn, add_database_arguments, add_gunicorn_arguments, django_setup, log

from .load import run_python_load, run_wrk
from .runs import Db, pos_env, setup_database
from .sql import ledger_check

TARGET_P99_MS = 100.0
POINTS = 100


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000, help="members to load, all in the campaign")
    parser.add_argument("--duration", type=int, default=20, help="seconds of measured load, each phase (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured load first (default 5)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as the Dockerfile)")
    parser.add_argument("--campaign-workers", type=int, default=1, help="threads running the campaign's chunks")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads / Python load processes")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--keep-db", action="store_true", help="leave the database in place afterwards")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    add_gunicorn_arguments(parser)
    add_database_arguments(parser, db_name="bench_pos_campaign")
    args = parser.parse_args(argv)
    args.access_log, args.print_sql = False, False
    args.wrk = shutil.which("wrk")
    if args.loadgen == "wrk" and not args.wrk:
        parser.error("wrk is not installed: apt-get install -y wrk (or use --loadgen python)")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if args.wrk else "python"
    return args


def run_campaign_job(campaign_id: int, workers: int):
    """The `campaign` job as Celery runs it (start: prepare and split into chunks; then each chunk
    exactly once), with `workers` threads taking chunks from one queue."""
    from django.db import connection

    from jobs.services import ChunkRetry, job_chunk_run, job_run_start

    run, _ = job_run_start(name="campaign", params={"campaign": campaign_id}, triggered_by="bench during_campaign")
    pending: queue.Queue[int] = queue.Queue()
    for chunk_id in run.chunks.order_by("index").values_list("pk", flat=True):
        pending.put(chunk_id)

    def work() -> None:
        try:
            while True:
                try:
                    chunk_id = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    job_chunk_run(chunk_id=chunk_id)
                except ChunkRetry:
                    pending.put(chunk_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.refresh_from_db()
    return run


def campaigns_until(stop: threading.Event, workers: int, runs: list[dict]) -> None:
    """Birthday campaigns granting POINTS to every member, one after the other, until `stop`."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignKind, CampaignStatus, GrantType

    try:
        while not stop.is_set():
            campaign = Campaign.objects.create(
                name=f"bench birthday {len(runs) + 1}",
                kind=CampaignKind.BIRTHDAY,
                status=CampaignStatus.ACTIVE,
                grant_type=GrantType.POINTS,
                points=POINTS,
                holdout_percent=0,
                starts_at=timezone.now() - timedelta(days=1),
            )
            started = time.monotonic()
            run = run_campaign_job(campaign.pk, workers)
            runs.append(
                {
                    "campaign": campaign.pk,
                    "status": run.status,
                    "granted": campaign.grants.count(),
                    "chunks": run.chunks_total,
                    "seconds": time.monotonic() - started,
                    "finished_after_load": stop.is_set(),
                }
            )
            log(f"  campaign {campaign.pk}: {runs[-1]['granted']} members granted in {runs[-1]['seconds']:.1f} s")
    finally:
        connection.close()


def born_this_month(db: Db) -> None:
    from django.utils import timezone

    month = timezone.localtime().month
    db.query("UPDATE members_member SET birthday = make_date(1990, %s, 1)", (month,))


def measure(args, load, server: Gunicorn, key: str, tag: str) -> dict:
    return load(args, port=server.port, key=key, concurrency=args.concurrency, duration=args.duration, tag=tag)


def report(args, alone: dict, during: dict, runs: list[dict], ledger: dict) -> bool:
    granted = sum(r["granted"] for r in runs)
    campaign_seconds = sum(r["seconds"] for r in runs)
    print()
    print("POS earn while a campaign grants points to every member")
    print(
        f"  {args.members} members, {args.duration} s per phase at concurrency {args.concurrency}, "
        f"{args.workers} gunicorn workers, {args.campaign_workers} campaign worker(s), load: {args.loadgen}"
    )
    print(f"  {'phase':<16} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'4xx':>4} {'5xx':>4}")
    for name, row in (("alone", alone), ("during campaign", during)):
        print(
            f"  {name:<16} {row['rps']:>7.1f} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['max_ms']:>7.1f} "
            f"{row['s4xx']:>4} {row['s5xx']:>4}"
        )
    rate = granted / campaign_seconds if campaign_seconds else 0.0
    print(
        f"  campaigns: {len(runs)} run(s), {granted} grants in {campaign_seconds:.1f} s ({rate:.0f} members/s); "
        f"statuses: {', '.join(sorted({r['status'] for r in runs})) or 'none'}"
    )
    print(
        f"  ledger: {ledger['members_touched']} members touched; balance != sum(entries): "
        f"{ledger['balance_mismatch']}, lots != balance: {ledger['lots_mismatch']}"
    )
    ok = during["p99_ms"] <= TARGET_P99_MS and during["s5xx"] == 0 and bool(runs)
    correct = ledger["ok"] and alone["s4xx"] == during["s4xx"] == 0
    print(
        f"  target: p99 during the campaign <= {TARGET_P99_MS:g} ms, no 5xx -> {'PASS' if ok else 'FAIL'}; "
        f"correctness (no 4xx, ledger consistent): {'OK' if correct else 'FAILED'}"
    )
    return ok and correct


def main(argv=None) -> int:
    args = parse_args(argv)
    db = Db(args)
    env = pos_env(args, db)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    load = run_wrk if args.loadgen == "wrk" else run_python_load
    result = {}
    with tempfile.TemporaryDirectory(prefix="bench_pos_campaign_") as tmp:
        workdir = Path(tmp)
        server = None
        try:
            key, _store_id, _key_id, _scripts = setup_database(args, db, env, workdir)
            django_setup(args.project_dir, env)
            born_this_month(db)
            server = Gunicorn(args, env, args.workers, workdir)
            server.wait_ready()
            if args.warmup:
                log(f"warm-up {args.warmup} s")
                load(args, port=server.port, key=key, concurrency=args.concurrency, duration=args.warmup, tag="u")
            log(f"measuring {args.duration} s without a campaign")
            result["alone"] = measure(args, load, server, key, "alone")
            log(f"measuring {args.duration} s while campaigns grant points to every member")
            stop, runs = threading.Event(), []
            campaigns = threading.Thread(target=campaigns_until, args=(stop, args.campaign_workers, runs))
            campaigns.start()
            try:
                result["during"] = measure(args, load, server, key, "during")
            finally:
                stop.set()
                campaigns.join()
            result["campaigns"] = runs
            result["ledger"] = ledger_check(db)
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        finally:
            if server:
                server.stop()
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            if not args.keep_db:
                with contextlib.suppress(psycopg2.Error):
                    db.drop()
                    log(f"dropped {db.name}")
    ok = report(args, result["alone"], result["during"], result["campaigns"], result["ledger"])
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args), **result}, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":  # python -m bench.pos_earn.during_campaign
    sys.exit(main())
