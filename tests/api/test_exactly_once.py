"""Every POS write is exactly once: an Idempotency-Key retry gets the first answer, and a
redemption receipt spends once per store whatever the keys."""

import pytest
from rest_framework.test import APIClient

from feedback.models import Complaint, Feedback
from members.models import Member
from rewards.models import LedgerEntry, Redemption, Reward, RewardKind
from tests.api.helpers import post
from tests.concurrency import run_concurrently
from tests.factories import buy
from tests.ledger_checks import assert_ledger_consistent


def _replayed(first, retry):
    return retry.status_code == first.status_code and retry.content == first.content and retry["Idempotent-Replayed"]


@pytest.mark.django_db
def test_a_retried_redemption_cancel_gets_the_first_answer_not_409(api, member):
    buy(member, api.store, "300.00")
    rid = post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": 5, "receipt_id": "C1"}).json()[
        "id"
    ]

    first = post(api, f"/api/v1/redemptions/{rid}/cancel/", {}, key="cancel-1")
    retry = post(api, f"/api/v1/redemptions/{rid}/cancel/", {}, key="cancel-1")

    assert first.status_code == 200 and _replayed(first, retry)
    assert LedgerEntry.objects.filter(redemption__public_id=rid, kind="reverse").count() == 1
    assert Member.objects.get(pk=member.pk).points_balance == 30


@pytest.mark.django_db
def test_a_redemption_cancel_without_a_key_still_works_and_a_second_is_409(api, member):
    buy(member, api.store, "300.00")
    rid = post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": 5, "receipt_id": "C2"}).json()[
        "id"
    ]

    first = post(api, f"/api/v1/redemptions/{rid}/cancel/", {}, key=False)
    second = post(api, f"/api/v1/redemptions/{rid}/cancel/", {}, key=False)

    assert (first.status_code, second.status_code, second.json()["code"]) == (200, 409, "already_cancelled")


@pytest.mark.django_db
def test_a_retried_voucher_cancel_gets_the_first_answer_not_409(api, member):
    buy(member, api.store, "300.00")
    reward = Reward.objects.create(name="Mug", kind=RewardKind.EVENT, cost_points=20, stock=5)
    code = post(api, f"/api/v1/rewards/{reward.pk}/redeem/", {"member": member.card_number}).json()["code"]

    first = post(api, f"/api/v1/vouchers/{code}/cancel/", {}, key="vc-1")
    retry = post(api, f"/api/v1/vouchers/{code}/cancel/", {}, key="vc-1")

    assert first.status_code == 200 and _replayed(first, retry)
    assert Member.objects.get(pk=member.pk).points_balance == 30
    assert Reward.objects.get(pk=reward.pk).stock == 5


@pytest.mark.django_db
def test_a_retried_voucher_consume_gets_the_first_answer_not_409(api, member):
    buy(member, api.store, "300.00")
    reward = Reward.objects.create(name="Mug", kind=RewardKind.EVENT, cost_points=20, stock=5)
    code = post(api, f"/api/v1/rewards/{reward.pk}/redeem/", {"member": member.card_number}).json()["code"]

    first = post(api, f"/api/v1/vouchers/{code}/consume/", {"receipt_id": "T1"}, key="use-1")
    retry = post(api, f"/api/v1/vouchers/{code}/consume/", {"receipt_id": "T1"}, key="use-1")

    assert first.status_code == 200 and _replayed(first, retry)


@pytest.mark.django_db
def test_a_retried_feedback_is_recorded_once(api, member):
    body = {"member": member.card_number, "nps": 9, "comment": "Great"}

    first = post(api, "/api/v1/feedback/", body, key="fb-1")
    retry = post(api, "/api/v1/feedback/", body, key="fb-1")

    assert first.status_code == 201 and _replayed(first, retry)
    assert Feedback.objects.count() == 1


@pytest.mark.django_db
def test_a_retried_complaint_is_filed_once(api, member):
    body = {"member": member.card_number, "category": "service", "severity": "medium", "text": "Slow"}

    first = post(api, "/api/v1/complaints/", body, key="cp-1")
    retry = post(api, "/api/v1/complaints/", body, key="cp-1")

    assert first.status_code == 201 and _replayed(first, retry)
    assert Complaint.objects.count() == 1


@pytest.mark.django_db
def test_a_second_redemption_on_the_same_receipt_is_409_with_the_first_id(api, member):
    buy(member, api.store, "300.00")
    body = {"member": member.card_number, "points": 5, "receipt_id": "SAME"}

    first = post(api, "/api/v1/redemptions/", body, key="k-1")
    second = post(api, "/api/v1/redemptions/", body, key="k-2")

    assert first.status_code == 201
    assert (second.status_code, second.json()["code"], second.json()["id"]) == (
        409,
        "duplicate_receipt",
        first.json()["id"],
    )
    assert Member.objects.get(pk=member.pk).points_balance == 25


@pytest.mark.django_db
def test_the_same_receipt_id_at_another_store_is_another_redemption(api, member):
    from tests.api.test_store_access import _client_for
    from tests.factories import StoreFactory

    buy(member, api.store, "300.00")
    body = {"member": member.card_number, "points": 5, "receipt_id": "SAME"}

    assert post(api, "/api/v1/redemptions/", body).status_code == 201
    assert post(_client_for(StoreFactory()), "/api/v1/redemptions/", body).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_on_one_receipt_with_different_keys_spend_once(api, member):
    buy(member, api.store, "300.00")
    body = {"member": member.card_number, "points": 5, "receipt_id": "RACE"}

    def redeem(i):
        client = APIClient()
        client.credentials(**api._credentials)
        return post(client, "/api/v1/redemptions/", body, key=f"race-{i}")

    answers = run_concurrently(redeem, 6)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409, 409, 409]
    winner = next(a for a in answers if a.status_code == 201).json()["id"]
    assert {a.json()["id"] for a in answers if a.status_code == 409} == {winner}
    assert Redemption.objects.count() == 1
    assert Member.objects.get(pk=member.pk).points_balance == 25
    assert assert_ledger_consistent(member.pk) == 25
