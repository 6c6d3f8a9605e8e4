"""Double taps and parallel code requests, in real threads with their own connections."""

import uuid

import pytest

from members.models import Member
from portal import services
from portal.models import OneTimeCode
from rewards.models import Reward, RewardKind, Voucher
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory, StoreFactory, buy

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_simultaneous_taps_with_one_token_redeem_once():
    member = MemberFactory()
    buy(member, StoreFactory(), "1000.00")
    reward = Reward.objects.create(name="Tasting", kind=RewardKind.EXPERIENCE, cost_points=30)
    token = uuid.uuid4()

    vouchers = run_concurrently(
        lambda _i: services.portal_reward_redeem(member=Member(pk=member.pk), reward_id=reward.pk, token=token).pk, 2
    )

    assert vouchers[0] == vouchers[1]
    assert (Voucher.objects.count(), Member.objects.get(pk=member.pk).points_balance) == (1, 70)


def test_parallel_requests_for_one_phone_never_pass_the_hourly_limit():
    member = MemberFactory()

    def ask(i):
        try:
            services.code_request(phone=member.phone, client_ip=f"10.0.0.{i}")
        except services.TooManyCodes:
            return "refused"
        return "sent"

    results = run_concurrently(ask, 8)

    assert sorted(results) == ["refused"] * 3 + ["sent"] * 5
    assert OneTimeCode.objects.filter(phone=member.phone).count() == 5
