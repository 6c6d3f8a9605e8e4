"""The analytics dashboard's server time and the nightly daily sales refresh, on generated data.

1. create a scratch PostgreSQL database (bench_analytics), migrate it, and load S stores, M
   members and P purchases over the last two years (lognormal baskets, long-tailed buyers, four
   channels, members spread over the standard tiers, one stage change per buyer);
2. time the nightly `refresh_daily_sales` job: a first, full run, then an incremental one after
   1% more purchases were recorded;
3. request every dashboard area (overview, sales, customers, journey, points, feedback,
   campaigns) in-process through Django's test client as a superuser, with each filter (none,
   a store, a channel, a tier, a quarter, a year), `--repeats` times, and print p50 and p95 of
   the server time per area (middleware, queries and rendering; no network).

    .venv/bin/python bench/analytics.py                            # 20,000 members, 200,000 purchases
    .venv/bin/python bench/analytics.py --members 100000 --purchases 1000000 --repeats 5

PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis (REDIS_URL, default db 7) must be running.
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pgdb import ScratchDatabase  # noqa: E402

AREAS = ["overview", "sales", "customers", "journey", "points", "feedback", "campaigns"]


def log(message: str) -> None:
    print(message, flush=True)


def setup_django(db: ScratchDatabase, redis_url: str) -> None:
    os.environ.update(
        DEBUG="False",
        SECRET_KEY="bench-" + secrets.token_urlsafe(48),
        DATABASE_URL=db.url,
        REDIS_URL=redis_url,
        LOG_LEVEL="WARNING",
        LOG_REQUESTS="False",
        ALLOWED_HOSTS="testserver",
        DJANGO_SETTINGS_MODULE="loyalty.settings",
    )
    import django

    django.setup()


def load(*, stores: int, members: int, purchases: int, seed: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from members.models import ChangeKind, Member, Purchase, StageChange
    from stores.models import Channel, Store
    from tests.factories import standard_tiers
    from tiers.models import Tier

    rng = random.Random(seed)
    Tier.objects.all().delete()
    tiers = list(standard_tiers().values())
    shops = Store.objects.bulk_create(
        Store(code=f"s{n}", name=f"Store {n}", channel=Channel.STORE) for n in range(stores)
    )
    now = timezone.now()
    batch = 5000
    for start in range(0, members, batch):
        Member.objects.bulk_create(
            Member(
                phone=f"+86139{n:08d}",
                card_number=f"8{n:015d}",
                referral_code=f"B{n:011d}",
                enrolled_store=rng.choice(shops),
                tier=rng.choices(tiers, weights=[70, 20, 8, 2])[0],
            )
            for n in range(start, min(start + batch, members))
        )
    member_ids = list(Member.objects.values_list("pk", flat=True))
    Member.objects.update(enrolled_at=now - timedelta(days=800))
    # Long-tailed buyers: a member's weight is lognormal, so a fifth of them make most purchases.
    weights = [rng.lognormvariate(0, 1.2) for _ in member_ids]
    channels = [Channel.STORE] * 7 + [Channel.ONLINE] * 2 + [Channel.PHONE]
    made = 0
    while made < purchases:
        n = min(batch, purchases - made)
        buyers = rng.choices(member_ids, weights=weights, k=n)
        Purchase.objects.bulk_create(
            Purchase(
                member_id=member_id,
                store=rng.choice(shops),
                receipt_id=f"R{made + k}",
                channel=rng.choice(channels),
                occurred_at=now - timedelta(seconds=rng.randrange(2 * 365 * 86400)),
                currency="CNY",
                total=Decimal(f"{rng.lognormvariate(5, 0.8):.2f}"),
            )
            for k, member_id in enumerate(buyers)
        )
        made += n
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE members_member AS m SET first_purchase_at = p.first, last_purchase_at = p.last,
                   purchase_count = p.n, lifetime_spend = p.spend
               FROM (SELECT member_id, min(occurred_at) AS first, max(occurred_at) AS last, count(*) AS n,
                            sum(total) AS spend FROM members_purchase GROUP BY member_id) AS p
               WHERE p.member_id = m.id"""
        )
        # As if recorded at the till when they happened: the incremental refresh sees only news.
        cursor.execute("UPDATE members_purchase SET created_at = occurred_at")
        cursor.execute("ANALYZE")
    firsts = Member.objects.filter(first_purchase_at__isnull=False).values_list("pk", "first_purchase_at")
    changes = StageChange.objects.bulk_create(
        (
            StageChange(
                member_id=pk, kind=ChangeKind.STAGE, from_value="prospect", to_value="first_time", reason="bench"
            )
            for pk, _first in firsts
        ),
        batch_size=batch,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE members_stagechange AS c SET created_at = m.first_purchase_at
               FROM members_member AS m WHERE m.id = c.member_id AND c.reason = 'bench'"""
        )
    log(f"  loaded {stores} stores, {members} members, {purchases} purchases, {len(changes)} stage changes")


def time_refresh(purchases: int, seed: int) -> tuple[float, float, dict, dict]:
    from django.utils import timezone

    from jobs.services import job_run_now
    from members.models import Member, Purchase

    started = time.perf_counter()
    full = job_run_now(name="refresh_daily_sales", as_of=timezone.now())
    full_seconds = time.perf_counter() - started
    rng = random.Random(seed + 1)
    member = Member.objects.order_by("pk").first()
    store_id = Purchase.objects.values_list("store_id", flat=True).first()
    now = timezone.now()
    Purchase.objects.bulk_create(
        Purchase(
            member=member,
            store_id=store_id,
            receipt_id=f"NEW{k}",
            channel="store",
            occurred_at=now - timedelta(seconds=rng.randrange(3 * 86400)),
            currency="CNY",
            total=Decimal("88.00"),
        )
        for k in range(max(1, purchases // 100))
    )
    started = time.perf_counter()
    incremental = job_run_now(name="refresh_daily_sales", as_of=timezone.now() + timedelta(seconds=1))
    return full_seconds, time.perf_counter() - started, full.run.params, incremental.run.params


def time_pages(repeats: int) -> dict[str, list[float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from stores.models import Store
    from tiers.models import Tier

    user = get_user_model().objects.create_superuser(username="bench", password="x" * 16, email="b@example.com")
    client = Client()
    client.force_login(user)
    today = timezone.localdate()
    filters = [
        {},
        {"store": Store.objects.order_by("pk").values_list("pk", flat=True).first()},
        {"channel": "online"},
        {"tier": Tier.objects.get(code="gold").pk},
        {"period": "quarter", "day": today.isoformat()},
        {"period": "year", "day": today.isoformat()},
    ]
    times: dict[str, list[float]] = {area: [] for area in AREAS}
    for area in AREAS:
        client.get(f"/admin/analytics/dashboard/{area}/")  # warm the process's caches once
        for _ in range(repeats):
            for query in filters:
                started = time.perf_counter()
                response = client.get(f"/admin/analytics/dashboard/{area}/", query)
                times[area].append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{area} {query}: HTTP {response.status_code}")
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--purchases", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"))
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database afterwards.")
    args = parser.parse_args()
    db = ScratchDatabase(host="127.0.0.1", port=5432, user="postgres", name="bench_analytics", app_options="-c jit=off")
    db.recreate()
    try:
        setup_django(db, args.redis_url)
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        log(f"migrated in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        load(stores=args.stores, members=args.members, purchases=args.purchases, seed=args.seed)
        log(f"  load {time.perf_counter() - started:.1f}s")
        full, incremental, full_params, incremental_params = time_refresh(args.purchases, args.seed)
        log(f"refresh_daily_sales: full {full:.2f}s ({full_params})")
        log(f"refresh_daily_sales: incremental {incremental:.2f}s ({incremental_params})")
        times = time_pages(args.repeats)
        log(f"dashboard server time over {args.repeats} x 6 filters per area (ms):")
        log(f"  {'area':<10} {'p50':>8} {'p95':>8} {'max':>8}")
        for area, values in times.items():
            ms = [v * 1000 for v in values]
            log(f"  {area:<10} {statistics.median(ms):8.1f} {p95(ms):8.1f} {max(ms):8.1f}")
        everything = [v * 1000 for values in times.values() for v in values]
        log(f"  {'all':<10} {statistics.median(everything):8.1f} {p95(everything):8.1f} {max(everything):8.1f}")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
