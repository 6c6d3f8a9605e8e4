"""Where one chunk of each nightly job spends its time, on a database kept by `python -m bench.nightly --keep`.

For each job in NIGHTLY_ORDER, run one chunk (the middle one by default; for a job that knows its
candidates, their first chunk) as of the next night (one day after the last run, incremental since
it) in a transaction that is rolled back, record every SQL statement with its time (Django's debug
cursor), and print the statements that took longest, the Python time around them, and EXPLAIN
(ANALYZE, BUFFERS) of the slowest SELECTs (run inside the same rolled-back transaction).
Nothing is changed in the database.

    .venv/bin/python -m bench.nightly.profile_jobs --project-dir /work/bench-wt2             # as the nightly run
    .venv/bin/python -m bench.nightly.profile_jobs --project-dir /work/bench-wt2 --initial   # as the first full pass

--initial first puts the chunk's members back in their loaded state (prospect, no lapse date) and
runs as of the initial pass's as_of with full=True, so the chunk does what the backfill did.
"""

import argparse
import re
import resource
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from bench.harness import PROJECT_DIR, ScratchDatabase, add_database_arguments, app_env, django_setup


class Rollback(Exception):
    pass


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser, db_name="bench_nightly")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    parser.add_argument("--initial", action="store_true", help="profile the first full pass (the backfill)")
    parser.add_argument("--jobs", nargs="*", help="only these jobs (default: NIGHTLY_ORDER)")
    parser.add_argument("--chunk", type=int, help="the chunk's first member id (default: the middle chunk)")
    parser.add_argument("--top", type=int, default=6, help="statements to list per job")
    parser.add_argument("--explain", type=int, default=2, help="slowest SELECTs to EXPLAIN ANALYZE per job")
    parser.add_argument("--width", type=int, default=300, help="characters of SQL to print")
    parser.add_argument(
        "--memory", action="store_true", help="only run the chunks and report this process's peak RSS (no SQL log)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the chunk (SET LOCAL)",
    )
    return parser.parse_args(argv)


def setup(args) -> None:
    database = ScratchDatabase(host=args.pg_host, port=args.pg_port, user=args.pg_user, name=args.db_name)
    # No REDIS_URL: the chunks run in this process, which needs no broker.
    django_setup(args.project_dir, app_env(database_url=database.url, redis_url=""))


def shape(sql: str) -> str:
    """The statement with its literals and id lists folded, to group repeats."""
    sql = re.sub(r"IN \(([-\d, ]+)\)", "IN (...)", sql)
    sql = re.sub(r"'[^']*'", "?", sql)
    return re.sub(r"\b\d+\b", "N", sql)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _select_of(sql: str) -> str | None:
    """The SELECT of a statement, also of a server-side cursor's DECLARE (whose FETCHes the debug
    cursor does not time: the statement's time then shows as Python time)."""
    sql = sql.lstrip()
    if sql.startswith("DECLARE"):
        sql = sql[sql.index(" FOR ") + 5 :]
    return sql if sql.startswith("SELECT") else None


def profile_job(args, name: str, *, as_of, since, member_from: int, member_to: int, member_ids=None) -> None:
    from django.db import connection, transaction

    from jobs.registry import JOBS
    from members.models import Member

    queries = []
    started = time.monotonic()
    try:
        with transaction.atomic():
            if args.initial:
                Member.objects.filter(pk__gte=member_from, pk__lt=member_to).update(
                    stage="prospect",
                    stage_changed_at=None,
                    lapse_state="active",
                    lapse_due_at=None,
                    lapse_basis_at=None,
                )
            with connection.cursor() as cursor:
                for setting in args.set:
                    key, _, value = setting.partition("=")
                    cursor.execute(f"SET LOCAL {key} = %s", [value])
            connection.queries_log.clear()
            connection.force_debug_cursor = not args.memory
            rss_before = peak_rss_mb()
            started = time.monotonic()
            result = JOBS[name].chunk(
                as_of=as_of,
                member_id_from=member_from,
                member_id_to=member_to,
                member_ids=member_ids,
                since=since,
                run=None,
            )
            wall = time.monotonic() - started
            connection.force_debug_cursor = False
            if args.memory:
                print(
                    f"{name}: chunk [{member_from}, {member_to}) examined {result.examined}, changed {result.changed}, "
                    f"{wall:.2f}s; peak RSS {rss_before:.0f} MB before, {peak_rss_mb():.0f} MB after"
                )
                raise Rollback
            queries = list(connection.queries)
            print(f"\n=== {name}: chunk [{member_from}, {member_to}) as of {as_of:%Y-%m-%d %H:%M}, since {since}")
            sql_total = sum(float(q["time"]) for q in queries)
            print(
                f"examined {result.examined}, changed {result.changed}; {wall:.2f}s wall, {len(queries)} statements, "
                f"{sql_total:.2f}s in SQL, {wall - sql_total:.2f}s in Python"
            )
            groups: dict[str, list] = defaultdict(lambda: [0, 0.0, ""])
            for q in queries:
                g = groups[shape(q["sql"])]
                g[0] += 1
                g[1] += float(q["time"])
                g[2] = g[2] or q["sql"]
            for count, seconds, sql in sorted(groups.values(), key=lambda g: -g[1])[: args.top]:
                print(f"  {seconds:7.3f}s  x{count:<5d} {sql[: args.width]}")
            selects = [
                (seconds, _select_of(sql))
                for _, seconds, sql in sorted(groups.values(), key=lambda g: -g[1])
                if _select_of(sql)
            ]
            with connection.cursor() as cursor:
                for seconds, sql in selects[: args.explain]:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    print(f"\n  EXPLAIN ANALYZE of the {seconds:.3f}s statement:")
                    print("\n".join("    " + r[0] for r in cursor.fetchall()))
            raise Rollback
    except Rollback:
        pass
    finally:
        connection.force_debug_cursor = False


def main(argv=None) -> int:
    args = parse_args(argv)
    setup(args)
    from django.conf import settings
    from django.db.models import Max, Min

    from jobs.models import JobRun, RunStatus
    from jobs.registry import JOBS, NIGHTLY_ORDER
    from members.models import Member

    runs = JobRun.objects.filter(status=RunStatus.DONE).order_by("as_of")
    first, last = runs.first(), runs.last()
    if first is None:
        sys.exit("no finished job run in this database: run nightly.py --keep first")
    # The initial pass as it ran; or the next night: one day after the last run, incremental since it.
    as_of = first.as_of if args.initial else last.as_of + timedelta(days=1)
    bounds = Member.objects.aggregate(low=Min("pk"), high=Max("pk"))
    size = settings.JOB_CHUNK_SIZE
    starts = list(range(bounds["low"], bounds["high"] + 1, size))
    member_from = args.chunk or starts[len(starts) // 2]
    mode = "initial full pass" if args.initial else "nightly run"
    print(f"chunk size {size}, {len(starts)} chunks; as of {as_of:%Y-%m-%d %H:%M} ({mode})")
    for name in args.jobs or NIGHTLY_ORDER:
        job = JOBS[name]
        previous = None if args.initial else runs.filter(name=name).last()
        since = previous.as_of if previous else None
        started = time.monotonic()
        candidates = job.candidates(as_of, previous) if job.candidates else None
        if candidates is None:
            profile_job(args, name, as_of=as_of, since=since, member_from=member_from, member_to=member_from + size)
            continue
        # The run is split over its candidates: profile its first chunk.
        ids = sorted(set(candidates))
        print(f"\n{name}: {len(ids)} candidates, found in {time.monotonic() - started:.2f}s")
        if ids:
            part = ids[:size]
            profile_job(
                args, name, as_of=as_of, since=since, member_from=part[0], member_to=part[-1] + 1, member_ids=part
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
