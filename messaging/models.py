"""The outbox: every message to a member is a row first, sent later by a worker, never twice."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from members.models import Member


class MessageChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (no consent or address)"


class OutboxMessage(models.Model):
    """One message to one member, or to a staff user (escalations). `dedupe_key` makes "send this
    once" a database fact."""

    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40, help_text="What the message is about, e.g. tier_downgrade_notice.")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox_messages"
    )
    marketing = models.BooleanField(
        default=False, help_text="Marketing messages go only to members who consented for the channel."
    )
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    language = models.CharField(max_length=10, default="zh-hans")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    dedupe_key = models.CharField(max_length=120, unique=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    send_after = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="outbox_sent_has_time"),
            models.CheckConstraint(
                condition=Q(member__isnull=False, staff_user__isnull=True)
                | Q(member__isnull=True, staff_user__isnull=False),
                name="outbox_one_recipient",
            ),
        ]
        indexes = [models.Index(fields=["status", "send_after"])]

    def __str__(self):
        return f"{self.kind} to {self.member_id or self.staff_user_id} ({self.status})"
