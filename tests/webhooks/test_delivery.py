"""Delivery to a real receiver process: signed, in order per member, retried, stopped when told."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from events import services as events
from events.types import EventType
from messaging.models import OutboxMessage
from tests.factories import MemberFactory
from tests.webhooks.conftest import deliver_all
from tests.webhooks.processes import Receiver
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Endpoint
from webhooks.services import (
    deliveries_claim,
    deliveries_replay,
    deliveries_replay_failed,
    endpoint_create,
    endpoint_resume,
    endpoint_secret_rotate,
    endpoint_test_send,
    events_fan_out,
)

pytestmark = pytest.mark.django_db

CLOSED_PORT_URL = "http://127.0.0.1:9/hook"  # discard port: nothing listens, the connection is refused


def updated(member, n=1):
    for _ in range(n):
        events.record(EventType.MEMBER_UPDATED, member=member, data={"fields": ["name"]})


def test_an_event_arrives_signed_and_verified_by_standardwebhooks(receiver, member):
    updated(member)

    assert deliver_all()["delivered"] == 1

    (accepted,) = receiver.accepted()
    assert (accepted["type"], accepted["member_id"], accepted["sequence"]) == (
        "member.updated",
        str(member.public_id),
        1,
    )
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 1, 204)


def test_a_badly_signed_request_is_refused_by_the_receiver_and_retried(tmp_path, member):
    endpoint, _ = endpoint_create(url="http://127.0.0.1:1/x", event_types=[])
    stranger = Receiver("whsec_" + "A" * 43, tmp_path / "log.jsonl").start()
    Endpoint.objects.filter(pk=endpoint.pk).update(url=stranger.url)
    try:
        updated(member)
        assert deliver_all() == {"delivered": 0, "retry": 1, "failed": 0, "released": 0}
    finally:
        stranger.stop()

    assert stranger.accepted() == []
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 401)


def test_each_members_events_arrive_in_sequence(receiver):
    members = [MemberFactory() for _ in range(3)]
    for _ in range(4):
        for member in members:
            updated(member)

    deliver_all()

    accepted = receiver.accepted()
    for member in members:
        mine = [a["sequence"] for a in accepted if a["member_id"] == str(member.public_id)]
        assert mine == [1, 2, 3, 4]


def test_a_later_event_waits_while_an_earlier_one_is_retried(member):
    endpoint_create(url=CLOSED_PORT_URL, event_types=[])
    updated(member, 2)

    deliver_all()

    first, second = Delivery.objects.order_by("sequence")
    assert (first.status, first.attempts) == (DeliveryStatus.PENDING, 1)
    assert first.next_attempt_at > timezone.now()
    assert (second.status, second.attempts) == (DeliveryStatus.PENDING, 0)
    assert DeliveryAttempt.objects.filter(delivery=second).count() == 0
    assert deliveries_claim() == []


def test_only_subscribed_types_are_delivered(receiver, member):
    Endpoint.objects.filter(pk=receiver.endpoint.pk).update(event_types=[EventType.MEMBER_SUSPENDED])
    updated(member)
    events.record(EventType.MEMBER_SUSPENDED, member=member, data={"reason": "x"})

    deliver_all()

    assert [a["type"] for a in receiver.accepted()] == ["member.suspended"]


def test_fan_out_twice_makes_each_delivery_once(member):
    endpoint_create(url=CLOSED_PORT_URL, event_types=[])
    updated(member)

    assert events_fan_out() == 1
    assert events_fan_out() == 0
    assert Delivery.objects.count() == 1


def test_retries_back_off_then_give_up_after_three_days(member):
    endpoint_create(url=CLOSED_PORT_URL, event_types=[])
    updated(member)
    start = timezone.now()
    gaps = []
    with time_machine.travel(start, tick=False) as clock:
        deliver_all()
        while (delivery := Delivery.objects.get()).status == DeliveryStatus.PENDING:
            gaps.append(delivery.next_attempt_at - timezone.now())
            clock.move_to(delivery.next_attempt_at)
            Endpoint.objects.update(paused_at=None, failing_since=None)  # keep the pause out of this test
            deliver_all()
        given_up_after = timezone.now() - start

    assert delivery.status == DeliveryStatus.FAILED
    assert timedelta(hours=72) <= given_up_after < timedelta(hours=72 + 6)
    assert gaps[0] <= timedelta(seconds=10) < gaps[3]  # base 10 s, doubling
    assert max(gaps) <= timedelta(hours=6)  # capped


def test_a_410_disables_the_endpoint_and_tells_its_owner(tmp_path, member, staff_user):
    endpoint, secret = endpoint_create(url="http://127.0.0.1:1/x", event_types=[], owner=staff_user)
    gone = Receiver(secret, tmp_path / "log.jsonl", status=410).start()
    Endpoint.objects.filter(pk=endpoint.pk).update(url=gone.url)
    try:
        updated(member, 2)
        deliver_all()
    finally:
        gone.stop()

    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason) == (False, "The endpoint answered 410 Gone.")
    message = OutboxMessage.objects.get()
    assert message.staff_user == staff_user and gone.url in message.subject
    assert deliveries_claim() == []


def test_failing_for_24_hours_pauses_the_endpoint_once_and_tells_its_owner(member, staff_user):
    endpoint, _ = endpoint_create(url=CLOSED_PORT_URL, event_types=[], owner=staff_user)
    updated(member)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        deliver_all()
        for hours in (12, 23, 24, 25):
            clock.move_to(start + timedelta(hours=hours))
            Delivery.objects.update(next_attempt_at=timezone.now())
            deliver_all()
            endpoint.refresh_from_db()
            assert (endpoint.paused_at is not None) == (hours >= 24), hours

    assert OutboxMessage.objects.filter(staff_user=staff_user).count() == 1
    endpoint_resume(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.paused_at, endpoint.failing_since, endpoint.active) == (None, None, True)


def test_https_is_required_unless_http_is_allowed(settings):
    settings.WEBHOOK_ALLOW_HTTP = False

    with pytest.raises(Exception, match="https") as refused:
        endpoint_create(url="http://example.com/hook", event_types=[])

    assert refused.value.errors == {"url": ["The URL must start with https://."]}
    assert not Endpoint.objects.exists()
    endpoint_create(url="https://example.com/hook", event_types=[])


def test_unknown_event_types_are_refused():
    with pytest.raises(Exception, match=r"Unknown event types: member\.exploded\."):
        endpoint_create(url="https://example.com/hook", event_types=["member.exploded", "member.updated"])


def test_during_a_rotation_both_secrets_sign_and_the_old_one_stops_after_the_overlap(tmp_path, member):
    endpoint, old = endpoint_create(url="http://127.0.0.1:1/x", event_types=[])
    new = endpoint_secret_rotate(endpoint=endpoint, overlap=timedelta(hours=1))
    old_receiver = Receiver(old, tmp_path / "old.jsonl").start()
    new_receiver = Receiver(new, tmp_path / "new.jsonl").start()
    try:
        for receiver in (old_receiver, new_receiver):
            Endpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
            updated(member)
            deliver_all()
        assert [a["signatures"] for a in old_receiver.accepted() + new_receiver.accepted()] == [2, 2]

        with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
            Endpoint.objects.filter(pk=endpoint.pk).update(url=old_receiver.url)
            updated(member)
            deliver_all()
    finally:
        old_receiver.stop()
        new_receiver.stop()

    assert len(old_receiver.accepted()) == 1  # the third event, signed by the new secret only, was refused
    assert Delivery.objects.order_by("sequence").last().last_status_code == 401


def test_replay_sends_a_delivered_event_again_with_the_same_id(receiver, member):
    updated(member)
    deliver_all()

    assert deliveries_replay(deliveries=Delivery.objects.all()) == 1
    deliver_all()

    first, again = receiver.accepted()
    assert first["id"] == again["id"] and again["duplicate"] is True
    assert Delivery.objects.get().attempts == 2


def test_replay_failed_in_a_period_takes_only_given_up_deliveries_in_it(member):
    endpoint, _ = endpoint_create(url=CLOSED_PORT_URL, event_types=[])
    updated(member, 3)
    events_fan_out()
    now = timezone.now()
    first, second, third = Delivery.objects.order_by("sequence")
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(status=DeliveryStatus.FAILED)
    Delivery.objects.filter(pk=second.pk).update(created_at=now - timedelta(days=2))

    replayed = deliveries_replay_failed(endpoint=endpoint, since=now - timedelta(hours=1), until=now + timedelta(1))

    assert replayed == 1
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "pending", second.pk: "failed", third.pk: "pending"}


def test_test_send_delivers_a_test_event_to_that_endpoint_only(receiver):
    other, _ = endpoint_create(url=CLOSED_PORT_URL, event_types=[])

    delivery = endpoint_test_send(endpoint=receiver.endpoint)

    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 204)
    assert [a["type"] for a in receiver.accepted()] == ["webhook.test"]
    events_fan_out()
    assert not Delivery.objects.filter(endpoint=other).exists()
