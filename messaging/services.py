"""Queueing messages in the outbox and sending them, each exactly once or not at all.

A sender claims a message with a conditional UPDATE (pending -> sending) before delivering it,
so two workers never send the same message. A failed delivery goes back to pending with an
exponential back-off; after MAX_ATTEMPTS it is marked failed for staff to look at. A message whose
worker died mid-delivery stays in "sending": it is not retried blindly (that could send twice).
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .backends import DeliveryError, send_email, send_sms
from .models import MessageChannel, MessageStatus, OutboxMessage

MAX_ATTEMPTS = 5
BATCH = 100


def preferred_channel(member) -> str:
    return MessageChannel.EMAIL if member.email else MessageChannel.SMS


def marketing_channel(member) -> str:
    """The channel the member agreed to hear from us on (email first); without consent the
    message is still queued, and the sender records it as skipped."""
    if member.consent_email and member.email:
        return MessageChannel.EMAIL
    if member.consent_sms:
        return MessageChannel.SMS
    return preferred_channel(member)


def message_queue_many(messages: list[dict]) -> int:
    """Queue messages given as dicts of OutboxMessage fields (channel defaults to the member's
    preferred one). A message whose `dedupe_key` is already queued is skipped; returns how many
    were new."""
    if not messages:
        return 0
    existing = dedupe_keys_queued([m["dedupe_key"] for m in messages])
    fresh = [_message(m) for m in messages if m["dedupe_key"] not in existing]
    OutboxMessage.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def dedupe_keys_queued(keys: list[str]) -> set[str]:
    """Which of `keys` a message was queued under already (`message_queue_many` skips those)."""
    return set(OutboxMessage.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))


def _message(fields: dict) -> OutboxMessage:
    fields = dict(fields)
    if not fields.get("channel"):
        fields["channel"] = preferred_channel(fields["member"]) if fields.get("member") else MessageChannel.EMAIL
    return OutboxMessage(**fields)


def _due():
    now = timezone.now()
    return OutboxMessage.objects.filter(status=MessageStatus.PENDING).filter(
        Q(send_after__isnull=True) | Q(send_after__lte=now)
    )


def outbox_send_due(*, limit: int = BATCH) -> int:
    """Send up to `limit` due messages; returns how many were delivered."""
    delivered = 0
    for message_id in _due().order_by("id").values_list("pk", flat=True)[:limit]:
        delivered += message_send(message_id=message_id)
    return delivered


def message_send(*, message_id: int) -> bool:
    claimed = OutboxMessage.objects.filter(pk=message_id, status=MessageStatus.PENDING).update(
        status=MessageStatus.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return False  # another sender has it, or it is no longer pending
    message = OutboxMessage.objects.select_related("member", "staff_user").get(pk=message_id)
    address = _address(message)
    if address is None:
        _finish(message, MessageStatus.SKIPPED, "no consent or no address for this channel")
        return False
    try:
        if message.channel == MessageChannel.EMAIL:
            send_email(to=address, subject=message.subject, body=message.body)
        else:
            send_sms(phone=address, text=f"{message.subject}: {message.body}")
    except DeliveryError as exc:
        _retry_later(message, str(exc))
        return False
    _finish(message, MessageStatus.SENT)
    return True


def _address(message: OutboxMessage) -> str | None:
    if message.staff_user_id:
        return message.staff_user.email or None
    member = message.member
    if message.channel == MessageChannel.EMAIL:
        allowed = member.consent_email or not message.marketing
        return member.email if allowed and member.email else None
    allowed = member.consent_sms or not message.marketing
    return member.phone if allowed else None


def _finish(message: OutboxMessage, status: str, error: str = "") -> None:
    sent_at = timezone.now() if status == MessageStatus.SENT else None
    OutboxMessage.objects.filter(pk=message.pk).update(status=status, sent_at=sent_at, last_error=error[:300])


def _retry_later(message: OutboxMessage, error: str) -> None:
    attempts = message.attempts
    if attempts >= MAX_ATTEMPTS:
        _finish(message, MessageStatus.FAILED, error)
        return
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.PENDING,
        send_after=timezone.now() + timedelta(minutes=2**attempts),
        last_error=error[:300],
    )


@transaction.atomic
def messages_queue_for_staff(*, users, kind: str, dedupe_prefix: str, subject: str, body: str) -> int:
    return message_queue_many(
        [
            {
                "staff_user": user,
                "kind": kind,
                "channel": MessageChannel.EMAIL,
                "dedupe_key": f"{dedupe_prefix}:{user.pk}",
                "subject": subject,
                "body": body,
            }
            for user in users
        ]
    )
