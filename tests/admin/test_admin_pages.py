import pytest
from django.contrib import admin
from django.urls import reverse

from members.models import Member
from rewards.models import EntryKind, LedgerEntry
from tests.factories import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def some_data(member, store):
    buy(member, store, "100.00")
    return member


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_changelist_renders(admin_client_logged, some_data, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    assert admin_client_logged.get(url).status_code == 200


def test_changelist_search_finds_a_member_by_phone_and_card(admin_client_logged, member):
    url = reverse("admin:members_member_changelist")

    assert member.name in admin_client_logged.get(url, {"q": member.phone}).content.decode()
    assert member.name in admin_client_logged.get(url, {"q": member.card_number}).content.decode()


def test_member_page_shows_recent_ledger_and_purchases(admin_client_logged, some_data):
    page = admin_client_logged.get(reverse("admin:members_member_change", args=[some_data.pk])).content.decode()

    assert "Latest entries" in page and "Latest purchases" in page
    assert "+10" in page


def test_staff_adjusts_points_with_a_reason(admin_client_logged, member):
    url = reverse("admin:members_member_adjust") + f"?ids={member.pk}"

    response = admin_client_logged.post(url, {"points": "40", "reason": "birthday gesture"})

    assert response.status_code == 302
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.staff_user, entry.reason) == (
        EntryKind.ADJUST,
        40,
        admin_client_logged.user,
        "birthday gesture",
    )


def test_adjust_without_reason_is_a_form_error(admin_client_logged, member):
    url = reverse("admin:members_member_adjust") + f"?ids={member.pk}"

    response = admin_client_logged.post(url, {"points": "40", "reason": ""})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_overdrawing_adjustment_changes_nobody(admin_client_logged, store):
    from tests.factories import MemberFactory

    rich, poor = MemberFactory(), MemberFactory()
    buy(rich, store, "1000.00")
    url = reverse("admin:members_member_adjust") + f"?ids={rich.pk},{poor.pk}"

    response = admin_client_logged.post(url, {"points": "-50", "reason": "correction"})

    assert "Nothing was changed" in response.content.decode()
    assert Member.objects.get(pk=rich.pk).points_balance == 100


def test_suspend_records_the_reason(admin_client_logged, member):
    url = reverse("admin:members_member_suspend") + f"?ids={member.pk}"

    admin_client_logged.post(url, {"reason": "abusive to staff"})

    member.refresh_from_db()
    assert (member.status, member.suspended_reason) == ("suspended", "abusive to staff")


def test_ledger_entries_cannot_be_edited_in_the_admin(admin_client_logged, some_data):
    entry = LedgerEntry.objects.get(member=some_data)
    url = reverse("admin:rewards_ledgerentry_change", args=[entry.pk])

    admin_client_logged.post(url, {"points": "999"})

    assert LedgerEntry.objects.get(pk=entry.pk).points == 10
    assert admin_client_logged.get(reverse("admin:rewards_ledgerentry_add")).status_code == 403
    assert admin_client_logged.get(reverse("admin:rewards_ledgerentry_delete", args=[entry.pk])).status_code == 403
