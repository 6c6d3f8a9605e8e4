"""Locks take no more than they need, so a till and a batch can't wait on each other in a circle."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.locking import member_lock
from rewards.catalog import voucher_consume
from rewards.models import Reward, RewardKind, Voucher
from tests.factories import MemberFactory, StoreFactory


def _voucher(member, reward, code):
    return Voucher.objects.create(
        code=code, reward=reward, member=member, expires_at=timezone.now() + timedelta(days=30)
    )


@pytest.mark.django_db(transaction=True)
def test_a_locked_member_still_lets_another_transaction_insert_rows_that_reference_it():
    member = MemberFactory()
    reward = Reward.objects.create(name="Mug", kind=RewardKind.FREE_PRODUCT, cost_points=1)
    locked, done = threading.Event(), threading.Event()

    def till():
        try:
            with transaction.atomic():
                member_lock(member.pk)
                locked.set()
                done.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=till)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            _voucher(member, reward, "LOCKSCOPE0001")  # a FOR UPDATE lock would make this time out
    finally:
        done.set()
        holder.join()

    assert Voucher.objects.filter(member=member).count() == 1


@pytest.mark.django_db
def test_consuming_a_voucher_locks_the_member_then_the_voucher_row_only():
    member = MemberFactory()
    voucher = _voucher(member, Reward.objects.create(name="Mug", kind=RewardKind.FREE_PRODUCT, cost_points=1), "V1")

    with CaptureQueriesContext(connection) as queries:
        voucher_consume(voucher=voucher, store=StoreFactory(), receipt_id="R-1")

    locking = [q["sql"].rsplit(" FOR ", 1)[1] for q in queries if " FOR " in q["sql"]]
    assert locking == ['NO KEY UPDATE OF "members_member"', 'UPDATE OF "rewards_voucher"']
