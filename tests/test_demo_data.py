from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from campaigns.measurement import campaign_results
from campaigns.models import Campaign, CampaignGrant, CampaignKind, CampaignMessage
from core.dates import add_months
from demo.data import build_demo
from feedback.models import Complaint, Feedback
from jobs.models import JobRun
from jobs.registry import NIGHTLY_ORDER
from members.models import ChangeKind, Member, Purchase, Return, StageChange
from messaging.models import MessageStatus, OutboxMessage
from rewards.models import EntryKind, LedgerEntry
from stores.models import Store
from tests.ledger_checks import assert_ledger_consistent
from tiers.models import TierChange, TierChangeKind

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def _signature():
    return sorted(Member.objects.values_list("phone", "name", "purchase_count", "lifetime_spend", "points_balance"))


def test_demo_leaves_a_consistent_ledger():
    summary = build_demo(seed=3, members=40, months=6)

    assert summary.members == 40 and summary.purchases == Purchase.objects.count() > 40
    assert Feedback.objects.exists() and Complaint.objects.exists()
    for member_id in Member.objects.values_list("pk", flat=True):
        assert_ledger_consistent(member_id)


def _reset_sequences():
    """Ids feed the holdout hash; a fresh database starts every sequence at the same place."""
    from django.apps import apps
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
            cursor.execute(sql)


def test_same_seed_gives_the_same_demo():
    signatures = []
    for _ in range(2):
        _reset_sequences()
        with pytest.raises(_Rollback), transaction.atomic():
            build_demo(seed=5, members=25, months=4)
            signatures.append(_signature())
            raise _Rollback

    assert signatures[0] == signatures[1]


def test_seed_demo_refuses_a_database_with_members(member):
    with pytest.raises(CommandError):
        call_command("seed_demo", "--members", "5")


def test_seed_demo_if_empty_skips_a_database_with_members(member):
    call_command("seed_demo", "--if-empty", "--members", "5")

    assert Member.objects.count() == 1


# --- the story the demo tells -----------------------------------------------------------------
# One small demo for the module (built once, rolled back at the end): 200 members over 6 months.


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        started = timezone.now()
        summary = build_demo(seed=11, members=200, months=6)
        yield started, summary
        transaction.set_rollback(True)


def test_purchase_entries_carry_the_time_of_their_purchase(demo):
    earned = LedgerEntry.objects.filter(kind=EntryKind.EARN)

    assert earned.count() == Purchase.objects.count()
    assert not earned.exclude(created_at=F("purchase__occurred_at")).exists()


def test_purchases_span_the_months_replayed(demo):
    started, _ = demo

    first = Purchase.objects.order_by("occurred_at").first().occurred_at

    assert first < started - timedelta(days=120)  # of 180: the first members join, then buy
    assert not Purchase.objects.exclude(created_at=F("occurred_at")).exists()


def test_return_entries_come_after_their_purchase(demo):
    reversals = LedgerEntry.objects.filter(kind=EntryKind.REVERSE, return_record__isnull=False)

    assert reversals.exists()
    assert not reversals.filter(created_at__lte=F("return_record__purchase__occurred_at")).exists()
    assert not reversals.exclude(created_at=F("return_record__created_at")).exists()


def test_tier_moves_on_a_purchase_carry_its_time(demo):
    on_purchase = TierChange.objects.filter(kind__in=[TierChangeKind.ENROL, TierChangeKind.UPGRADE])
    purchase_times = Purchase.objects.filter(member=OuterRef("member"), occurred_at=OuterRef("created_at"))

    assert on_purchase.exists()
    assert not on_purchase.exclude(Exists(purchase_times)).exists()
    # Validity runs 12 months from the move, not from the day the demo was loaded.
    for change in on_purchase:
        assert change.valid_until == add_months(change.created_at, 12)


def test_each_members_ledger_reads_in_time_order(demo):
    for member_id in Member.objects.values_list("pk", flat=True):
        times = list(
            LedgerEntry.objects.filter(member_id=member_id).order_by("id").values_list("created_at", flat=True)
        )
        assert times == sorted(times)
        assert_ledger_consistent(member_id)


def test_stage_moves_carry_the_time_of_what_caused_them(demo):
    """A purchase, return or enrolment of the member, the enrolment of a friend they referred, a
    nightly run (on the campaign day), or the present (feedback, the last nightly runs)."""
    started, _ = demo
    moves = StageChange.objects.filter(kind=ChangeKind.STAGE)
    purchase = Purchase.objects.filter(member=OuterRef("member"), occurred_at=OuterRef("created_at"))
    return_ = Return.objects.filter(purchase__member=OuterRef("member"), created_at=OuterRef("created_at"))
    enrolled = Member.objects.filter(pk=OuterRef("member"), enrolled_at=OuterRef("created_at"))
    referred = Member.objects.filter(referred_by=OuterRef("member"), enrolled_at=OuterRef("created_at"))
    runs = JobRun.objects.filter(as_of__lt=started).values("as_of")

    unexplained = moves.exclude(created_at__in=runs)
    for cause in (purchase, return_, enrolled, referred):
        unexplained = unexplained.exclude(Exists(cause))

    assert moves.filter(Exists(purchase)).exists()
    assert not unexplained.filter(created_at__lt=started).exists()


def test_nightly_jobs_ran_last_as_of_the_end(demo):
    started, _ = demo

    for name in NIGHTLY_ORDER:
        assert JobRun.objects.filter(name=name).latest("id").as_of >= started


def test_campaigns_ran_in_the_past_and_their_messages_went_out(demo):
    started, summary = demo
    campaigns = Campaign.objects.all()

    assert campaigns.count() == 5
    assert not CampaignGrant.objects.filter(granted_at__gt=started - timedelta(days=30)).exists()
    assert not OutboxMessage.objects.filter(campaign__isnull=False, status=MessageStatus.PENDING).exists()
    sent = OutboxMessage.objects.filter(status=MessageStatus.SENT)
    assert summary.messages_sent == sent.count()
    statuses = set(OutboxMessage.objects.filter(campaign__isnull=False).values_list("status", flat=True))
    assert statuses == {MessageStatus.SENT, MessageStatus.SKIPPED}  # skipped: no consent or no address


def test_campaign_results_are_measured(demo):
    results = {c.kind: campaign_results(campaign=c) for c in Campaign.objects.all()}

    for kind in (CampaignKind.BIRTHDAY, CampaignKind.SURPRISE, CampaignKind.BADGE):
        assert results[kind].treated.buyers > 0, kind
        assert results[kind].treated.revenue > 0, kind
        assert results[kind].delivered > 0, kind
    assert any(r.holdout.members for r in results.values())


def test_holdout_is_the_configured_share_of_each_campaigns_members(demo):
    for campaign in Campaign.objects.all():
        grants = CampaignGrant.objects.filter(campaign=campaign)
        held = grants.filter(holdout=True).count()
        # Half up, of everyone the run considered (treated and held out).
        assert held == (grants.count() * campaign.holdout_percent + 50) // 100, campaign.name


def test_demo_speaks_chinese(demo):
    assert Store.objects.filter(name="上海南京路店").exists()
    assert all("\u4e00" <= name[0] <= "\u9fff" for name in Member.objects.values_list("name", flat=True))
    assert CampaignMessage.objects.filter(language="zh-hans").count() == 5
