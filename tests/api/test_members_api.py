import pytest

from members.models import Member
from tests.factories import MemberFactory, StoreFactory, create_api_key

pytestmark = pytest.mark.django_db


def test_enrol_returns_the_member_representation(api):
    response = api.post(
        "/api/v1/members/",
        {"phone": "138 0013 8000", "name": "王小明", "email": "Wang@Example.com", "consent_marketing": True},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    member = Member.objects.get(public_id=body["id"])
    assert body == {
        "id": str(member.public_id),
        "card_number": member.card_number,
        "name": "王小明",
        "phone": "+8613800138000",
        "phone_masked": "138****8000",
        "email": "wang@example.com",
        "birthday": None,
        "status": "active",
        "referral_code": member.referral_code,
        "points_balance": 0,
        "lifetime_spend": "0.00",
        "tier": None,
        "stage": "target",
        "clv": None,
        "lapse_state": "active",
        "external_id": None,
    }
    assert member.enrolled_store == api.store
    assert member.consent_email and member.consent_sms


def test_enrol_with_a_referral_code_links_the_referrer(api):
    referrer = MemberFactory()
    response = api.post(
        "/api/v1/members/", {"phone": "13800138001", "referral_code": referrer.referral_code.lower()}, format="json"
    )

    assert response.status_code == 201
    assert Member.objects.get(public_id=response.json()["id"]).referred_by == referrer


def test_enrol_with_an_unknown_referral_code_is_a_field_error(api):
    response = api.post("/api/v1/members/", {"phone": "13800138001", "referral_code": "NOPE1234"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"referral_code": ["No member has this referral code."]}
    assert not Member.objects.exists()


def test_enrol_an_enrolled_phone_is_409_with_the_existing_id(api):
    existing = MemberFactory(phone="+8613800138002")

    response = api.post("/api/v1/members/", {"phone": "+86 138-0013-8002"}, format="json")

    assert response.status_code == 409
    assert response.json()["id"] == str(existing.public_id)
    assert response.json()["code"] == "already_enrolled"


def test_enrol_with_an_invalid_phone_is_a_field_error(api):
    response = api.post("/api/v1/members/", {"phone": "12345"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["phone"]


def test_enrol_with_a_birthday_in_the_future_is_refused(api):
    response = api.post("/api/v1/members/", {"phone": "13800138003", "birthday": "2999-01-01"}, format="json")

    assert response.status_code == 400
    assert "birthday" in response.json()["errors"]


def test_lookup_by_card_number(api, member):
    response = api.get(f"/api/v1/members/lookup/?card_number={member.card_number}")

    assert (response.status_code, response.json()["id"]) == (200, str(member.public_id))


def test_lookup_by_phone_in_local_format(api):
    member = MemberFactory(phone="+8613800138004")

    response = api.get("/api/v1/members/lookup/?phone=13800138004")

    assert (response.status_code, response.json()["id"]) == (200, str(member.public_id))


def test_lookup_by_external_id_finds_an_imported_member_without_a_phone(api):
    member = MemberFactory(phone="", external_id="CRM-0042")

    response = api.get("/api/v1/members/lookup/?external_id=CRM-0042")

    assert (response.status_code, response.json()["id"], response.json()["phone_masked"]) == (
        200,
        str(member.public_id),
        "",
    )


def test_lookup_without_a_match_is_404(api):
    assert api.get("/api/v1/members/lookup/?card_number=0000").status_code == 404


def test_lookup_without_parameters_is_400(api):
    assert api.get("/api/v1/members/lookup/").status_code == 400


def test_member_detail_by_id_and_by_card_number(api, member):
    assert api.get(f"/api/v1/members/{member.public_id}/").json()["card_number"] == member.card_number
    assert api.get(f"/api/v1/members/{member.card_number}/").json()["id"] == str(member.public_id)


TILL_VIEW = {"id", "card_number", "name", "phone_masked", "status", "points_balance", "tier", "stage", "clv"}


def test_lookup_answers_the_till_view_with_a_masked_phone(api):
    member = MemberFactory(phone="+8613800138000", email="wang@example.com", name="王小明")

    body = api.get("/api/v1/members/lookup/?phone=13800138000").json()

    assert set(body) == TILL_VIEW
    assert (body["name"], body["phone_masked"], body["card_number"]) == ("王小明", "138****8000", member.card_number)


def test_member_detail_without_the_member_details_scope_is_the_till_view(api, member):
    body = api.get(f"/api/v1/members/{member.public_id}/").json()

    assert set(body) == TILL_VIEW


def test_member_detail_with_the_member_details_scope_is_the_full_record(member):
    from rest_framework.test import APIClient

    _key, raw = create_api_key(StoreFactory(), member_details=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")

    body = client.get(f"/api/v1/members/{member.public_id}/").json()

    assert set(body) == TILL_VIEW | {
        "phone",
        "email",
        "birthday",
        "referral_code",
        "lifetime_spend",
        "lapse_state",
        "external_id",
    }
    assert (body["phone"], body["email"]) == (member.phone, member.email)


def test_enrol_with_an_idempotency_key_replays_the_first_answer_to_a_retry(api):
    body = {"phone": "13800138009", "name": "李"}

    first = api.post("/api/v1/members/", body, format="json", HTTP_IDEMPOTENCY_KEY="enrol-1")
    retry = api.post("/api/v1/members/", body, format="json", HTTP_IDEMPOTENCY_KEY="enrol-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    assert Member.objects.filter(phone="+8613800138009").count() == 1
