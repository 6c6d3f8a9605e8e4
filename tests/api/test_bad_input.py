"""Garbage in gives a 4xx with field-level messages, never a 500, and never writes."""

import json
import uuid

import pytest

from feedback.models import Complaint, Feedback
from members.models import Member, Purchase
from rewards.models import LedgerEntry, Voucher
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


# --- Input PostgreSQL or Python cannot take: refused with the JSON error shape, never a 500 ---

NUL = "\x00"
SOME_UUID = "00000000-0000-4000-8000-000000000000"
BASKET = {
    "channel": "store",
    "occurred_at": "2026-11-01T10:00:00+08:00",
    "currency": "CNY",
    "total": "1.00",
    "items": [{"sku": "A", "quantity": 1, "unit_price": "1.00"}],
}
# Every endpoint that reads a JSON body, with a body that is valid but for what a test puts in.
JSON_ENDPOINTS = {
    "/api/v1/members/": {"phone": "13900000001", "name": "Ann"},
    "/api/v1/purchases/": {**BASKET, "member": "8123456789012345", "receipt_id": "R1"},
    f"/api/v1/purchases/{SOME_UUID}/returns/": {"receipt_id": "R1", "amount": "1.00"},
    "/api/v1/quotes/": dict(BASKET),
    "/api/v1/redemptions/": {"member": "8123456789012345", "points": 10, "receipt_id": "R1"},
    "/api/v1/rewards/1/redeem/": {"member": "8123456789012345"},
    "/api/v1/vouchers/ABC/consume/": {"receipt_id": "R1"},
    "/api/v1/feedback/": {"nps": 9, "comment": "Fine"},
    "/api/v1/complaints/": {"category": "product", "text": "Cold coffee"},
}
# Endpoints whose body is ignored: whatever it holds, they answer as without one.
BODILESS_WRITE_ENDPOINTS = [f"/api/v1/redemptions/{SOME_UUID}/cancel/", "/api/v1/vouchers/ABC/cancel/"]


def send_json(api, path, raw: str | bytes):
    return api.generic("POST", path, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)


def written_rows() -> list[int]:
    return [model.objects.count() for model in (Member, Purchase, LedgerEntry, Voucher, Feedback, Complaint)]


def assert_error_shape(response, status: int, code: str) -> dict:
    assert (response.status_code, response["Content-Type"]) == (status, "application/json"), response.content
    body = response.json()
    assert set(body) == {"code", "detail", "errors"} and body["code"] == code
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/members/lookup/?card_number=%00",
        "/api/v1/members/lookup/?phone=139%0000",
        "/api/v1/rewards/?member=%00",
        "/api/v1/members/%00/",
        "/api/v1/members/%00/ledger/",
        "/api/v1/vouchers/%00/",
        "/api/v1/nothing-here/%00/",
    ],
)
def test_a_nul_in_a_query_or_path_is_a_json_400(api, member, url):
    assert_error_shape(api.get(url), 400, "invalid")


def test_a_nul_in_a_query_parameter_names_the_parameter(api):
    body = assert_error_shape(api.get("/api/v1/members/lookup/?phone=1&card_number=8%001"), 400, "invalid")

    assert body["errors"] == {"card_number": ["Null characters are not allowed."]}


@pytest.mark.parametrize(
    "path", [f"/api/v1/vouchers/%00/{action}/" for action in ("consume", "cancel")] + ["/api/v1/rewards/%00/redeem/"]
)
def test_a_nul_in_a_write_path_is_a_json_400_and_writes_nothing(api, member, path):
    before = written_rows()

    assert_error_shape(
        send_json(api, path, json.dumps({"member": member.card_number, "receipt_id": "R"})), 400, "invalid"
    )
    assert written_rows() == before


NUL_REFUSED = "Null characters are not allowed."
SURROGATE_REFUSED = "Text must be valid Unicode (no unpaired surrogates)."


@pytest.mark.parametrize("path", list(JSON_ENDPOINTS))
@pytest.mark.parametrize(
    ("bad_text", "message"),
    [(NUL, NUL_REFUSED), ("a\x00b", NUL_REFUSED), ("\ud800", SURROGATE_REFUSED), ("x\udfffy", SURROGATE_REFUSED)],
    ids=["nul", "inner-nul", "surrogate", "low-surrogate"],
)
def test_text_postgresql_cannot_store_is_a_400_naming_the_field(api, path, bad_text, message):
    body = {**JSON_ENDPOINTS[path], "receipt_id": bad_text}
    before = written_rows()

    response = send_json(api, path, json.dumps(body))

    assert assert_error_shape(response, 400, "invalid")["errors"] == {"receipt_id": [message]}
    assert written_rows() == before


@pytest.mark.parametrize("path", ["/api/v1/purchases/", "/api/v1/quotes/"])
def test_a_nul_deep_in_a_body_names_its_top_level_field(api, path):
    body = {
        **JSON_ENDPOINTS[path],
        "items": [{"sku": "A", "category": f"co{NUL}ffee", "quantity": 1, "unit_price": "1"}],
    }

    response = send_json(api, path, json.dumps(body))

    assert assert_error_shape(response, 400, "invalid")["errors"] == {"items": [NUL_REFUSED]}


def test_a_nul_in_a_key_is_refused(api):
    response = send_json(api, "/api/v1/feedback/", json.dumps({"nps": 9, f"x{NUL}": 1}))

    assert assert_error_shape(response, 400, "invalid")["errors"] == {
        "non_field_errors": ["Null characters are not allowed."]
    }


def test_an_escaped_backslash_before_u0000_is_ordinary_text(api, member):
    response = send_json(api, "/api/v1/feedback/", json.dumps({"member": member.card_number, "comment": r"C:\u0000"}))

    assert response.status_code == 201
    assert Feedback.objects.get().comment == r"C:\u0000"


def test_a_surrogate_pair_is_ordinary_text(api, member):
    response = send_json(api, "/api/v1/feedback/", json.dumps({"member": member.card_number, "comment": "☕ 😀"}))

    assert response.status_code == 201
    assert Feedback.objects.get().comment == "☕ 😀"


@pytest.mark.parametrize("path", BODILESS_WRITE_ENDPOINTS)
def test_endpoints_without_a_body_ignore_a_bad_one(api, path):
    response = send_json(api, path, json.dumps({"reason": NUL}))

    assert_error_shape(response, 404, "not_found")


@pytest.mark.parametrize("path", list(JSON_ENDPOINTS))
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_beyond_the_recursion_limit_is_a_parse_error(api, path, depth):
    before = written_rows()

    response = send_json(api, path, '{"member": ' + "[" * depth + "]" * depth + "}")

    assert assert_error_shape(response, 400, "parse_error")["detail"] == (
        "JSON parse error - the document is nested too deeply."
    )
    assert written_rows() == before


@pytest.mark.parametrize("reward_id", ["%C2%B2", "%D9%A3", "1%C2%B2", "9" * 40])
def test_digits_int_cannot_read_in_a_reward_id_are_404(api, member, reward_id):
    response = send_json(api, f"/api/v1/rewards/{reward_id}/redeem/", json.dumps({"member": member.card_number}))

    assert assert_error_shape(response, 404, "not_found")["detail"] == "No such reward."


def test_a_body_over_the_upload_limit_is_a_json_413(api, member, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = {**JSON_ENDPOINTS["/api/v1/feedback/"], "comment": "x" * 2_000}

    response = send_json(api, "/api/v1/feedback/", json.dumps(body))

    assert assert_error_shape(response, 413, "too_large")
    assert not Feedback.objects.exists()


def test_a_body_within_the_upload_limit_is_read(api, member, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    response = send_json(api, "/api/v1/feedback/", json.dumps({"comment": "x" * 900}))

    assert response.status_code == 201


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_path_is_a_json_404_with_or_without_debug(api, settings, debug):
    settings.DEBUG = debug

    assert_error_shape(api.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_error_shape(api.get("/api/nothing/"), 404, "not_found")


@pytest.mark.parametrize("debug", [False, True])
def test_a_server_error_under_the_api_is_the_json_shape_with_or_without_debug(api, settings, monkeypatch, debug):
    settings.DEBUG = debug
    api.raise_request_exception = False

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("members.selectors.member_lookup", broken)

    response = api.get("/api/v1/members/lookup/?card_number=1")

    assert assert_error_shape(response, 500, "server_error")["detail"] == (
        "Something went wrong on our side; nothing was written."
    )


def test_an_error_page_outside_the_api_stays_html(client):
    response = client.get("/nothing-here/")

    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("key", ["café", "\u3000k", "k\u3000", "k\x7f", "k\x85"])
def test_an_idempotency_key_beyond_printable_ascii_is_400(api, member, key):
    response = post(api, "/api/v1/feedback/", {"nps": 9}, key=key)

    assert assert_error_shape(response, 400, "idempotency_key_required")["errors"] == {
        "Idempotency-Key": ["Invalid value."]
    }
    assert not Feedback.objects.exists()


def test_spaces_around_an_idempotency_key_are_trimmed(api, member):
    first = post(api, "/api/v1/feedback/", {"nps": 9}, key=" \tk-1 ")
    again = post(api, "/api/v1/feedback/", {"nps": 9}, key="k-1")

    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert Feedback.objects.count() == 1


def test_an_empty_optional_idempotency_key_is_400_not_absent(api, member):
    response = post(api, "/api/v1/feedback/", {"nps": 9}, key=False, HTTP_IDEMPOTENCY_KEY="")

    assert assert_error_shape(response, 400, "idempotency_key_required")
    assert not Feedback.objects.exists()
