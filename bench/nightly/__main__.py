"""`python -m bench.nightly`: see the package's docstring (bench/nightly/__init__.py)."""

import argparse
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

from bench.harness import PROJECT_DIR, OtherCpu, add_database_arguments, app_env, django_setup, log, manage, settle

from . import HISTORY_TABLES, Db
from . import __doc__ as description
from .baseline import run_baseline, stage_distribution
from .jobs import Worker, history_counts, run_job_in_worker, run_jobs_in_process, writes_since, xid_now
from .load import Pool, check_data, data_profile, load, table_counts
from .report import report


def nightly_env(args, db: Db) -> dict:
    extra = {"JOB_CHUNK_SIZE": str(args.chunk_size)} if args.chunk_size else {}
    return app_env(database_url=db.url, redis_url=args.redis_url, **extra)


def wait_idle(args, what: str) -> float:
    """Wait (up to --settle seconds) for a nearly idle machine before a timed step: this benchmark
    measures CPU-bound work on a shared machine. Returns the busy share found (0..1)."""
    usage = settle(what, dbname=args.db_name, max_wait=args.settle)
    log(f"before {what}: machine {usage['busy_pct']:.0f}% busy on {os.cpu_count()} CPUs")
    return usage["busy_pct"] / 100


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--purchases", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=40, help="physical stores (plus online, mail order, phone)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-size", type=int, default=0, help="JOB_CHUNK_SIZE for the jobs (default: the app's)")
    parser.add_argument("--baseline-repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="parallel connections for the load")
    parser.add_argument("--no-worker", action="store_true", help="run the initial pass in process, not in Celery")
    parser.add_argument("--no-check", action="store_true", help="skip the invariant checks of the loaded data")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the next night on a database kept by --keep (nightly, rerun and baseline one day after "
        "its last run); keeps the database",
    )
    parser.add_argument(
        "--pg-options", default="", help='PostgreSQL options for the app\'s connections, e.g. "-c jit=off"'
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    parser.add_argument("--python", default=sys.executable)
    add_database_arguments(parser, db_name="bench_nightly")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--job-timeout", type=float, default=3600, help="seconds one job may take in the worker")
    parser.add_argument(
        "--settle", type=float, default=300, help="seconds to wait for an idle machine before each timed step"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not args.db_name.startswith("bench_nightly"):
        parser.error("--db-name must start with bench_nightly")
    if args.members < 10 or args.purchases < 1:
        parser.error("at least 10 members and 1 purchase")
    return args


def prepare(args, db: Db, env: dict, t0: datetime, t1: datetime, result: dict) -> None:
    """Create, migrate and load the database, and check the loaded data."""
    db.recreate()
    started = time.monotonic()
    manage(args.python, args.project_dir, env, "migrate", "--verbosity", "0")
    log(f"created {db.name} and migrated in {time.monotonic() - started:.1f}s")
    log(f"loading {args.members:,} members and {args.purchases:,} purchases ending at T0 = {t0:%Y-%m-%d %H:%M}Z")
    started = time.monotonic()
    result["load"] = load(args, db, t0, t1)
    result["load"]["total"] = time.monotonic() - started
    result["counts"] = table_counts(db)
    log(f"loaded in {result['load']['total']:.1f}s: {result['counts']}")
    result["data"] = data_profile(db, t0, t1)
    log(f"data: {json.dumps(result['data'])}")
    if not args.no_check:
        result["check"] = check_data(db)
        log(f"invariants of the loaded data: {result['check']}")
        if not result["check"]["ok"]:
            raise RuntimeError("the loaded data breaks the app's invariants")


def initial_pass(args, db: Db, env: dict, t0: datetime, result: dict, logdir: Path) -> None:
    """Every job with full=True as of T0: the backfill of stages, lapse dates, due tiers and lots.
    Run by a real Celery worker whose peak RSS is the memory figure (unless --no-worker)."""
    log(f"1. initial full pass as of T0 ({'in process' if args.no_worker else 'Celery worker, solo pool'})")
    if args.no_worker:
        result["initial"] = run_jobs_in_process(t0, True, "initial")
    else:
        from jobs.registry import NIGHTLY_ORDER
        from loyalty.celery import app as celery_app

        celery_app.control.purge()
        worker = Worker(args, env, logdir)
        try:
            worker.wait_ready()
            result["worker_rss_start_kb"] = worker.memory().get("VmRSS")
            result["initial"] = []
            for name in NIGHTLY_ORDER:
                row = run_job_in_worker(worker, name, as_of=t0, full=True, timeout=args.job_timeout)
                result["initial"].append(row)
                log(f"  {name}: examined {row['examined']}, changed {row['changed']}, {row['seconds']:.2f}s")
            result["worker_rss_kb"] = worker.memory().get("VmHWM")
            result["worker_measured"] = "the initial full pass"
            log(
                f"  worker RSS: {result['worker_rss_start_kb'] / 1024:.0f} MB at start, "
                f"peak {result['worker_rss_kb'] / 1024:.0f} MB"
            )
        except BaseException:
            if worker.proc.poll() is not None or "Traceback" in worker.log_path.read_text():
                log(f"worker log:\n{worker.tail()}")
            raise
        finally:
            worker.stop()
            with contextlib.suppress(Exception):
                celery_app.control.purge()
    result["stages_t0"] = stage_distribution(db)
    log(f"  stages as of T0: {result['stages_t0']}")
    # What autovacuum does between nights after a backfill: clean up the updated rows.
    started = time.monotonic()
    tables = ("members_member", "rewards_pointslot", *HISTORY_TABLES)
    Pool(db, args.jobs, lambda conn: None).run([(t, [], [(f"VACUUM ANALYZE {t}", None)]) for t in tables])
    db.query("CHECKPOINT")
    log(f"  vacuum analyze after the backfill: {time.monotonic() - started:.1f}s")


def main(argv=None) -> int:
    args = parse_args(argv)
    args.keep = args.keep or args.reuse
    db = Db(args)
    env = nightly_env(args, db)
    # Ctrl-C and SIGTERM both unwind through the finally blocks: the worker stops, the database goes.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    t0 = datetime.now(UTC).replace(microsecond=0)
    t1 = t0 + timedelta(days=1)
    result: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "t0": t0.isoformat(), "t1": t1.isoformat()}
    busy = result["other_load"] = {}
    ok = False
    with tempfile.TemporaryDirectory(prefix="bench_nightly_") as tmp:
        try:
            log(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; project {args.project_dir}")
            django_setup(args.project_dir, env)
            from django.conf import settings

            db.timezone = settings.TIME_ZONE
            result["chunk_size"] = settings.JOB_CHUNK_SIZE
            if args.reuse:
                t0 = db.query("SELECT max(as_of) FROM jobs_jobrun WHERE status = 'done'")[0][0]
                if t0 is None:
                    raise RuntimeError(f"no finished job run in {db.name}: run with --keep first")
                t1 = t0 + timedelta(days=1)
                result.update(t0=t0.isoformat(), t1=t1.isoformat(), counts=table_counts(db))
                log(f"reusing {db.name}: its last run was as of {t0:%Y-%m-%d %H:%M}Z; the next night is T1")
            else:
                prepare(args, db, env, t0, t1, result)
                busy["initial"] = wait_idle(args, "the initial full pass")
                initial_pass(args, db, env, t0, result, Path(tmp))

            # 2. the nightly run as of T1, incremental
            busy["nightly"] = wait_idle(args, "the nightly run")
            log("2. nightly run as of T1 (in process)")
            with OtherCpu(db.name) as other:
                result["nightly"] = run_jobs_in_process(t1, False, "nightly")
            result["other_during"] = {"nightly": other.share}
            result["stages_app"] = stage_distribution(db)

            # 3. the same again: nothing may change
            busy["rerun"] = wait_idle(args, "the rerun")
            log("3. no-change rerun as of T1 (in process)")
            before, xid = history_counts(db), xid_now(db)
            with OtherCpu(db.name) as other:
                result["rerun"] = run_jobs_in_process(t1, False, "rerun")
            result["other_during"]["rerun"] = other.share
            result["rerun_writes"] = writes_since(db, xid, before)

            # 4. the baseline, with the server's default settings
            busy["baseline"] = wait_idle(args, "the baseline")
            log(f"4. baseline: the app's set-based stage rule as of T1 ({args.baseline_repeats} runs)")
            with OtherCpu(db.name) as other:
                counts, seconds, differences = run_baseline(db, t1, args.baseline_repeats)
            result["other_during"]["baseline"] = other.share
            result["baseline"] = {"counts": counts, "runs": seconds, "seconds": statistics.median(seconds)}
            result["baseline_diff"] = differences
            ok = report(args, result)
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        finally:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            if not args.keep:
                with contextlib.suppress(psycopg2.Error):
                    db.drop()
                    log(f"dropped {db.name}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":  # python -m bench.nightly
    sys.exit(main())
