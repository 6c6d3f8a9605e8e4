"""The admin's read-only lists of member values and fits."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import CustomerValueFit, MemberValue
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

VALUES_URL = "admin:analytics_membervalue_changelist"


@pytest.fixture
def fit(db):
    return CustomerValueFit.objects.create(
        as_of=timezone.now(), r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4, customers=3,
        p=6.25, q=3.74, gamma=15.44, spend_log_likelihood=-4055.9, repeat_buyers=2, converged=True, seconds=0.5,
    )  # fmt: skip


def valued(fit, p_alive):
    """A member with a stored value of the given P(alive)."""
    member = MemberFactory()
    MemberValue.objects.create(
        member=member, as_of=fit.as_of, fit=fit, frequency=2, recency_days=10, age_days=20,
        historic_12m=Decimal("100.00"), historic_lifetime=Decimal("100.00"), expected_purchases_12m=1.5,
        p_alive=p_alive, expected_spend=Decimal("50.00"), predicted_12m=Decimal("75.00"),
    )  # fmt: skip
    return member


def listed(client, **query):
    return client.get(reverse(VALUES_URL), query).content.decode()


def test_the_values_list_finds_a_member_by_card_or_phone(admin_client_logged, fit):
    wanted, other = valued(fit, 0.9), valued(fit, 0.9)

    for term in (wanted.card_number, wanted.phone):
        page = listed(admin_client_logged, q=term)
        assert wanted.card_number in page
        assert other.card_number not in page


@pytest.mark.parametrize(("bucket", "shown"), [("lt25", 0), ("25-50", 1), ("50-75", 2), ("75up", 3)])
def test_the_values_list_filters_by_probability_alive_bucket(admin_client_logged, fit, bucket, shown):
    members = [valued(fit, p_alive) for p_alive in (0.1, 0.25, 0.5, 1.0)]

    page = listed(admin_client_logged, p_alive=bucket)

    assert [m.card_number in page for m in members] == [index == shown for index in range(4)]


def test_member_values_are_read_only_in_the_admin(admin_client_logged, fit):
    member = valued(fit, 0.5)

    url = reverse("admin:analytics_membervalue_change", args=[member.pk])
    response = admin_client_logged.post(url, {"p_alive": "0.9"})

    assert response.status_code == 403
    assert MemberValue.objects.get(member=member).p_alive == 0.5
    assert "Add member value" not in listed(admin_client_logged)


def test_the_fits_list_shows_the_parameters_and_fit_quality(admin_client_logged, fit):
    page = admin_client_logged.get(reverse("admin:analytics_customervaluefit_changelist")).content.decode()

    assert "0.243" in page and "4.414" in page and "-9582.4" in page
