from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.grid import grid_place, loyalty_type_for
from feedback.models import Feedback, GridPolicy
from jobs.services import job_run_now
from members.models import LoyaltyType, Member, StageChange
from rewards.ledger import Actor
from rewards.services import points_bonus
from tests.factories import MemberFactory, buy

POLICY = GridPolicy()  # 4 purchases, promoter 9, passive 7 with intent, mercenary above 50%
BASE = {
    "window_purchases": 0,
    "lapse_state": "active",
    "latest_nps": None,
    "buy_again": None,
    "referral_buyer": False,
    "reviewed": False,
    "earned_points": 0,
    "promo_points": 0,
}


def place(**figures):
    return loyalty_type_for({**BASE, **figures}, POLICY)


def test_low_low_is_none():
    assert place(window_purchases=3) == LoyaltyType.NONE


def test_frequent_buyer_without_attachment_is_inertia():
    assert place(window_purchases=4, earned_points=100, promo_points=50) == LoyaltyType.INERTIA


def test_frequent_buyer_whose_points_are_mostly_promotions_is_mercenary():
    assert place(window_purchases=4, earned_points=100, promo_points=51) == LoyaltyType.MERCENARY


def test_a_lapsed_frequent_buyer_is_not_high_behaviour():
    assert place(window_purchases=8, lapse_state="lapsed", latest_nps=10) == LoyaltyType.LATENT


def test_promoter_who_buys_little_is_latent():
    assert place(window_purchases=1, latest_nps=9) == LoyaltyType.LATENT


@pytest.mark.parametrize(
    ("nps", "intent", "expected"),
    [(7, 1, LoyaltyType.COMMITTED), (7, 0, LoyaltyType.INERTIA), (6, 1, LoyaltyType.INERTIA)],
)
def test_passive_score_counts_with_intent_to_buy_again(nps, intent, expected):
    assert place(window_purchases=4, latest_nps=nps, buy_again=intent) == expected


def test_committed_and_advocating_is_fanatical():
    assert place(window_purchases=4, latest_nps=10, reviewed=True) == LoyaltyType.FANATICAL
    assert place(window_purchases=4, referral_buyer=True) == LoyaltyType.FANATICAL


def test_promoter_without_review_or_referral_is_committed_not_fanatical():
    assert place(window_purchases=4, latest_nps=10) == LoyaltyType.COMMITTED


@pytest.mark.django_db
def test_the_grid_job_places_members_with_history_and_reruns_change_nothing(store):
    fan, bought = MemberFactory(), MemberFactory()
    for _ in range(4):
        buy(fan, store, "50.00")
        buy(bought, store, "50.00")
    Feedback.objects.create(member=fan, nps=10, comment="Love it")
    points_bonus(member=bought, points=500, reason="promo", actor=Actor(job="test"))
    ids = dict(member_id_from=min(fan.pk, bought.pk), member_id_to=max(fan.pk, bought.pk) + 1)

    first = grid_place(as_of=timezone.now() + timedelta(minutes=1), **ids)
    again = grid_place(as_of=timezone.now() + timedelta(minutes=1), **ids)

    assert (first.changed, again.changed) == (2, 0)
    assert Member.objects.get(pk=fan.pk).loyalty_type == LoyaltyType.FANATICAL
    assert Member.objects.get(pk=bought.pk).loyalty_type == LoyaltyType.MERCENARY
    change = StageChange.objects.get(member=bought, kind="grid")
    assert change.figures["promo_points"] == 500 and "from promotions" in change.reason


@pytest.mark.django_db
def test_the_grid_runs_in_the_nightly_jobs_and_shows_in_the_admin(admin_client_logged, store):
    member = MemberFactory()
    for _ in range(4):
        buy(member, store, "50.00")

    job_run_now(name="place_loyalty_grid", as_of=timezone.now() + timedelta(minutes=1))

    page = admin_client_logged.get(reverse("admin:feedback_gridpolicy_changelist")).content.decode()
    assert "Inertia (habit, no attachment)" in page and "<strong>1</strong>" in page
    member_page = admin_client_logged.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()
    assert "Loyalty type: No loyalty (low/low) → Inertia (habit, no attachment)" in member_page
