"""Garbage in gives a 4xx with field-level messages, never a 500, and never writes."""

import pytest

from members.models import Purchase
from rewards.models import LedgerEntry
from tests.api.helpers import post, purchase_body

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"total": "-5.00"}, "total"),
        ({"total": "0"}, "total"),
        ({"total": "abc"}, "total"),
        ({"total": "1e30"}, "total"),
        ({"total": "NaN"}, "total"),
        ({"total": 10**40}, "total"),
        ({"items": "not a list"}, "items"),
        ({"items": []}, "items"),
        ({"items": [{"sku": "A", "quantity": -1, "unit_price": "1"}]}, "items"),
        ({"items": [{"sku": "A", "quantity": 1, "unit_price": "-1"}]}, "items"),
        ({"items": [{"sku": "A" * 65, "quantity": 1, "unit_price": "1"}]}, "items"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at"),
        ({"occurred_at": "1999-01-01T10:00:00Z"}, "occurred_at"),
        ({"channel": "telepathy"}, "channel"),
        ({"currency": "XXXX"}, "currency"),
        ({"currency": "USD"}, "currency"),
        ({"receipt_id": ""}, "receipt_id"),
        ({"receipt_id": "R" * 65}, "receipt_id"),
        ({"member": None}, "member"),
        ({"total": "100.00", "items": [{"sku": "A", "quantity": 1, "unit_price": "1"}]}, "total"),
    ],
)
def test_bad_purchase_fields_are_400_with_the_field_named(api, member, override, field):
    response = post(api, "/api/v1/purchases/", {**purchase_body(member), **override})

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Purchase.objects.exists()


def test_unknown_member_is_404(api, member):
    response = post(api, "/api/v1/purchases/", purchase_body(member, member="00000000-0000-4000-8000-000000000000"))

    assert response.status_code == 404
    assert response.json()["errors"] == {"member": ["Unknown member."]}


def test_malformed_json_is_400(api):
    response = api.generic(
        "POST", "/api/v1/purchases/", b"{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_a_json_array_body_is_400(api):
    response = post(api, "/api/v1/purchases/", [1, 2, 3])

    assert response.status_code == 400


def test_form_encoded_body_is_415(api):
    response = api.post("/api/v1/purchases/", {"a": "b"}, HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 415


@pytest.mark.parametrize("points", [-50, 0, "ten", 10**12, None])
def test_bad_redemption_points_are_400(api, member, points):
    response = post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": points, "receipt_id": "S"})

    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"code", "detail", "errors"} and "points" in body["errors"]
    assert not LedgerEntry.objects.exists()


def test_huge_idempotency_key_is_400(api, member):
    response = post(api, "/api/v1/purchases/", purchase_body(member), key="k" * 300)

    assert response.status_code == 400


def test_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1", "' OR 1=1 --"])
def test_odd_ids_in_paths_are_404(api, bad_id):
    assert api.get(f"/api/v1/members/{bad_id}/").status_code == 404
    assert post(api, f"/api/v1/purchases/{bad_id}/returns/", {"amount": "1", "receipt_id": "R"}).status_code == 404
    assert api.post(f"/api/v1/redemptions/{bad_id}/cancel/").status_code == 404
