"""Queueing messages to members. Sending (email/SMS backends, retries) comes with campaigns."""

from .models import MessageChannel, OutboxMessage


def preferred_channel(member) -> str:
    return MessageChannel.EMAIL if member.email else MessageChannel.SMS


def message_queue_many(messages: list[dict]) -> int:
    """Queue messages given as dicts of OutboxMessage fields (channel defaults to the member's
    preferred one). A message whose `dedupe_key` is already queued is skipped; returns how many
    were new."""
    if not messages:
        return 0
    keys = [m["dedupe_key"] for m in messages]
    existing = set(OutboxMessage.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    fresh = [
        OutboxMessage(
            channel=m.get("channel") or preferred_channel(m["member"]), **{k: v for k, v in m.items() if k != "channel"}
        )
        for m in messages
        if m["dedupe_key"] not in existing
    ]
    OutboxMessage.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)
