"""Campaign selection at scale: the surprise and win-back audiences, as the app selects them,
against an equivalent hand-written SQL query, measured in the same run on the same database.

Needs a database loaded by the nightly benchmark and kept:

    .venv/bin/python -m bench.nightly --members 1000000 --purchases 10000000 --keep
    .venv/bin/python -m bench.campaigns --db-name bench_nightly

The app's selection is `campaign_dry_run`: the run's preparation (the surprise threshold, the top
spenders to call, the sampling cutoff for the member budget) and the audience query with the
holdout split, for every member, writing nothing. The baseline counts the same audience in one
SQL statement. Both must find the same number of members; the target is app <= 2x baseline.
Everything the script creates (two campaigns and a reward) is rolled back at the end.
"""

import argparse
import sys
import time

from bench.harness import PROJECT_DIR, ScratchDatabase, add_database_arguments, app_env, django_setup, log, median

TARGET = 2.0

SURPRISE_SQL = """
WITH spend AS (
    SELECT member_id, SUM(total - returned_amount) AS spend
    FROM members_purchase
    WHERE occurred_at > %(as_of)s - interval '365 days' AND occurred_at <= %(as_of)s
    GROUP BY member_id
    HAVING SUM(total - returned_amount) > 0
), threshold AS (
    SELECT spend FROM spend ORDER BY spend DESC
    OFFSET (SELECT GREATEST(FLOOR(COUNT(*) * %(share)s)::int - 1, 0) FROM spend) LIMIT 1
)
SELECT COUNT(*)
FROM members_member m JOIN spend s ON s.member_id = m.id CROSS JOIN threshold t
WHERE m.status = 'active' AND s.spend >= t.spend
  AND NOT EXISTS (
      SELECT 1 FROM campaigns_campaigngrant g JOIN campaigns_campaign c ON c.id = g.campaign_id
      WHERE g.member_id = m.id AND c.kind = 'surprise' AND NOT g.holdout
        AND g.granted_at > %(as_of)s - interval '90 days')
"""

WIN_BACK_SQL = """
SELECT COUNT(*)
FROM members_member m
WHERE m.status = 'active' AND m.lapse_state = 'lapsed'
  AND COALESCE((SELECT i.can_win_back FROM feedback_lostcustomerinterview i
                WHERE i.member_id = m.id ORDER BY i.happened_at DESC LIMIT 1), '') <> 'no'
  AND NOT EXISTS (
      SELECT 1 FROM campaigns_campaigngrant g
      WHERE g.member_id = m.id AND g.campaign_id = %(campaign)s
        AND g.grant_key = 'lapse:' || (SELECT MAX(c.id) FROM members_stagechange c
                                       WHERE c.member_id = m.id AND c.kind = 'lapse' AND c.to_value = 'lapsed'))
"""


def setup_django(args) -> None:
    database = ScratchDatabase(host=args.pg_host, port=args.pg_port, user=args.pg_user, name=args.db_name)
    django_setup(PROJECT_DIR, app_env(database_url=database.url, redis_url=""))


def timed(fn, repeats: int) -> tuple[object, list[float]]:
    result, seconds = None, []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    return result, seconds


def baseline(sql: str, params: dict):
    from django.db import connection

    def count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    return count


def run(args) -> int:
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignKind, GrantType
    from campaigns.services import campaign_dry_run
    from jobs.models import JobRun
    from members.models import Member, Purchase
    from rewards.models import Reward, RewardKind

    as_of = JobRun.objects.aggregate(latest=Max("as_of"))["latest"] or timezone.now()
    members = Member.objects.count()
    purchases = Purchase.objects.count()
    log(f"{members} members, {purchases} purchases; selecting as of {as_of:%Y-%m-%d %H:%M}")
    rows = []
    with transaction.atomic():
        offer = Reward.objects.create(name="Welcome back", kind=RewardKind.FREE_PRODUCT, cost_points=1)
        start = as_of - timedelta(days=1)
        surprise = Campaign.objects.create(
            name="bench surprise",
            kind=CampaignKind.SURPRISE,
            status="active",
            points=500,
            top_share=Decimal("0.20"),
            quiet_days=90,
            holdout_percent=10,
            max_members=args.budget,
            starts_at=start,
        )
        win_back = Campaign.objects.create(
            name="bench win-back",
            kind=CampaignKind.WIN_BACK,
            status="active",
            grant_type=GrantType.VOUCHER,
            reward=offer,
            holdout_percent=10,
            starts_at=start,
        )
        cases = [
            ("surprise", surprise, SURPRISE_SQL, {"as_of": as_of, "share": 0.20}),
            ("win-back", win_back, WIN_BACK_SQL, {"as_of": as_of, "campaign": win_back.pk}),
        ]
        for label, campaign, sql, params in cases:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
            log(f"{label}: hand-written SQL x{args.repeats}")
            expected, base = timed(baseline(sql, params), args.repeats)
            log(f"{label}: the app's selection (dry run) x{args.repeats}")
            dry, app = timed(lambda c=campaign: campaign_dry_run(campaign=c, as_of=as_of), args.repeats)
            rows.append(
                {
                    "label": label,
                    "app_audience": dry.audience,
                    "sql_audience": expected,
                    "holdout": dry.holdout,
                    "treated": dry.treated,
                    "app_s": median(app),
                    "sql_s": median(base),
                }
            )
        transaction.set_rollback(True)
    return report(rows, members, purchases)


def report(rows: list[dict], members: int, purchases: int) -> int:
    print(f"\nCampaign selection: {members} members, {purchases} purchases (medians)")
    header = ("campaign", "audience app/sql", "holdout", "treated", "app s", "sql s", "ratio")
    print("  {:10} {:>18} {:>8} {:>8} {:>8} {:>8} {:>6}".format(*header))
    ok = True
    for row in rows:
        ratio = row["app_s"] / row["sql_s"] if row["sql_s"] else float("inf")
        same = row["app_audience"] == row["sql_audience"]
        ok &= same and ratio <= TARGET
        print(
            f"  {row['label']:10} {row['app_audience']:>8} / {row['sql_audience']:<8} {row['holdout']:>8} "
            f"{row['treated']:>8} {row['app_s']:>8.2f} {row['sql_s']:>8.2f} {ratio:>6.2f}"
            f"  {'same audience' if same else 'AUDIENCES DIFFER'}"
        )
    print(f"  target: app <= {TARGET:.0f}x the hand-written SQL, same audience -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser, db_name="bench_nightly")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=20_000, help="surprise campaign member budget")
    args = parser.parse_args(argv)
    setup_django(args)
    return run(args)


if __name__ == "__main__":  # python -m bench.campaigns
    sys.exit(main())
