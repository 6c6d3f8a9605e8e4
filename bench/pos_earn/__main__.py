"""Benchmark of the POS earn endpoint, POST /api/v1/purchases/, against pgbench on the same database.

One run: create a fresh PostgreSQL database (bench_pos_earn), migrate, create a store and API key,
bulk-load N members, then for each round serve the app with gunicorn (sync workers, as many as the
Dockerfile runs) on a free loopback port, drive POST /api/v1/purchases/ from a separate load
process (wrk, or a Python fallback) at a fixed concurrency for a fixed time, check the ledger, and
run two pgbench references at the same concurrency on the same database right after: the
equivalent single transaction as plain statements (generated from the models, see sql.PGBENCH_TX)
and the same writes as ONE server-side function call per purchase (a plpgsql function created in
the scratch database: the database's own cost). Prints, per round and as the median of the
rounds, rps, p50/p99, 4xx/5xx, CPU per request, both references' TPS and the app's ratio to each,
and PASS/FAIL against the targets (ratio >= 0.28, function ratio >= 0.15, p99 <= 40 ms, no 5xx).
Rounds exist because a shared machine's speed drifts by 15% and more within minutes: each round's
ratio compares two runs a few seconds apart. The database is dropped and gunicorn stopped at the
end, also on errors and Ctrl-C.

    .venv/bin/python -m bench.pos_earn                       # defaults: 100k members, 3 x 20 s, c=8, 3 workers
    .venv/bin/python -m bench.pos_earn --workers 2 3 4 --concurrency 4 8 --rounds 1   # a sweep, one table

Needs PostgreSQL (pgbench on PATH or in /usr/lib/postgresql/*/bin) and Redis on 127.0.0.1, and
wrk (`apt-get install -y wrk`); without wrk a slower Python load generator is used. All traffic
goes to 127.0.0.1 only.
"""

import argparse
import contextlib
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import psycopg2

from bench.harness import add_database_arguments, add_gunicorn_arguments, find_pgbench, log

from . import DB_NAME
from .report import log_row, report, report_compare, summarise
from .runs import Db, app_run, pgbench_run, pos_env, setup_database, side_by_side_run


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000, help="members to load (default 100000)")
    parser.add_argument("--duration", type=int, default=20, help="seconds of measured load per round (default 20)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="app run + pgbench run, repeated (default 3); targets use the median"
    )
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured load first (default 5)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[8], help="concurrent connections (default 8); several = sweep"
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[3],
        help="gunicorn workers (default 3, as the Dockerfile runs it); several = sweep",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads / pgbench -j / Python load processes")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--pgbench-duration", type=int, help="seconds per pgbench run (default: --duration)")
    parser.add_argument("--skip-pgbench", action="store_true", help="app only; no ratio")
    add_gunicorn_arguments(parser)
    parser.add_argument("--access-log", action="store_true", help="gunicorn's access log on (bin/web has it off)")
    parser.add_argument(
        "--observability",
        choices=["on", "off", "compare", "side-by-side", "side-by-side-aa"],
        default="on",
        help="metrics and request logs on (as in production, the default), off, or compare: each round runs "
        "the app with both (alternating which goes first), skips pgbench and reports the cost of on vs off; "
        "side-by-side: like compare, but both are served and loaded at the same time (for a busy machine); "
        "side-by-side-aa: the same with both off, to see how far two identical servers differ",
    )
    parser.add_argument("--print-sql", action="store_true", help="print the generated pgbench script")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} in place afterwards")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    add_database_arguments(parser, db_name=DB_NAME)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)
    if args.pg_host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("this benchmark only runs against a local PostgreSQL")
    args.wrk = shutil.which("wrk")
    if args.loadgen == "wrk" and not args.wrk:
        parser.error("wrk is not installed: apt-get install -y wrk (or use --loadgen python)")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if args.wrk else "python"
        if not args.wrk:
            log("wrk not found (apt-get install -y wrk); using the slower Python load generator")
    args.skip_pgbench = args.skip_pgbench or args.observability in ("compare", "side-by-side", "side-by-side-aa")
    args.pgbench = None if args.skip_pgbench else find_pgbench()
    if not args.skip_pgbench and not args.pgbench:
        parser.error("pgbench not found (apt-get install -y postgresql-client), or pass --skip-pgbench")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    db = Db(args)
    env = pos_env(args, db)
    # Ctrl-C and SIGTERM both unwind through the finally blocks below: gunicorn stops, the database goes.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_pos_earn_") as tmp:
        workdir = Path(tmp)
        try:
            key, store_id, key_id, scripts = setup_database(args, db, env, workdir)
            for workers in args.workers:
                for concurrency in args.concurrency:
                    for round_no in range(1, args.rounds + 1):
                        if args.observability in ("side-by-side", "side-by-side-aa"):
                            for row in side_by_side_run(args, env, db, key, workers, concurrency, round_no, workdir):
                                rows.append(row)
                                log(f"  {row['observability']}:")
                                log_row(row)
                            continue
                        if args.observability == "compare":
                            # Alternate which runs first: a machine slowing down mid-round hurts both.
                            for mode in ("off", "on") if round_no % 2 else ("on", "off"):
                                rows.append(app_run(args, env, db, key, workers, concurrency, round_no, workdir, mode))
                                log_row(rows[-1])
                            continue
                        row = app_run(args, env, db, key, workers, concurrency, round_no, workdir, args.observability)
                        log_row(row)
                        if args.pgbench:
                            for reference, name in (("statements", "pgbench"), ("function", "pgbench_function")):
                                row[name] = pgbench_run(
                                    args,
                                    db,
                                    concurrency=concurrency,
                                    store_id=store_id,
                                    key_id=key_id,
                                    script=scripts[reference],
                                    workdir=workdir,
                                    reference=reference,
                                )
                        rows.append(row)
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        finally:
            if not args.keep_db:
                with contextlib.suppress(psycopg2.Error):
                    db.drop()
                    log(f"dropped {db.name}")
    if not rows:
        return 1
    compared = args.observability in ("compare", "side-by-side", "side-by-side-aa")
    ok = report_compare(args, rows) if compared else report(args, rows)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args),
                    "rows": rows,
                    "summary": None if compared else summarise(rows),
                },
                indent=2,
                default=str,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":  # python -m bench.pos_earn
    sys.exit(main())
