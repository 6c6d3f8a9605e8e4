"""Two runs of the same job started at once do the work once: the second start waits for the
first (a run-level lock), then joins the run still going or continues from the one finished.

To be sure the two runs overlap, the test holds the member's row (FOR UPDATE) while they start:
each run decides and then waits to write; the row is let go once both are waiting."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from analytics.models import CustomerValueFit, DailySales, MemberValue
from campaigns.models import Campaign, CampaignGrant, CampaignStatus
from feedback.models import Feedback, Survey, SurveyInvitation
from jobs.models import JobRun
from jobs.registry import JOBS
from jobs.services import job_run_now
from members.models import ChangeKind, Member, Stage, StageChange
from messaging.models import OutboxMessage
from rewards.models import EntryKind, LedgerEntry, PointsLot
from tests.concurrency import hold_member_row, run_concurrently, wait_until_held_up_by
from tests.factories import MemberFactory, buy, standard_tiers
from tiers.models import TierChange

pytestmark = pytest.mark.django_db(transaction=True)


def _expiry(store, now):
    member = MemberFactory()
    buy(member, store, "100.00")
    as_of = PointsLot.objects.get(member=member).expires_at
    return member, as_of, {}, lambda: LedgerEntry.objects.filter(member=member, kind=EntryKind.EXPIRE).count()


def _tiers(store, now):
    tiers = standard_tiers()
    member = MemberFactory()
    buy(member, store, "100.00")
    Member.objects.filter(pk=member.pk).update(tier=tiers["black"], tier_valid_until=now - timedelta(days=1))
    return member, now, {}, lambda: TierChange.objects.filter(member=member, run__isnull=False).count()


def _lapse(store, now):
    member = MemberFactory()
    buy(member, store, "50.00", occurred_at=now - timedelta(days=200))
    return member, now, {}, lambda: StageChange.objects.filter(member=member, kind=ChangeKind.LAPSE).count()


def _stages(store, now):
    member = MemberFactory()
    buy(member, store, "50.00", occurred_at=now - timedelta(days=400))
    Member.objects.filter(pk=member.pk).update(stage=Stage.REPEAT)  # stale: time has moved on
    return member, now, {}, lambda: StageChange.objects.filter(member=member, kind="stage", run__isnull=False).count()


def _grid(store, now):
    member = MemberFactory()
    for _ in range(4):
        buy(member, store, "50.00")
    Feedback.objects.create(member=member, nps=10, comment="Love it")
    as_of = timezone.now() + timedelta(minutes=1)
    return member, as_of, {}, lambda: StageChange.objects.filter(member=member, kind=ChangeKind.GRID).count()


def _campaign(store, now):
    member = MemberFactory(birthday=date(1990, timezone.localdate().month, 1))
    campaign = Campaign.objects.create(
        name="Birthday",
        kind="birthday",
        status=CampaignStatus.ACTIVE,
        points=88,
        holdout_percent=0,
        starts_at=now - timedelta(days=1),
    )

    def work():
        grants = CampaignGrant.objects.filter(campaign=campaign, member=member).count()
        entries = LedgerEntry.objects.filter(member=member, kind=EntryKind.BONUS).count()
        return grants, entries, Member.objects.get(pk=member.pk).points_balance

    return member, now, {"campaign": campaign.pk}, work


def _surveys(store, now):
    Survey.objects.update(active=False)
    Survey.objects.create(
        code="after-purchase", name="After a purchase", invite_after_purchase=True, sample_percent=100
    )
    member = MemberFactory(consent_email=True)
    buy(member, store, "20.00")

    def work():
        return (
            SurveyInvitation.objects.filter(member=member).count(),
            OutboxMessage.objects.filter(member=member, kind="survey_invitation").count(),
        )

    return member, timezone.now() + timedelta(minutes=1), {}, work


def _customer_value(store, now):
    # A base the models can be fitted on: a frequent buyer, one who stopped, one-time buyers.
    member, gone = MemberFactory(), MemberFactory()
    for days_ago in range(400, 15, -15):
        buy(member, store, "50.00", occurred_at=now - timedelta(days=days_ago))
    for days_ago in range(800, 400, -15):
        buy(gone, store, "50.00", occurred_at=now - timedelta(days=days_ago))
    for days_ago in (30, 200, 500):
        buy(MemberFactory(), store, "80.00", occurred_at=now - timedelta(days=days_ago))
    # An earlier run gives the member a value row: the runs under test upsert it, and the test holds it.
    job_run_now(name="customer_value", as_of=now - timedelta(days=10))

    def work():
        return (
            CustomerValueFit.objects.filter(as_of=now).count(),
            MemberValue.objects.filter(member=member, as_of=now).count(),
        )

    return member, now, {}, work


def _daily_sales(store, now):
    member = MemberFactory()
    buy(member, store, "100.00", occurred_at=now - timedelta(days=1))
    # An earlier refresh writes the day's row: the runs under test recount it, and the test holds it.
    job_run_now(name="refresh_daily_sales", as_of=timezone.now())
    buy(member, store, "50.00", occurred_at=now - timedelta(days=1))
    day = timezone.localdate(now - timedelta(days=1))

    def work():
        return list(DailySales.objects.filter(day=day).values_list("revenue", "purchases"))

    return member, timezone.now() + timedelta(minutes=1), {}, work


def _hold_daily_sales_rows(member_id):
    """refresh_daily_sales locks no member: its recount waits on the day's aggregate row instead."""
    db = connection.settings_dict
    holder = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    holder.cursor().execute("SELECT id FROM analytics_dailysales FOR UPDATE")
    return holder


def _hold_member_value_row(member_id):
    """customer_value never locks the member: its chunk waits on the member's value row instead."""
    db = connection.settings_dict
    holder = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    holder.cursor().execute("SELECT member_id FROM analytics_membervalue WHERE member_id = %s FOR UPDATE", [member_id])
    return holder


SETUPS = {
    "expire_points": (_expiry, 1),
    "requalify_tiers": (_tiers, 1),
    "detect_lapse": (_lapse, 1),
    "promote_stages": (_stages, 1),
    "place_loyalty_grid": (_grid, 1),
    "campaign": (_campaign, (1, 1, 88)),
    "invite_to_surveys": (_surveys, (1, 1)),
    "customer_value": (_customer_value, (1, 1)),
    "refresh_daily_sales": (_daily_sales, [(Decimal("150.00"), 2)]),
}
# What the runs of a job wait on while the test holds it: the member's row, unless said here.
HOLDERS = {"customer_value": _hold_member_value_row, "refresh_daily_sales": _hold_daily_sales_rows}


def test_every_registered_job_has_a_concurrency_case():
    assert set(SETUPS) == set(JOBS)


@pytest.mark.parametrize("name", sorted(JOBS))
def test_two_runs_of_a_job_at_once_do_the_work_once(name, store, now):
    setup, expected = SETUPS[name]
    member, as_of, params, work = setup(store, now)
    holder = HOLDERS.get(name, hold_member_row)(member.pk)

    with ThreadPoolExecutor(max_workers=1) as pool:
        both = pool.submit(run_concurrently, lambda i: job_run_now(name=name, as_of=as_of, params=params).run.pk, 2)
        wait_until_held_up_by(holder, 2)
        holder.rollback()
        runs = both.result(timeout=120)
    holder.close()

    assert work() == expected
    assert JobRun.objects.filter(pk__in=runs).exclude(status="done").count() == 0
