"""Real processes: a receiver on 127.0.0.1 and Celery workers against the real broker. The test
plays beat, queueing `webhooks.pump` twice a second."""

import time
from collections import defaultdict

import pytest

from events import services as events
from events.models import Event
from events.types import EventType
from tests.factories import MemberFactory
from tests.jobs.workers import forget_messages, start_worker, stop_worker
from tests.webhooks.processes import Receiver
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import endpoint_create
from webhooks.tasks import pump

pytestmark = pytest.mark.django_db(transaction=True)

FAST_RETRIES = {"WEBHOOK_RETRY_BASE_SECONDS": "1", "WEBHOOK_RETRY_CAP_SECONDS": "2"}


def pump_until(done, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        pump.delay()
        time.sleep(0.5)
    raise AssertionError(f"not done within {timeout}s")


def first_arrivals(receiver) -> dict[str, list[int]]:
    """Each member's sequence numbers in the order they first arrived (duplicates left out)."""
    arrived = defaultdict(list)
    for accepted in receiver.accepted():
        if not accepted["duplicate"]:
            arrived[accepted["member_id"]].append(accepted["sequence"])
    return arrived


@pytest.fixture
def workers():
    forget_messages()
    started = []
    yield lambda **env: started.append(start_worker(**env)) or started[-1]
    for process in started:
        if process.poll() is None:
            stop_worker(process)
    forget_messages()


def test_a_receiver_down_for_a_while_gets_everything_in_order_once_back(workers, tmp_path):
    receiver = Receiver("", tmp_path / "accepted.jsonl")
    _, receiver.secret = endpoint_create(url=receiver.url, event_types=[])
    members = [MemberFactory() for _ in range(5)]
    for _ in range(4):
        for member in members:
            events.record(EventType.MEMBER_UPDATED, member=member, data={"fields": ["name"]})
    workers(**FAST_RETRIES)

    # Down: every first delivery fails and is retried; nothing behind it is tried.
    pump_until(lambda: Delivery.objects.filter(attempts__gte=2).count() >= 5)
    assert not Delivery.objects.filter(status=DeliveryStatus.DELIVERED).exists()
    receiver.start()
    try:
        pump_until(lambda: not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists())
    finally:
        receiver.stop()

    arrived = first_arrivals(receiver)
    assert dict(arrived) == {str(member.public_id): [1, 2, 3, 4] for member in members}
    assert {a["id"] for a in receiver.accepted()} == {str(u) for u in Event.objects.values_list("uuid", flat=True)}


def test_a_delivery_whose_worker_is_killed_mid_request_is_sent_again(workers, tmp_path, member):
    receiver = Receiver("", tmp_path / "accepted.jsonl", delay=3)
    _, receiver.secret = endpoint_create(url=receiver.url, event_types=[])
    receiver.start()
    lease = {"WEBHOOK_LEASE_SECONDS": "8"}
    try:
        event = events.record(EventType.MEMBER_UPDATED, member=member, data={"fields": ["name"]})
        doomed = workers(**lease)
        pump_until(lambda: Delivery.objects.filter(status=DeliveryStatus.SENDING).exists(), timeout=60)
        time.sleep(1)  # the request is in flight: the receiver waits 3 s before answering
        doomed.kill()
        doomed.wait(timeout=10)
        forget_messages()  # the killed worker's unacknowledged task would come back only after an hour
        assert Delivery.objects.get().status == DeliveryStatus.SENDING

        workers(**lease)
        pump_until(lambda: Delivery.objects.get().status == DeliveryStatus.DELIVERED)
    finally:
        receiver.stop()

    delivery = Delivery.objects.get()
    # The dead worker's attempt died with it; the second worker's is the one on record.
    assert (delivery.attempts, delivery.attempt_log.count(), delivery.last_status_code) == (1, 1, 204)
    ids = [a["id"] for a in receiver.accepted()]
    assert set(ids) == {str(event.uuid)} and len(ids) in (1, 2)  # the first request may have landed too
