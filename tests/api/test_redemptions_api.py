import pytest

from members.models import Member
from rewards.models import LedgerEntry, Redemption
from tests.api.helpers import post
from tests.factories import buy

pytestmark = pytest.mark.django_db


def test_redeem_returns_points_value_and_balance(api, member):
    buy(member, api.store, "500.00")

    response = post(api, "/api/v1/redemptions/", {"member": str(member.public_id), "points": 20, "receipt_id": "S1"})

    assert response.status_code == 201
    body = response.json()
    assert (body["points_redeemed"], body["points_balance"], body["value"], body["status"]) == (
        20,
        30,
        "2.00",
        "completed",
    )


def test_overdraw_is_400_insufficient_points_and_writes_nothing(api, member):
    buy(member, api.store, "100.00")

    response = post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": 11, "receipt_id": "S1"})

    assert (response.status_code, response.json()["code"]) == (400, "insufficient_points")
    assert response.json()["points_balance"] == 10
    assert not Redemption.objects.exists()


def test_cancel_gives_points_back_once(api, member):
    buy(member, api.store, "100.00")
    redemption_id = post(
        api, "/api/v1/redemptions/", {"member": member.card_number, "points": 4, "receipt_id": "S"}
    ).json()["id"]

    first = api.post(f"/api/v1/redemptions/{redemption_id}/cancel/")
    second = api.post(f"/api/v1/redemptions/{redemption_id}/cancel/")

    assert (first.status_code, first.json()["status"], first.json()["points_balance"]) == (200, "cancelled", 10)
    assert (second.status_code, second.json()["code"]) == (409, "already_cancelled")
    assert Member.objects.get(pk=member.pk).points_balance == 10


def test_ledger_is_paginated_newest_first(api, member):
    for _ in range(3):
        buy(member, api.store, "100.00")
    entries = LedgerEntry.objects.filter(member=member).order_by("-id")

    page = api.get(f"/api/v1/members/{member.public_id}/ledger/?page_size=2").json()

    assert [e["id"] for e in page["results"]] == [e.id for e in entries]
    first = page["results"][0]
    assert set(first) == {"id", "kind", "points", "balance_after", "created_at", "expires_at", "reason"}
    assert first["balance_after"] == 30


def test_ledger_follows_next_links(api, member, settings):
    from rewards.api.views import LedgerPagination

    LedgerPagination.page_size = 2
    try:
        for _ in range(3):
            buy(member, api.store, "100.00")
        first = api.get(f"/api/v1/members/{member.public_id}/ledger/").json()
        second = api.get(first["next"]).json()
    finally:
        LedgerPagination.page_size = 50

    assert len(first["results"]) == 2 and len(second["results"]) == 1
    assert second["next"] is None
