"""What was done with a member's personal data at their request (PIPL articles 44-47): each export
and the closure, who asked and through which door. A plain dated row until the project has an
audit library; it holds no personal data, so it outlives the closure it records."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .member import Member


class PrivacyAction(models.TextChoices):
    EXPORT = "export", _("Data exported")
    CLOSE = "close", _("Account closed")


class PrivacyChannel(models.TextChoices):
    PORTAL = "portal", _("Member portal")
    STAFF = "staff", _("Staff, at the member's request")


class PrivacyRecord(models.Model):
    """One export of a member's data or the closure of their account."""

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="privacy_records", verbose_name=_("member")
    )
    action = models.CharField(max_length=10, choices=PrivacyAction.choices, verbose_name=_("action"))
    channel = models.CharField(max_length=10, choices=PrivacyChannel.choices, verbose_name=_("channel"))
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("staff user"),
    )
    details = models.JSONField(
        default=dict, blank=True, help_text=_("What was done, in figures."), verbose_name=_("details")
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "-created_at"], name="privacy_record_by_member")]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=models.Q(action="close"), name="privacy_one_closure"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} · member {self.member_id} · {self.created_at:%Y-%m-%d %H:%M}"
