"""Each kind of campaign end to end through the services and the batch job framework."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from campaigns.models import CampaignGrant, GrantType, MemberBadge, StaffTask, TaskKind
from feedback.models import Feedback, LostCustomerInterview
from members.models import LapseState, Member, StageChange
from messaging.models import OutboxMessage
from rewards.models import EntryKind, LedgerEntry, Reward, RewardKind, Voucher
from tests.campaigns.conftest import run_campaign
from tests.factories import MemberFactory, buy
from tests.ledger_checks import assert_ledger_consistent

# Dates matter here: every test runs at each of the frozen moments (tests/clock.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_dates")]


def spenders(store, amounts):
    members = []
    for amount in amounts:
        member = MemberFactory(consent_email=True)
        buy(member, store, amount)
        members.append(member)
    return members


def test_surprise_picks_from_the_top_share_and_creates_staff_tasks(make_campaign, store):
    members = spenders(store, ["100.00"] * 8 + ["900.00", "800.00"])
    campaign = make_campaign("surprise", top_share="0.20", call_top=1)

    run = run_campaign(campaign)

    granted = set(CampaignGrant.objects.filter(campaign=campaign).values_list("member", flat=True))
    assert granted == {members[8].pk, members[9].pk}
    assert run.params["call"] == [members[8].pk]
    assert StaffTask.objects.filter(kind=TaskKind.CALL).get().member_id == members[8].pk
    assert StaffTask.objects.filter(kind=TaskKind.CARD).count() == 2
    entry = LedgerEntry.objects.get(member=members[9], kind=EntryKind.BONUS)
    assert (entry.points, entry.job) == (100, f"campaign:{campaign.pk}")
    assert_ledger_consistent(members[9].pk)


def test_surprise_skips_members_surprised_recently(make_campaign, store):
    spenders(store, ["100.00"] * 4 + ["900.00"])
    campaign = make_campaign("surprise", top_share="0.20", quiet_days=90)
    run_campaign(campaign)

    rerun_tomorrow = run_campaign(campaign, as_of=timezone.now() + timedelta(days=1))

    assert rerun_tomorrow.changed == 0
    assert CampaignGrant.objects.count() == 1


def test_birthday_grants_once_per_year(make_campaign, store):
    today = timezone.localdate()
    born = MemberFactory(birthday=date(1990, today.month, 1))
    MemberFactory(birthday=date(1990, today.month % 12 + 1, 1))
    campaign = make_campaign("birthday")

    # Another day of the same birthday month (the day before, on the month's last day).
    other_day = timezone.now() + timedelta(days=1)
    if timezone.localtime(other_day).month != today.month:
        other_day = timezone.now() - timedelta(days=1)

    run_campaign(campaign)
    run_campaign(campaign, as_of=other_day)

    assert list(CampaignGrant.objects.values_list("member", "grant_key")) == [(born.pk, f"birthday:{today.year}")]


def test_win_back_sends_an_offer_voucher_and_an_interview_task(make_campaign, store):
    lapsed = MemberFactory(consent_sms=True)
    buy(lapsed, store, "50.00", occurred_at=timezone.now() - timedelta(days=300))
    from members.journey import lapse_detect

    lapse_detect(as_of=timezone.now(), member_id_from=lapsed.pk, member_id_to=lapsed.pk + 1)
    gave_up = MemberFactory()
    Member.objects.filter(pk=gave_up.pk).update(lapse_state=LapseState.LAPSED)
    LostCustomerInterview.objects.create(
        member=gave_up, staff_user=_staff(), happened_at=timezone.now(), reason="moved", can_win_back="no"
    )
    offer = Reward.objects.create(name="Welcome back latte", kind=RewardKind.FREE_PRODUCT, cost_points=1)
    campaign = make_campaign("win_back", grant_type=GrantType.VOUCHER, reward=offer, points=0, offer_days=21)

    run_campaign(campaign)
    run_campaign(campaign)

    voucher = Voucher.objects.get()
    assert (voucher.member, voucher.points_cost, voucher.campaign) == (lapsed, 0, campaign)
    assert (voucher.expires_at - timezone.now()).days == 20
    assert StaffTask.objects.get(kind=TaskKind.INTERVIEW).member == lapsed
    change = StageChange.objects.get(member=lapsed, kind="lapse", to_value="lapsed")
    assert CampaignGrant.objects.get().grant_key == f"lapse:{change.pk}"
    assert voucher.code in OutboxMessage.objects.get(member=lapsed).body


def _staff():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get_or_create(username="interviewer")[0]


def test_referral_rewards_both_sides_once(make_campaign, store):
    referrer = MemberFactory()
    friend = MemberFactory(referred_by=referrer)
    campaign = make_campaign("referral", points=200)
    buy(friend, store, "30.00")

    run_campaign(campaign)
    buy(friend, store, "30.00")
    run_campaign(campaign, as_of=timezone.now() + timedelta(days=1))

    assert sorted(CampaignGrant.objects.values_list("member", flat=True)) == sorted([referrer.pk, friend.pk])
    assert Member.objects.get(pk=referrer.pk).points_balance == 200


def test_a_referrer_of_two_new_buyers_in_one_run_gets_both_rewards(make_campaign, store):
    referrer = MemberFactory()
    friends = [MemberFactory(referred_by=referrer) for _ in range(2)]
    campaign = make_campaign("referral", points=200)
    for friend in friends:
        buy(friend, store, "30.00")

    run_campaign(campaign)

    assert CampaignGrant.objects.filter(member=referrer).count() == 2
    assert Member.objects.get(pk=referrer.pk).points_balance == 400
    assert_ledger_consistent(referrer.pk)


def test_a_referral_voucher_run_gives_each_grant_its_own_voucher_within_stock(make_campaign, store):
    referrer = MemberFactory()
    friends = [MemberFactory(referred_by=referrer) for _ in range(3)]
    gift = Reward.objects.create(name="Friends' mug", kind=RewardKind.FREE_PRODUCT, cost_points=1, stock=4)
    campaign = make_campaign("referral", grant_type=GrantType.VOUCHER, reward=gift, points=0)
    for friend in friends:
        buy(friend, store, "30.00")

    run_campaign(campaign)

    grants = CampaignGrant.objects.filter(campaign=campaign, holdout=False)
    assert grants.count() == 4  # two referrals fit the stock of 4, both sides each
    assert len(set(grants.values_list("voucher", flat=True))) == 4
    assert Reward.objects.get(pk=gift.pk).stock == 0


def test_badges_are_earned_once_for_new_categories(make_campaign, store):
    from campaigns.models import Badge

    explorer = MemberFactory()
    buy(explorer, store, "20.00", category="coffee")
    buy(explorer, store, "20.00", category="tea")
    loyal = MemberFactory()
    buy(loyal, store, "20.00", category="coffee")
    badge = Badge.objects.create(code="explorer", name="Explorer", kind="new_category")
    campaign = make_campaign("badge", badge=badge, points=50)

    run_campaign(campaign)
    run_campaign(campaign)

    assert list(MemberBadge.objects.values_list("member", flat=True)) == [explorer.pk]
    assert Member.objects.get(pk=explorer.pk).points_balance == 4 + 50


def test_nth_review_badge(make_campaign):
    from campaigns.models import Badge

    critic = MemberFactory()
    for text in ["good", "great", "superb"]:
        Feedback.objects.create(member=critic, comment=text)
    Feedback.objects.create(member=MemberFactory(), comment="ok")
    campaign = make_campaign(
        "badge", badge=Badge.objects.create(code="critic", name="Critic", kind="nth_review", threshold=3)
    )

    run_campaign(campaign)

    assert list(MemberBadge.objects.values_list("member", flat=True)) == [critic.pk]


def test_promotion_window_multiplies_points_for_the_segment_but_not_the_holdout(store):
    from campaigns.models import Campaign
    from campaigns.services import campaign_launch
    from core.sampling import held_out

    campaign = Campaign.objects.create(
        name="Double week",
        kind="promotion",
        multiplier=2,
        holdout_percent=50,
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=7),
    )
    campaign_launch(campaign=campaign)
    members = [MemberFactory() for _ in range(20)]

    for member in members:
        purchase = buy(member, store, "100.00")
        expected = 10 if held_out(campaign.pk, member.pk, 50) else 20
        assert purchase.points_earned == expected
        assert purchase.base_points == 10


def test_suspended_members_are_never_in_a_campaign(make_campaign, store):
    from members.services import member_suspend

    member = MemberFactory(birthday=date(1990, timezone.localdate().month, 1))
    member_suspend(member=member, reason="fraud")

    assert run_campaign(make_campaign("birthday")).examined == 0


def test_consent_governs_messages_not_points(make_campaign):
    from messaging.services import outbox_send_due

    silent = MemberFactory(birthday=date(1990, timezone.localdate().month, 1), consent_email=False, consent_sms=False)
    run_campaign(make_campaign("birthday"))

    outbox_send_due()

    assert Member.objects.get(pk=silent.pk).points_balance == 100
    assert OutboxMessage.objects.get(member=silent).status == "skipped"


def test_a_voucher_run_grants_no_more_vouchers_than_the_reward_has_in_stock(make_campaign):
    for _ in range(3):
        member = MemberFactory()
        Member.objects.filter(pk=member.pk).update(lapse_state=LapseState.LAPSED)
    offer = Reward.objects.create(name="Welcome back latte", kind=RewardKind.FREE_PRODUCT, cost_points=1, stock=2)
    campaign = make_campaign("win_back", grant_type=GrantType.VOUCHER, reward=offer, points=0)

    run_campaign(campaign)

    assert Reward.objects.get(pk=offer.pk).stock == 0
    assert Voucher.objects.count() == 2
