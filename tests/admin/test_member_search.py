"""Admin search finds a member however staff type the card or phone number."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from members.models import Member
from tests.factories import MemberFactory, buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def wanted():
    other = MemberFactory(name="Someone Else", phone="+8613900000002")
    assert other.pk
    return MemberFactory(
        name="Li Wanted", phone="+8613900000001", card_number="8123456789012345", email="li@example.com"
    )


def _found_names(client, url, term):
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return [m.name for m in response.context["cl"].result_list]


@pytest.mark.parametrize("term", ["13900000001", "139-0000-0001", "139 0000 0001", "+86 139 0000 0001"])
def test_member_search_finds_a_phone_however_it_is_written(admin_client_logged, wanted, term):
    url = reverse("admin:members_member_changelist")

    assert _found_names(admin_client_logged, url, term) == ["Li Wanted"]


@pytest.mark.parametrize("term", ["8123 4567 8901 2345", "8123-4567-8901-2345", " 8123456789012345 "])
def test_member_search_finds_a_card_number_with_spaces(admin_client_logged, wanted, term):
    url = reverse("admin:members_member_changelist")

    assert _found_names(admin_client_logged, url, term) == ["Li Wanted"]


@pytest.mark.parametrize("term", ["Wanted", "li@example.com"])
def test_member_search_still_finds_names_and_emails(admin_client_logged, wanted, term):
    url = reverse("admin:members_member_changelist")

    assert _found_names(admin_client_logged, url, term) == ["Li Wanted"]


def test_member_search_by_phone_is_one_exact_indexed_match(wanted, admin_user):
    """An exact equality on the column (its unique index), not UPPER(...) or LIKE over every row."""
    model_admin = admin.site._registry[Member]
    request = RequestFactory().get("/")
    request.user = admin_user

    found, may_have_duplicates = model_admin.get_search_results(request, Member.objects.all(), "139 0000 0001")

    sql = str(found.query)
    assert '"members_member"."phone" = +8613900000001' in sql
    assert "UPPER" not in sql and "LIKE" not in sql
    assert may_have_duplicates is False


def test_purchase_search_finds_the_member_card_with_spaces(admin_client_logged, wanted, store):
    purchase = buy(wanted, store, "50.00")
    buy(MemberFactory(), store, "60.00")
    url = reverse("admin:members_purchase_changelist")

    response = admin_client_logged.get(url, {"q": "8123 4567 8901 2345"})

    assert list(response.context["cl"].result_list) == [purchase]
