"""What the home page suggests at each stage, and how many queries the busiest pages cost."""

from decimal import Decimal

import pytest

from members.models import Member, Stage
from portal.selectors import next_step
from rewards.earning import earning_setup
from rewards.models import Reward, RewardKind
from tests.factories import buy, standard_tiers
from tests.portal.conftest import signed_in_client
from tiers.models import Tier
from tiers.selectors import TierProgress, tiers_ranked


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (Stage.PROSPECT, "Show this card at your first purchase to start earning points."),
        (Stage.TARGET, "Show this card at your first purchase to start earning points."),
        (Stage.FIRST_TIME, "Welcome back soon: every purchase earns points towards your first reward."),
        (Stage.CORE, "Refer a friend with your code ABCD2345: you both earn a reward."),
        (Stage.ADVOCATE, "Refer a friend with your code ABCD2345: you both earn a reward."),
    ],
)
def test_the_next_step_fits_the_stage(stage, expected):
    member = Member(stage=stage, referral_code="ABCD2345")

    assert next_step(member=member, progress=None, to_next=None) == expected


def test_a_repeat_buyer_is_told_what_the_next_tier_needs():
    member = Member(stage=Stage.REPEAT, referral_code="ABCD2345")
    progress = TierProgress(
        tier=Tier(name="Silver"), valid_until=None, next_tier=Tier(name="Gold"), spend_to_next=Decimal("120")
    )

    assert next_step(member=member, progress=progress, to_next="¥120.00") == "Spend ¥120.00 more to reach Gold."


@pytest.mark.django_db
def test_home_costs_a_fixed_number_of_queries(client, member, store, django_assert_num_queries):
    standard_tiers()
    buy(member, store, "3000.00")
    signed_in_client(client, member)
    earning_setup(), tiers_ranked()  # per-process caches, warm in a running server

    # session, member with account and tier, first expiry with its points, 12-month spend,
    # surveys waiting
    with django_assert_num_queries(5):
        assert client.get("/portal/").status_code == 200


@pytest.mark.django_db
def test_history_and_rewards_cost_a_fixed_number_of_queries(client, member, store, django_assert_num_queries):
    for _ in range(3):
        buy(member, store, "100.00")
    Reward.objects.create(name="Tasting", kind=RewardKind.EXPERIENCE, cost_points=10)
    signed_in_client(client, member)
    earning_setup(), tiers_ranked()

    # session, member, count, page of purchases, their lines, their returns
    with django_assert_num_queries(6):
        assert client.get("/portal/history/").status_code == 200
    # session, member, the rewards
    with django_assert_num_queries(3):
        assert client.get("/portal/rewards/").status_code == 200
