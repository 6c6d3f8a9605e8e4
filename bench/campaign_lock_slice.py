"""How long a till waits on a campaign chunk, by chunk size (CAMPAIGN_CHUNK_SIZE).

A campaign chunk locks the members it credits (members.locking, primary-key order) and holds
them until the chunk commits. This script loads N members whose birthday month is this month in
a scratch database, then for each chunk size runs a points birthday campaign over all of them
(`job_run_now`, chunk after chunk) while a "till" thread locks random members in a loop, as a
purchase does, and prints per size: chunks, chunk time (median / max: how long its members stay
locked) and the till's lock waits (p50 / p99 / max). Target: a till waits at most 100 ms.

    .venv/bin/python bench/campaign_lock_slice.py --members 20000 --sizes 500 1000 2000 5000 20000
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = "bench_campaign_lock_slice"


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def _setup(members: int) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="loyalty.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
        DEBUG="False",
        SECRET_KEY="bench-only-secret-key-that-is-long-enough-0123456789",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from members.models import Member

    call_command("migrate", verbosity=0)
    month = timezone.localtime().month
    Member.objects.bulk_create(
        (
            Member(
                phone=f"+86139{i:08d}",
                card_number=f"7{i:015d}",
                referral_code=f"B{i:07d}",
                birthday=date(1985, month, 2),
            )
            for i in range(1, members + 1)
        ),
        batch_size=5000,
    )


def _till(ids: list[int], stop: threading.Event, waits: list[float]) -> None:
    from django.db import connection, transaction

    from members.locking import member_lock

    try:
        while not stop.is_set():
            with transaction.atomic():
                started = time.perf_counter()
                member_lock(random.choice(ids))
                waits.append(time.perf_counter() - started)
            time.sleep(0.005)
    finally:
        connection.close()


def _run(size: int, ids: list[int]) -> dict:
    from django.conf import settings
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignStatus
    from jobs.models import JobChunk
    from jobs.services import job_run_now

    settings.CAMPAIGN_CHUNK_SIZE = size
    campaign = Campaign.objects.create(
        kind="birthday",
        name=f"slice {size}",
        points=10,
        holdout_percent=0,
        status=CampaignStatus.ACTIVE,
        starts_at=timezone.now() - timedelta(days=1),
    )
    stop, waits = threading.Event(), []
    till = threading.Thread(target=_till, args=(ids, stop, waits))
    till.start()
    try:
        run = job_run_now(name="campaign", params={"campaign": campaign.pk}).run
    finally:
        stop.set()
        till.join()
    chunks = [
        (finished - claimed).total_seconds()
        for claimed, finished in JobChunk.objects.filter(run=run).values_list("claimed_at", "finished_at")
    ]
    waits.sort()
    return {
        "size": size,
        "chunks": len(chunks),
        "chunk_median_ms": 1000 * statistics.median(chunks),
        "chunk_max_ms": 1000 * max(chunks),
        "wait_p50_ms": 1000 * waits[len(waits) // 2],
        "wait_p99_ms": 1000 * waits[int(len(waits) * 0.99)],
        "wait_max_ms": 1000 * waits[-1],
        "changed": run.changed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 5000, 20000])
    args = parser.parse_args()
    _psql(f"DROP DATABASE IF EXISTS {DB}")
    _psql(f"CREATE DATABASE {DB}")
    try:
        _setup(args.members)
        from django.db import connection

        from members.models import Member

        ids = list(Member.objects.values_list("pk", flat=True))
        print("size | chunks | chunk median | chunk max | till wait p50 | p99 | max | granted")
        for size in args.sizes:
            r = _run(size, ids)
            print(
                f"{r['size']} | {r['chunks']} | {r['chunk_median_ms']:.0f} ms | {r['chunk_max_ms']:.0f} ms | "
                f"{r['wait_p50_ms']:.1f} ms | {r['wait_p99_ms']:.1f} ms | {r['wait_max_ms']:.1f} ms | {r['changed']}",
                flush=True,
            )
        connection.close()
    finally:
        _psql(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
