from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from stores.models import Store

from .audit import *  # noqa: F403  (the audit trail's event models are declared with the app's models)


class StaffStore(models.Model):
    """A store a staff user works for. Store managers see and act on those stores' rows only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_stores", verbose_name=_("staff user")
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))

    class Meta:
        verbose_name = _("staff store")
        verbose_name_plural = _("staff stores")
        constraints = [models.UniqueConstraint(fields=["user", "store"], name="staff_store_once_per_user")]

    def __str__(self):
        return f"{self.user} @ {self.store}"


class ApprovalKind(models.TextChoices):
    POINTS_ADJUST = "points_adjust", _("Points adjustment")
    CAMPAIGN_LAUNCH = "campaign_launch", _("Campaign launch")


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    GRANTED = "granted", _("Approved and done")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Approved, but the action was refused")


class ApprovalRequest(models.Model):
    """Four-eyes: an action that moves much value, waiting for a second staff user.

    The payload holds what the underlying service needs; granting runs that service in the same
    transaction as the decision. The requester can never decide their own request."""

    kind = models.CharField(_("kind"), max_length=20, choices=ApprovalKind.choices)
    summary = models.CharField(_("what"), max_length=300)
    payload = models.JSONField(_("payload"), default=dict)
    # The store whose manager may decide (a member's home store); empty for chain-wide actions.
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("store")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-requested_at"]
        permissions = [
            ("approve_approvalrequest", _("Can approve or reject another staff user's request")),
        ]
        indexes = [models.Index(fields=["status", "-requested_at"], name="approval_queue")]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="approval_not_by_requester",
            ),
            models.CheckConstraint(
                condition=Q(status=ApprovalStatus.PENDING, decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(status=ApprovalStatus.PENDING) & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="approval_decided_with_who_and_when",
            ),
        ]

    def __str__(self):
        return self.summary


class StaffPermission(models.Model):
    """Holds the back office's permissions that belong to no table (the table stays empty; a
    managed one, since test flushes reset the sequences of every model's table)."""

    class Meta:
        default_permissions = ()
        verbose_name = _("staff permission")
        permissions = [("export_data", _("Can export reports and member data"))]

    def __str__(self):
        return str(self._meta.verbose_name)
