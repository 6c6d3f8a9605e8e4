"""Who may act on what another store made (stores/access.py): the chain shares members, returns
and vouchers; a redemption and the cancelling of a voucher belong to the store that made them."""

import pytest
from rest_framework.test import APIClient

from members.models import Member, Return
from rewards.models import Redemption, Reward, RewardKind, Voucher
from tests.api.helpers import post
from tests.factories import StoreFactory, buy, create_api_key

pytestmark = pytest.mark.django_db


def _client_for(store, **scopes):
    _key, raw = create_api_key(store, **scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.store = store
    return client


@pytest.fixture
def other_store_api():
    return _client_for(StoreFactory())


@pytest.fixture
def head_office_api():
    return _client_for(StoreFactory(), chain_wide=True)


@pytest.fixture
def redemption(api, member):
    buy(member, api.store, "300.00")
    body = post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": 10, "receipt_id": "A-1"}).json()
    return Redemption.objects.get(public_id=body["id"])


@pytest.fixture
def voucher(api, member):
    buy(member, api.store, "300.00")
    reward = Reward.objects.create(name="Barista class", kind=RewardKind.EVENT, cost_points=20, stock=5)
    code = post(api, f"/api/v1/rewards/{reward.pk}/redeem/", {"member": member.card_number}).json()["code"]
    return Voucher.objects.get(code=code)


def _balance(member):
    return Member.objects.get(pk=member.pk).points_balance


def test_a_purchase_is_returned_at_another_store_and_the_return_records_that_store(api, member, other_store_api):
    purchase = buy(member, api.store, "100.00")

    response = post(
        other_store_api, f"/api/v1/purchases/{purchase.public_id}/returns/", {"amount": "50.00", "receipt_id": "B-R1"}
    )

    assert response.status_code == 201
    assert Return.objects.get().store == other_store_api.store


def test_another_store_cannot_cancel_a_redemption_it_did_not_make(other_store_api, redemption, member):
    balance = _balance(member)

    response = post(other_store_api, f"/api/v1/redemptions/{redemption.public_id}/cancel/", {})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Redemption.objects.get(pk=redemption.pk).status == "completed"
    assert _balance(member) == balance


def test_another_stores_redemption_and_a_missing_one_look_the_same(other_store_api, redemption):
    theirs = other_store_api.get(f"/api/v1/redemptions/{redemption.public_id}/")
    missing = other_store_api.get("/api/v1/redemptions/00000000-0000-4000-8000-000000000000/")

    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())


def test_a_store_reads_its_own_redemption(api, redemption):
    response = api.get(f"/api/v1/redemptions/{redemption.public_id}/")

    assert (response.status_code, response.json()["points_redeemed"]) == (200, 10)


def test_a_chain_wide_key_reads_and_cancels_another_stores_redemption(head_office_api, redemption, member):
    balance = _balance(member)

    assert head_office_api.get(f"/api/v1/redemptions/{redemption.public_id}/").status_code == 200
    response = post(head_office_api, f"/api/v1/redemptions/{redemption.public_id}/cancel/", {})

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert _balance(member) == balance + 10


def test_a_voucher_is_shown_and_used_at_any_store(other_store_api, voucher):
    shown = other_store_api.get(f"/api/v1/vouchers/{voucher.code}/")
    used = post(other_store_api, f"/api/v1/vouchers/{voucher.code}/consume/", {"receipt_id": "B-2"})

    assert shown.status_code == 200
    assert (used.status_code, used.json()["status"]) == (200, "used")
    assert Voucher.objects.get(pk=voucher.pk).used_store == other_store_api.store


def test_another_store_cannot_cancel_a_voucher_it_did_not_issue(other_store_api, voucher, member):
    balance = _balance(member)

    response = post(other_store_api, f"/api/v1/vouchers/{voucher.code}/cancel/", {})

    assert (response.status_code, response.json()["code"]) == (403, "other_store")
    assert Voucher.objects.get(pk=voucher.pk).status == "issued"
    assert _balance(member) == balance


def test_the_issuing_store_cancels_its_voucher(api, voucher, member):
    balance = _balance(member)

    response = post(api, f"/api/v1/vouchers/{voucher.code}/cancel/", {})

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert _balance(member) == balance + 20


def test_a_chain_wide_key_cancels_another_stores_voucher(head_office_api, voucher):
    response = post(head_office_api, f"/api/v1/vouchers/{voucher.code}/cancel/", {})

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")


def test_a_voucher_no_store_issued_is_cancelled_only_with_a_chain_wide_key(api, head_office_api, voucher):
    Voucher.objects.filter(pk=voucher.pk).update(issued_store=None)  # as a campaign issues it

    refused = post(api, f"/api/v1/vouchers/{voucher.code}/cancel/", {})
    allowed = post(head_office_api, f"/api/v1/vouchers/{voucher.code}/cancel/", {})

    assert (refused.status_code, allowed.status_code) == (403, 200)
