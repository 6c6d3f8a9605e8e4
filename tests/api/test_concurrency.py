"""Real threads against PostgreSQL: retries never earn twice, redemptions never overdraw."""

import pytest
from rest_framework.test import APIClient

from members.models import Member, Purchase
from rewards.models import LedgerEntry, Redemption
from tests.api.helpers import post, purchase_body
from tests.concurrency import run_concurrently
from tests.factories import buy
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db(transaction=True)


def _client(api):
    client = APIClient()
    client.credentials(**api._credentials)
    return client


def test_three_concurrent_replays_of_one_purchase_write_one_entry(api, member):
    body = purchase_body(member, "80.00")

    answers = run_concurrently(lambda i: post(_client(api), "/api/v1/purchases/", body, key="same-key"), 3)

    statuses = [a.status_code for a in answers]
    assert all(s in (201, 409) for s in statuses), statuses
    assert len({a.content for a in answers if a.status_code == 201}) == 1
    assert Purchase.objects.count() == 1
    assert LedgerEntry.objects.filter(member=member).count() == 1
    assert assert_ledger_consistent(member.pk) == 8


def test_fifty_concurrent_redemptions_never_overdraw(api, member):
    buy(member, api.store, "1000.00")  # 100 points; 50 x 3 would need 150

    answers = run_concurrently(
        lambda i: post(
            _client(api), "/api/v1/redemptions/", {"member": member.card_number, "points": 3, "receipt_id": f"S{i}"}
        ),
        50,
    )

    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) == {201, 400}
    assert statuses.count(201) == 33
    assert Redemption.objects.count() == 33
    assert Member.objects.get(pk=member.pk).points_balance == 1
    assert assert_ledger_consistent(member.pk) == 1


def test_concurrent_purchases_and_redemptions_keep_the_ledger_exact(api, member):
    buy(member, api.store, "300.00")

    def act(i):
        if i % 2:
            return post(_client(api), "/api/v1/purchases/", purchase_body(member, "40.00"))
        return post(
            _client(api), "/api/v1/redemptions/", {"member": member.card_number, "points": 5, "receipt_id": f"S{i}"}
        )

    answers = run_concurrently(act, 20)

    assert all(a.status_code in (201, 400) for a in answers)
    earned = sum(a.json()["points_earned"] for a in answers if "points_earned" in a.json())
    redeemed = sum(a.json()["points_redeemed"] for a in answers if "points_redeemed" in a.json())
    assert assert_ledger_consistent(member.pk) == 30 + earned - redeemed
