from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from members.models import Member
from rewards.models import Reward, RewardKind, Voucher
from tests.api.helpers import post
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory, buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial():
    return Reward.objects.create(name="Barista class", kind=RewardKind.EVENT, cost_points=20, stock=5)


def test_list_rewards_for_a_member(api, member, trial):
    buy(member, api.store, "300.00")

    response = api.get(f"/api/v1/rewards/?member={member.card_number}")

    assert response.status_code == 200
    assert [(r["id"], r["name"], r["kind"], r["cost_points"]) for r in response.json()] == [
        (trial.pk, "Barista class", "event", 20)
    ]


def test_list_rewards_needs_a_member(api):
    assert api.get("/api/v1/rewards/").status_code == 400


def test_redeem_returns_the_voucher_and_a_retry_replays_it(api, member, trial):
    buy(member, api.store, "300.00")

    first = post(api, f"/api/v1/rewards/{trial.pk}/redeem/", {"member": member.card_number}, key="v-1")
    again = post(api, f"/api/v1/rewards/{trial.pk}/redeem/", {"member": member.card_number}, key="v-1")

    assert first.status_code == 201 and again.json() == first.json()
    body = first.json()
    assert body["status"] == "issued" and body["points_balance"] == 10 and body["reward"]["name"] == "Barista class"
    assert Voucher.objects.count() == 1


def test_voucher_lookup_consume_and_errors(api, member, trial):
    buy(member, api.store, "300.00")
    code = post(api, f"/api/v1/rewards/{trial.pk}/redeem/", {"member": member.card_number}).json()["code"]

    assert api.get(f"/api/v1/vouchers/{code.lower()}/").json()["code"] == code
    used = post(api, f"/api/v1/vouchers/{code}/consume/", {"receipt_id": "T-1"})
    again = post(api, f"/api/v1/vouchers/{code}/consume/", {"receipt_id": "T-2"})

    assert used.status_code == 200 and used.json()["status"] == "used"
    assert (again.status_code, again.json()["code"]) == (409, "voucher_used")
    assert api.get("/api/v1/vouchers/NOPE/").status_code == 404


def test_expired_voucher_is_410(api, member, trial):
    from datetime import timedelta

    from django.utils import timezone

    buy(member, api.store, "300.00")
    code = post(api, f"/api/v1/rewards/{trial.pk}/redeem/", {"member": member.card_number}).json()["code"]
    Voucher.objects.filter(code=code).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert post(api, f"/api/v1/vouchers/{code}/consume/", {"receipt_id": "T"}).status_code == 410


def test_cancel_an_unused_voucher_returns_points(api, member, trial):
    buy(member, api.store, "300.00")
    code = post(api, f"/api/v1/rewards/{trial.pk}/redeem/", {"member": member.card_number}).json()["code"]

    response = api.post(f"/api/v1/vouchers/{code}/cancel/")

    assert (response.status_code, response.json()["status"], response.json()["points_balance"]) == (
        200,
        "cancelled",
        30,
    )


def test_redeem_with_too_few_points_is_400(api, member, trial):
    response = post(api, f"/api/v1/rewards/{trial.pk}/redeem/", {"member": member.card_number})

    assert (response.status_code, response.json()["code"]) == (400, "insufficient_points")


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_redeems_never_oversell_stock(api):
    reward = Reward.objects.create(name="Limited mug", kind=RewardKind.FREE_PRODUCT, cost_points=10, stock=7)
    members = [MemberFactory() for _ in range(50)]
    for member in members:
        buy(member, api.store, "100.00")
    credentials = api._credentials

    def redeem(i):
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(**credentials)
        return post(client, f"/api/v1/rewards/{reward.pk}/redeem/", {"member": members[i].card_number})

    answers = run_concurrently(redeem, 50)

    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 7 and set(statuses) == {201, 409}
    assert Reward.objects.get(pk=reward.pk).stock == 0
    assert Voucher.objects.count() == 7
    assert (
        sum(Member.objects.filter(pk__in=[m.pk for m in members]).values_list("points_balance", flat=True))
        == 50 * 10 - 7 * 10
    )


def test_a_discount_reward_shows_its_amount_off(api, member):
    discount = Reward.objects.create(name="10 yuan off", kind=RewardKind.DISCOUNT, cost_points=10, value=Decimal(10))
    buy(member, api.store, "300.00")

    response = api.get(f"/api/v1/rewards/?member={member.card_number}")

    assert [(r["id"], r["kind"], r["value"]) for r in response.json()] == [(discount.pk, "discount", "10.00")]


def test_the_database_refuses_a_discount_without_a_value():
    with pytest.raises(IntegrityError, match="reward_discount_has_value"), transaction.atomic():
        Reward.objects.create(name="Some off", kind=RewardKind.DISCOUNT, cost_points=10)

    assert not Reward.objects.exists()


def test_admin_refuses_a_discount_without_a_value_as_a_form_error(admin_client_logged):
    response = admin_client_logged.post(
        reverse("admin:rewards_reward_add"),
        {"name": "Some off", "kind": "discount", "cost_points": "10", "stages": "[]", "voucher_valid_days": "30"},
    )

    assert response.status_code == 200
    assert "A discount needs its currency value (the amount off)." in response.content.decode()
    assert not Reward.objects.exists()
