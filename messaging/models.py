"""The outbox: every message to a member is a row first, sent later by a worker, never twice."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped (no consent or address)")


class OutboxMessage(models.Model):
    """One message to one member, or to a staff user (escalations). `dedupe_key` makes "send this
    once" a database fact."""

    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.CASCADE, related_name="messages", verbose_name=_("member")
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("staff user"),
    )
    kind = models.CharField(
        max_length=40, help_text=_("What the message is about, e.g. tier_downgrade_notice."), verbose_name=_("kind")
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_messages",
        verbose_name=_("campaign"),
    )
    marketing = models.BooleanField(
        default=False,
        help_text=_("Marketing messages go only to members who consented for the channel."),
        verbose_name=_("marketing"),
    )
    channel = models.CharField(max_length=10, choices=MessageChannel.choices, verbose_name=_("channel"))
    language = models.CharField(max_length=10, default="zh-hans", verbose_name=_("language"))
    subject = models.CharField(max_length=200, verbose_name=_("subject"))
    body = models.TextField(verbose_name=_("body"))
    dedupe_key = models.CharField(max_length=120, unique=True, verbose_name=_("dedupe key"))
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.CharField(max_length=300, blank=True, verbose_name=_("last error"))
    send_after = models.DateTimeField(null=True, blank=True, verbose_name=_("send after"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
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
