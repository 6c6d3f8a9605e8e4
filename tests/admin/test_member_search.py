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


@pytest.mark.parametrize("term", ["Li Wanted", "li w", "LI@example.com"])
def test_member_search_finds_the_start_of_a_name_and_an_email(admin_client_logged, wanted, term):
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


def test_member_search_by_name_matches_its_start_only(admin_client_logged, wanted):
    """A name is found by its start (a surname first, as Chinese names are written), which the
    member_name_prefix index serves; a word inside a name would need a scan of every member."""
    url = reverse("admin:members_member_changelist")

    assert _found_names(admin_client_logged, url, "Wanted") == []


def test_member_search_finds_a_member_id(admin_client_logged, wanted):
    url = reverse("admin:members_member_changelist")

    assert _found_names(admin_client_logged, url, str(wanted.public_id)) == ["Li Wanted"]


def test_member_search_finds_a_referral_code(admin_client_logged, wanted):
    url = reverse("admin:members_member_changelist")

    assert _found_names(admin_client_logged, url, wanted.referral_code.lower()) == ["Li Wanted"]


@pytest.mark.parametrize("term", ["王", "Li Wanted", "li@example.com"])
def test_member_search_by_name_or_email_uses_an_index(wanted, term):
    """EXPLAIN of the search on a table the planner believes large: an index, not a scan."""
    from django.db import connection

    from members.admin import MemberAdmin

    found, _ = MemberAdmin(Member, admin.site).get_search_results(None, Member.objects.all(), term)
    sql, params = found.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan
