"""A purchase or return moves its member's stage at once, with a history row."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import LapseState, Member, Stage, StageChange
from members.services import member_enroll, purchase_return
from tests.factories import buy

pytestmark = pytest.mark.django_db


def stage_of(member):
    return Member.objects.get(pk=member.pk).stage


def test_enrolment_with_consent_makes_a_target_with_history(store):
    member = member_enroll(phone="13800138100", consent_marketing=True, store=store)

    change = StageChange.objects.get(member=member)
    assert (member.stage, change.from_value, change.to_value) == (Stage.TARGET, Stage.PROSPECT, Stage.TARGET)
    assert change.run is None


def test_enrolment_without_consent_stays_a_prospect(store):
    member = member_enroll(phone="13800138101", store=store)

    assert member.stage == Stage.PROSPECT
    assert not StageChange.objects.filter(member=member).exists()


def test_first_then_second_purchase_move_to_first_time_then_repeat(member, store):
    buy(member, store, "50.00")
    assert stage_of(member) == Stage.FIRST_TIME

    buy(member, store, "50.00")

    assert stage_of(member) == Stage.REPEAT
    latest = StageChange.objects.filter(member=member).first()
    assert latest.reason == "repeat: 2 purchases in 365 days"
    assert latest.figures["window_purchases"] == 2


def test_six_purchases_across_three_categories_make_a_core_customer(member, store):
    for category in ["coffee", "tea", "beans", "coffee", "tea", "beans"]:
        buy(member, store, "30.00", category=category)

    assert stage_of(member) == Stage.CORE
    assert "3 categories" in StageChange.objects.filter(member=member).first().reason


def test_six_purchases_through_two_channels_make_a_core_customer(member, store):
    for channel in ["store", "online"] * 3:
        buy(member, store, "30.00", channel=channel)

    assert stage_of(member) == Stage.CORE


def test_a_full_return_of_the_only_purchase_undoes_first_time(member, store):
    purchase = buy(member, store, "50.00")

    purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("50.00"))

    member.refresh_from_db()
    assert (member.purchase_count, member.stage) == (0, Stage.PROSPECT)


def test_a_partial_return_keeps_the_purchase_qualifying(member, store):
    purchase = buy(member, store, "50.00")

    purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("49.99"))

    assert stage_of(member) == Stage.FIRST_TIME


def test_a_lapsed_member_who_buys_is_won_back(member, store):
    buy(member, store, "50.00", occurred_at=timezone.now() - timedelta(days=400))
    Member.objects.filter(pk=member.pk).update(lapse_state=LapseState.LAPSED)

    buy(member, store, "50.00")

    member.refresh_from_db()
    assert member.lapse_state == LapseState.WON_BACK
    change = StageChange.objects.get(member=member, kind="lapse")
    assert (change.from_value, change.to_value) == (LapseState.LAPSED, LapseState.WON_BACK)
