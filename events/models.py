"""What happened to a member, one row per change, written in the change's own transaction.

The floor of the project: any app may record an event (`events.record`), and the `webhooks` app
on top hands them on. Nothing here imports another app of the project.
"""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .types import EventType


class Event(models.Model):
    """One thing that happened, exactly once: the row exists if and only if its change committed
    (it is inserted in the same transaction). `sequence` numbers a member's events 1, 2, 3... in
    commit order; a database trigger sets it from `MemberEventSequence` (see migration 0001), so
    recording an event is one INSERT whatever the concurrency."""

    # A bigint key keeps the deliveries' foreign keys and indexes small; `uuid` is the public id
    # (the `webhook-id` a receiver de-duplicates on).
    uuid = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=64, choices=EventType.choices)
    # No foreign key: this app sits below `members` (and an event outlives nothing it names).
    member_id = models.BigIntegerField(_("member"), null=True, blank=True)
    sequence = models.BigIntegerField(_("sequence"), null=True, blank=True, editable=False)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    payload = models.JSONField(_("payload"), encoder=DjangoJSONEncoder)
    schema_version = models.PositiveSmallIntegerField(_("schema version"), default=1)
    # Set once the webhooks fan-out has made this event's deliveries.
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.UniqueConstraint(fields=["member_id", "sequence"], name="event_member_sequence_unique"),
        ]
        indexes = [
            # The fan-out reads only what it has not handed on yet: a small partial index.
            models.Index(fields=["id"], condition=Q(dispatched_at__isnull=True), name="event_undispatched"),
            models.Index(fields=["type", "occurred_at"], name="event_type_occurred"),
        ]

    def __str__(self):
        return f"{self.type} {self.uuid}"


class MemberEventSequence(models.Model):
    """The last sequence number given to a member's events. The trigger upserts this row, so its
    row lock (held to commit) orders one member's events by commit and numbers them without gaps."""

    member_id = models.BigIntegerField(_("member"), primary_key=True)
    last = models.BigIntegerField(_("last sequence number"))

    class Meta:
        verbose_name = _("member event sequence")
        verbose_name_plural = _("member event sequences")

    def __str__(self):
        return f"{self.member_id}: {self.last}"
