"""Claims and fan-outs that overlap (two pumps at once, real threads) never share a delivery."""

import threading

import pytest
from django.db import connection

from events import services as events
from events.types import EventType
from tests.factories import MemberFactory
from webhooks.models import Delivery
from webhooks.services import deliveries_claim, endpoint_create, events_fan_out

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(function, threads=4):
    results, start = [], threading.Barrier(threads)

    def run():
        try:
            start.wait()
            results.append(function())
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_overlapping_fan_outs_and_claims_hand_out_each_delivery_once():
    endpoint_create(url="https://crm.example.com/hook", event_types=[])
    members = [MemberFactory() for _ in range(5)]
    for _ in range(6):
        for member in members:
            events.record(EventType.MEMBER_UPDATED, member=member, data={"fields": []})

    while sum(at_once(events_fan_out)):
        pass
    claims = at_once(lambda: deliveries_claim(limit=200))

    claimed = [delivery_id for claim in claims for delivery_id in claim]
    assert Delivery.objects.count() == 30
    assert len(claimed) == len(set(claimed)) == 30
    # Each member's deliveries went to one claim, whole and in order.
    for member in members:
        owners = {i for i, claim in enumerate(claims) if Delivery.objects.filter(pk__in=claim, member_id=member.pk)}
        assert len(owners) == 1
