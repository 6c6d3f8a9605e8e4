"""The stage rule at its boundaries, and its per-member and set-based forms agreeing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import BooleanField, IntegerField, Value
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback.models import Feedback
from members.journey import (
    member_stage_figures,
    member_stage_refresh,
    members_with_stage,
    stage_expression,
    stage_for,
)
from members.models import Member, Stage, StagePolicy
from tests.factories import MemberFactory, StoreFactory, buy

POLICY = StagePolicy()  # the defaults: 365 days, repeat 2, core 6 + 3 categories or 2 channels, NPS 9

BASE = {
    "purchase_count": 0,
    "consent_email": False,
    "consent_sms": False,
    "last_engaged_at": None,
    "window_purchases": 0,
    "window_categories": 0,
    "window_channels": 0,
    "referral_buyer": False,
    "latest_nps": None,
    "reviewed": False,
}


def stage(**figures):
    return stage_for({**BASE, **figures}, POLICY)


def test_known_contact_without_opt_in_is_a_prospect():
    assert stage() == Stage.PROSPECT


@pytest.mark.parametrize("signal", [{"consent_email": True}, {"consent_sms": True}, {"last_engaged_at": "2026-01-01"}])
def test_opted_in_or_engaged_without_purchase_is_a_target(signal):
    assert stage(**signal) == Stage.TARGET


def test_one_qualifying_purchase_is_a_first_time_buyer():
    assert stage(purchase_count=1, window_purchases=1) == Stage.FIRST_TIME


def test_a_buyer_whose_purchases_left_the_window_falls_back_to_first_time():
    assert stage(purchase_count=5, window_purchases=1) == Stage.FIRST_TIME


def test_two_purchases_in_the_window_make_a_repeat_buyer():
    assert stage(purchase_count=2, window_purchases=2) == Stage.REPEAT


@pytest.mark.parametrize(
    ("purchases", "categories", "channels", "expected"),
    [
        (6, 3, 1, Stage.CORE),
        (6, 1, 2, Stage.CORE),
        (5, 3, 2, Stage.REPEAT),
        (6, 2, 1, Stage.REPEAT),
    ],
)
def test_core_needs_six_purchases_and_breadth(purchases, categories, channels, expected):
    figures = {"purchase_count": purchases, "window_purchases": purchases}
    assert stage(**figures, window_categories=categories, window_channels=channels) == expected


def test_a_repeat_buyer_who_referred_a_buyer_is_an_advocate():
    assert stage(purchase_count=2, window_purchases=2, referral_buyer=True) == Stage.ADVOCATE


@pytest.mark.parametrize(
    ("nps", "reviewed", "expected"), [(9, True, Stage.ADVOCATE), (8, True, Stage.REPEAT), (10, False, Stage.REPEAT)]
)
def test_promoter_with_a_review_is_an_advocate(nps, reviewed, expected):
    assert stage(purchase_count=2, window_purchases=2, latest_nps=nps, reviewed=reviewed) == expected


def test_a_first_time_buyer_who_referred_someone_is_not_yet_an_advocate():
    assert stage(purchase_count=1, window_purchases=1, referral_buyer=True) == Stage.FIRST_TIME


@given(
    purchases=st.integers(0, 12),
    categories=st.integers(0, 5),
    channels=st.integers(0, 4),
    referral=st.booleans(),
    nps=st.one_of(st.none(), st.integers(0, 10)),
    reviewed=st.booleans(),
)
def test_more_behaviour_never_lowers_the_stage(purchases, categories, channels, referral, nps, reviewed):
    order = list(Stage.values)
    figures = dict(
        purchase_count=purchases,
        window_purchases=purchases,
        window_categories=categories,
        window_channels=channels,
        referral_buyer=referral,
        latest_nps=nps,
        reviewed=reviewed,
    )
    more = {**figures, "purchase_count": purchases + 1, "window_purchases": purchases + 1}
    assert order.index(stage(**more)) >= order.index(stage(**figures))


@pytest.mark.django_db
def test_window_boundary_is_exclusive_of_the_purchase_exactly_a_window_ago():
    member, store, now = MemberFactory(), StoreFactory(), timezone.now()
    buy(member, store, "10.00", occurred_at=now - timedelta(days=365))
    buy(member, store, "10.00", occurred_at=now - timedelta(days=365) + timedelta(seconds=1))

    figures = member_stage_figures(member_id=member.pk, as_of=now, policy=POLICY)

    assert figures["window_purchases"] == 1


@pytest.mark.django_db
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    ages=st.lists(st.integers(0, 800), min_size=0, max_size=8),
    categories=st.lists(st.sampled_from(["coffee", "tea", "beans", "cups"]), min_size=8, max_size=8),
    nps=st.one_of(st.none(), st.integers(0, 10)),
    comment=st.sampled_from(["", "great"]),
    referred_buys=st.booleans(),
)
def test_the_purchase_path_and_the_set_based_rule_place_a_member_alike(ages, categories, nps, comment, referred_buys):
    member, store, now = MemberFactory(), StoreFactory(), timezone.now()
    for age, category in zip(ages, categories, strict=False):
        buy(member, store, "12.00", category=category, occurred_at=now - timedelta(days=age, minutes=1))
    if nps is not None or comment:
        Feedback.objects.create(member=member, nps=nps, comment=comment)
    if referred_buys:
        buy(MemberFactory(referred_by=member), store, Decimal("5.00"))
    member.refresh_from_db()
    member_stage_refresh(member=member)  # the per-member form, after feedback and referrals too

    set_based = members_with_stage(Member.objects.filter(pk=member.pk), as_of=timezone.now(), policy=POLICY)

    assert set_based.values_list("computed_stage", flat=True).get() == member.stage


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    purchase_count=st.integers(0, 8),
    window_purchases=st.integers(0, 8),
    window_categories=st.integers(0, 4),
    window_channels=st.integers(0, 3),
    referral_buyer=st.booleans(),
    latest_nps=st.one_of(st.none(), st.integers(0, 10)),
    reviewed=st.booleans(),
    consent_email=st.booleans(),
    consent_sms=st.booleans(),
    engaged=st.booleans(),
)
def test_the_rule_in_python_and_in_sql_agree_on_any_figures(
    purchase_count, window_purchases, window_categories, window_channels, referral_buyer, latest_nps, reviewed, **rest
):
    figures = dict(
        window_purchases=window_purchases,
        window_categories=window_categories,
        window_channels=window_channels,
        referral_buyer=referral_buyer,
        latest_nps=latest_nps,
        reviewed=reviewed,
    )
    member = MemberFactory(
        purchase_count=purchase_count,
        consent_email=rest["consent_email"],
        consent_sms=rest["consent_sms"],
        last_engaged_at=timezone.now() if rest["engaged"] else None,
    )
    literal = {name: Value(value, output_field=_FIGURE_TYPES[name]) for name, value in figures.items()}
    in_sql = Member.objects.filter(pk=member.pk).annotate(**literal).annotate(s=stage_expression(POLICY))

    row = {**figures, "purchase_count": purchase_count, **{k: getattr(member, k) for k in MEMBER_FLAGS}}
    assert in_sql.values_list("s", flat=True).get() == stage_for(row, POLICY)


MEMBER_FLAGS = ("consent_email", "consent_sms", "last_engaged_at")
_FIGURE_TYPES = {
    "window_purchases": IntegerField(),
    "window_categories": IntegerField(),
    "window_channels": IntegerField(),
    "referral_buyer": BooleanField(),
    "latest_nps": IntegerField(),
    "reviewed": BooleanField(),
}


@given(
    purchases=st.integers(0, 12),
    categories=st.integers(0, 5),
    channels=st.integers(0, 4),
    referral=st.booleans(),
    nps=st.one_of(st.none(), st.integers(0, 10)),
    reviewed=st.booleans(),
    new_category=st.booleans(),
    new_channel=st.booleans(),
)
def test_when_the_purchase_path_skips_the_stage_a_purchase_could_not_move_it(
    purchases, categories, channels, referral, nps, reviewed, new_category, new_channel
):
    from members.journey import purchase_cannot_move_stage

    before = dict(
        purchase_count=purchases,
        window_purchases=purchases,
        window_categories=categories,
        window_channels=channels,
        referral_buyer=referral,
        latest_nps=nps,
        reviewed=reviewed,
    )
    after = {
        **before,
        "purchase_count": purchases + 1,
        "window_purchases": purchases + 1,
        "window_categories": categories + new_category,
        "window_channels": channels + new_channel,
    }
    placed = stage(**before)
    if purchase_cannot_move_stage(placed, purchases + 1, POLICY):
        assert stage(**after) == placed


@given(
    window=st.integers(0, 1),
    categories=st.integers(0, 5),
    channels=st.integers(0, 4),
    referral=st.booleans(),
    nps=st.one_of(st.none(), st.integers(0, 10)),
    reviewed=st.booleans(),
    consent=st.booleans(),
)
def test_a_single_qualifying_purchase_always_makes_a_first_time_buyer(
    window, categories, channels, referral, nps, reviewed, consent
):
    # The purchase path relies on this to skip the figures query on a member's first purchase.
    figures = dict(
        purchase_count=1,
        window_purchases=window,
        window_categories=categories,
        window_channels=channels,
        referral_buyer=referral,
        latest_nps=nps,
        reviewed=reviewed,
        consent_email=consent,
    )
    assert stage(**figures) == Stage.FIRST_TIME
