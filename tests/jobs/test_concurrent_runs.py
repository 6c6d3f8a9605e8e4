"""Two runs of the same job started at once do the work once: the second start waits for the
first (a run-level lock), then joins the run still going or continues from the one finished.

To be sure the two runs overlap, the test holds the member's row (FOR UPDATE) while they start:
each run decides and then waits to write; the row is let go once both are waiting."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from django.utils import timezone

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


SETUPS = {
    "expire_points": (_expiry, 1),
    "requalify_tiers": (_tiers, 1),
    "detect_lapse": (_lapse, 1),
    "promote_stages": (_stages, 1),
    "place_loyalty_grid": (_grid, 1),
    "campaign": (_campaign, (1, 1, 88)),
    "invite_to_surveys": (_surveys, (1, 1)),
}


def test_every_registered_job_has_a_concurrency_case():
    assert set(SETUPS) == set(JOBS)


@pytest.mark.parametrize("name", sorted(JOBS))
def test_two_runs_of_a_job_at_once_do_the_work_once(name, store, now):
    setup, expected = SETUPS[name]
    member, as_of, params, work = setup(store, now)
    holder = hold_member_row(member.pk)

    with ThreadPoolExecutor(max_workers=1) as pool:
        both = pool.submit(run_concurrently, lambda i: job_run_now(name=name, as_of=as_of, params=params).run.pk, 2)
        wait_until_held_up_by(holder, 2)
        holder.rollback()
        runs = both.result(timeout=120)
    holder.close()

    assert work() == expected
    assert JobRun.objects.filter(pk__in=runs).exclude(status="done").count() == 0
