from datetime import timedelta

import pytest
from django.utils import timezone

from members.models import Member, MemberHabit, Purchase, PurchaseLine, Stage, StageChange
from members.services import member_suspend
from rewards.models import LedgerEntry, PointsLot
from tests.api.helpers import post, purchase_body
from tests.factories import buy

pytestmark = pytest.mark.django_db


def test_purchase_returns_points_and_balance(api, member):
    response = post(api, "/api/v1/purchases/", purchase_body(member, "120.00"))

    assert response.status_code == 201
    body = response.json()
    purchase = Purchase.objects.get(public_id=body["id"])
    assert body == {
        "id": str(purchase.public_id),
        "member": str(member.public_id),
        "receipt_id": purchase.receipt_id,
        "total": "120.00",
        "points_earned": 12,
        "points_balance": 12,
        "note": "",
    }
    assert LedgerEntry.objects.get(member=member).api_key == api.key


def test_purchase_writes_every_row_it_batches(api, member):
    """Lines, lot, habits, stage change and member aggregates travel with later statements of the
    request (fewer round trips): all of them must land."""
    response = post(api, "/api/v1/purchases/", purchase_body(member, "120.00"))

    purchase = Purchase.objects.get(public_id=response.json()["id"])
    member.refresh_from_db()
    assert sorted(PurchaseLine.objects.filter(purchase=purchase).values_list("sku", flat=True)) == ["BEANS", "LATTE"]
    assert PointsLot.objects.get(member=member).remaining == 12
    assert set(MemberHabit.objects.filter(member=member).values_list("value", flat=True)) == {
        "store",
        "coffee",
        "beans",
    }
    assert StageChange.objects.get(member=member).to_value == Stage.FIRST_TIME
    assert (member.points_balance, member.purchase_count, member.lifetime_spend, member.stage) == (
        12,
        1,
        purchase.total,
        Stage.FIRST_TIME,
    )


def test_purchase_by_card_number(api, member):
    response = post(api, "/api/v1/purchases/", dict(purchase_body(member), member=member.card_number))

    assert response.status_code == 201


def test_purchase_without_idempotency_key_is_400(api, member):
    response = post(api, "/api/v1/purchases/", purchase_body(member), key=False)

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert not Purchase.objects.exists()


def test_retry_with_the_same_key_replays_the_answer_and_writes_nothing(api, member):
    body = purchase_body(member)
    first = post(api, "/api/v1/purchases/", body, key="k-1")

    second = post(api, "/api/v1/purchases/", body, key="k-1")

    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert second["Idempotent-Replayed"] == "true"
    assert Purchase.objects.count() == 1
    assert LedgerEntry.objects.count() == 1


def test_same_key_with_another_body_is_422(api, member):
    post(api, "/api/v1/purchases/", purchase_body(member), key="k-1")

    response = post(api, "/api/v1/purchases/", purchase_body(member, "999.00"), key="k-1")

    assert response.status_code == 422
    assert Purchase.objects.count() == 1


def test_same_key_from_another_store_is_a_separate_request(api, member, store):
    from rest_framework.test import APIClient

    from tests.factories import StoreFactory, create_api_key

    other_key = create_api_key(StoreFactory())[1]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")
    body = purchase_body(member)
    post(api, "/api/v1/purchases/", body, key="shared")

    response = post(other, "/api/v1/purchases/", body, key="shared")

    assert response.status_code == 201
    assert Purchase.objects.count() == 2


def test_failed_request_can_be_retried_with_the_same_key(api, member):
    body = purchase_body(member, total="100.00", currency="USD")
    assert post(api, "/api/v1/purchases/", body, key="k-2").status_code == 400

    response = post(api, "/api/v1/purchases/", dict(body, currency="CNY"), key="k-2")

    assert response.status_code == 201


def test_same_receipt_under_a_new_key_is_409(api, member):
    body = purchase_body(member)
    post(api, "/api/v1/purchases/", body)

    response = post(api, "/api/v1/purchases/", body)

    assert (response.status_code, response.json()["code"]) == (409, "duplicate_receipt")


def test_suspended_member_purchase_says_why_it_earned_nothing(api, member):
    member_suspend(member=member, reason="fraud")

    response = post(api, "/api/v1/purchases/", purchase_body(member))

    assert response.status_code == 201
    assert response.json()["points_earned"] == 0
    assert "suspended" in response.json()["note"]


def test_return_by_amount(api, member):
    purchase = buy(member, api.store, "100.00")

    response = post(api, f"/api/v1/purchases/{purchase.public_id}/returns/", {"amount": "40.00", "receipt_id": "R1"})

    assert response.status_code == 201
    assert (response.json()["points_reversed"], response.json()["points_balance"]) == (4, 6)


def test_return_by_items(api, member):
    response = post(api, "/api/v1/purchases/", purchase_body(member, "100.00"))
    purchase_id = response.json()["id"]

    response = post(
        api,
        f"/api/v1/purchases/{purchase_id}/returns/",
        {"items": [{"sku": "BEANS", "quantity": 1}], "receipt_id": "R"},
    )

    assert response.status_code == 201
    assert response.json()["amount"] == "50.00"


def test_over_return_is_400_and_writes_nothing(api, member):
    purchase = buy(member, api.store, "100.00")

    response = post(api, f"/api/v1/purchases/{purchase.public_id}/returns/", {"amount": "100.01", "receipt_id": "R"})

    assert (response.status_code, response.json()["code"]) == (400, "over_return")
    assert Member.objects.get(pk=member.pk).points_balance == 10


def test_return_with_both_amount_and_items_is_400(api, member):
    purchase = buy(member, api.store, "100.00")

    response = post(
        api,
        f"/api/v1/purchases/{purchase.public_id}/returns/",
        {"amount": "10", "items": [{"sku": "SKU-1", "quantity": 1}], "receipt_id": "R"},
    )

    assert response.status_code == 400


def test_return_of_an_unknown_purchase_is_404(api):
    response = post(
        api, "/api/v1/purchases/5b7a1a6e-0000-4000-8000-000000000000/returns/", {"amount": "1", "receipt_id": "R"}
    )

    assert response.status_code == 404


def test_quote_computes_without_writing(api, member):
    response = api.post("/api/v1/quotes/", purchase_body(member, "250.00"), format="json")

    assert (response.status_code, response.json()["points"]) == (200, 25)
    assert not Purchase.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_quote_without_a_member(api, member):
    body = purchase_body(member, "250.00")
    del body["member"]

    assert api.post("/api/v1/quotes/", body, format="json").json()["points"] == 25


@pytest.mark.parametrize("path", ["/api/v1/purchases/", "/api/v1/quotes/"])
def test_purchase_time_beyond_the_clock_skew_is_a_400_on_occurred_at(api, member, path):
    ahead = (timezone.now() + timedelta(hours=5)).isoformat()

    response = post(api, path, purchase_body(member, "100.00", occurred_at=ahead))

    assert response.status_code == 400
    assert response.json() == {
        "code": "in_the_future",
        "detail": "A purchase cannot be in the future.",
        "errors": {"occurred_at": ["A purchase cannot be in the future."]},
    }
    assert not Purchase.objects.exists()
    assert Member.objects.get(pk=member.pk).points_balance == 0
