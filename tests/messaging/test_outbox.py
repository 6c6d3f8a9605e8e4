from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from messaging.models import MessageStatus, OutboxMessage
from messaging.services import MAX_ATTEMPTS, message_queue_many, outbox_send_due
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


class FailingSms:
    def send(self, *, phone, text):
        raise OSError("gateway down")


def queue(member, **fields):
    message_queue_many(
        [{"member": member, "kind": "test", "dedupe_key": f"k{member.pk}", "subject": "Hi", "body": "Hello", **fields}]
    )
    return OutboxMessage.objects.get(dedupe_key=f"k{member.pk}")


def test_a_due_email_is_sent_once():
    message = queue(MemberFactory(email="a@example.com"))

    assert outbox_send_due() == 1
    assert outbox_send_due() == 0

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["a@example.com"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 1


def test_the_same_dedupe_key_is_queued_once():
    member = MemberFactory()
    queue(member)

    assert (
        message_queue_many(
            [{"member": member, "kind": "test", "dedupe_key": f"k{member.pk}", "subject": "x", "body": "y"}]
        )
        == 0
    )


def test_marketing_needs_consent_for_the_channel():
    message = queue(MemberFactory(email="a@example.com", consent_email=False), marketing=True)

    outbox_send_due()

    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED and not mail.outbox


def test_service_messages_need_no_marketing_consent():
    queue(MemberFactory(email="a@example.com", consent_email=False), marketing=False)

    assert outbox_send_due() == 1


def test_a_failed_delivery_is_retried_later_then_given_up(settings):
    settings.SMS_BACKEND = "tests.messaging.test_outbox.FailingSms"
    message = queue(MemberFactory(email=""), channel="sms")

    outbox_send_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING and message.send_after > timezone.now()
    assert outbox_send_due() == 0  # not due yet

    for _ in range(MAX_ATTEMPTS):
        OutboxMessage.objects.filter(pk=message.pk).update(send_after=timezone.now() - timedelta(seconds=1))
        outbox_send_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "gateway down" in message.last_error


def test_a_message_being_sent_elsewhere_is_not_sent_again():
    message = queue(MemberFactory(email="a@example.com"))
    OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING)

    assert outbox_send_due() == 0 and not mail.outbox
