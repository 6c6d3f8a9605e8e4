"""A member's value where staff and tills use it: the member API's `clv`, campaign audiences and
the P(alive) lapse rule."""

from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.member_values import likely_lapsed, predicted_value_cutoff, valuable_at_risk
from analytics.models import CustomerValueFit, MemberValue
from members.models import Member
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fit():
    return CustomerValueFit.objects.create(
        as_of=timezone.now(), r=0.2, alpha=4.0, a=0.8, b=2.4, log_likelihood=-10.0, customers=10,
        converged=True, seconds=0.1,
    )  # fmt: skip


def valued(fit, predicted: str, p_alive: float, historic: str = "100.00") -> Member:
    member = MemberFactory()
    MemberValue.objects.create(
        member=member,
        as_of=fit.as_of,
        fit=fit,
        frequency=2,
        recency_days=30,
        age_days=60,
        historic_12m=Decimal(historic),
        historic_lifetime=Decimal(historic),
        expected_purchases_12m=1.5,
        p_alive=p_alive,
        expected_spend=Decimal("10.00"),
        predicted_12m=Decimal(predicted),
    )
    return member


@pytest.fixture
def ten(fit):
    """Predicted values 1000, 900, ..., 100; P(alive) 0.3 for the odd ranks, 0.9 for the even."""
    return [valued(fit, f"{1000 - 100 * n}.00", 0.3 if n % 2 == 0 else 0.9) for n in range(10)]


def test_the_member_api_shows_the_clv_to_a_till(api, fit):
    member = valued(fit, "812.40", 0.42, historic="1250.00")

    response = api.get(f"/api/v1/members/lookup/?card_number={member.card_number}")

    assert response.status_code == 200
    assert response.json()["clv"] == {"historic_12m": "1250.00", "predicted_12m": "812.40", "p_alive": 0.42}


def test_a_member_not_valued_yet_has_no_clv(api, member):
    response = api.get(f"/api/v1/members/{member.card_number}/")

    assert response.status_code == 200
    assert response.json()["clv"] is None


def test_the_top_fifth_cutoff_is_the_value_at_that_rank(ten):
    assert predicted_value_cutoff(top_share=0.2) == Decimal("900.00")
    assert predicted_value_cutoff(top_share=0.25) == Decimal("800.00")  # ceil(2.5) = 3rd


def test_no_cutoff_before_any_valuation(db):
    assert predicted_value_cutoff(top_share=0.2) is None
    assert not Member.objects.filter(valuable_at_risk(top_share=0.2, p_alive_below=0.5)).exists()


def test_the_audience_of_valuable_members_at_risk(ten):
    members = Member.objects.filter(valuable_at_risk(top_share=0.4, p_alive_below=0.5))

    # The top 40% are the four highest; of them the 1st and 3rd have P(alive) 0.3.
    assert set(members.values_list("pk", flat=True)) == {ten[0].pk, ten[2].pk}


def test_the_p_alive_lapse_rule_names_members_below_the_threshold(ten):
    lapsed = set(Member.objects.filter(likely_lapsed(p_alive_below=0.5)).values_list("pk", flat=True))

    assert lapsed == {member.pk for member in ten[::2]}


def test_the_member_page_shows_p_alive_and_predicted_value(fit):
    from analytics.admin import member_value_display

    member = valued(fit, "812.40", 0.42, historic="1250.00")

    assert str(member_value_display(member)) == (
        "P(alive) 42%, predicted next 12 months 812.40, last 12 months 1250.00"
    )
    assert member_value_display(MemberFactory()) == "-"
