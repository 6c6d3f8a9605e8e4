"""Complaints, tracked against response targets, with every change recorded."""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member
from stores.models import Channel, Store

MAX_COMPLAINT_TEXT = 10_000


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ComplaintCategory(models.TextChoices):
    PRODUCT = "product", _("Product quality")
    SERVICE = "service", _("Service")
    STAFF = "staff", _("Staff behaviour")
    DELIVERY = "delivery", _("Delivery")
    BILLING = "billing", _("Billing and prices")
    LOYALTY = "loyalty", _("Points and membership")
    OTHER = "other", _("Other")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_ON_MEMBER = "waiting_on_member", _("Waiting on member")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class ResponseTarget(models.Model):
    """How fast a complaint of a severity must get a first response and a resolution."""

    severity = models.CharField(max_length=10, choices=Severity.choices, unique=True, verbose_name=_("severity"))
    first_response_hours = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], verbose_name=_("first response hours")
    )
    resolution_hours = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], verbose_name=_("resolution hours")
    )

    class Meta:
        verbose_name = _("response target")
        verbose_name_plural = _("response targets")
        ordering = ["severity"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolution_hours__gte=models.F("first_response_hours")),
                name="target_resolution_after_response",
            ),
        ]

    def __str__(self):
        return f"{self.severity}: respond in {self.first_response_hours}h, resolve in {self.resolution_hours}h"


class Complaint(models.Model):
    """Only about one unhappy customer in ten complains (seed 003): each complaint is tracked to a
    resolution, against response targets, and escalated once per missed target."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="complaints", verbose_name=_("member")
    )
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("store")
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.STORE, verbose_name=_("channel"))
    category = models.CharField(
        max_length=20, choices=ComplaintCategory.choices, default=ComplaintCategory.OTHER, verbose_name=_("category")
    )
    severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.MEDIUM, verbose_name=_("severity")
    )
    text = models.TextField(validators=[MaxLengthValidator(MAX_COMPLAINT_TEXT)], verbose_name=_("text"))
    status = models.CharField(
        max_length=20, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN, verbose_name=_("status")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    first_response_due_at = models.DateTimeField(verbose_name=_("first response due at"))
    resolution_due_at = models.DateTimeField(verbose_name=_("resolution due at"))
    first_responded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first responded at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    response_escalated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("response escalated at"))
    resolution_escalated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolution escalated at"))
    resolution = models.TextField(blank=True, verbose_name=_("resolution"))
    compensation_points = models.PositiveIntegerField(default=0, verbose_name=_("compensation points"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "closed"]) | Q(resolved_at__isnull=False),
                name="complaint_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=Q(resolution_due_at__gte=models.F("first_response_due_at")), name="complaint_dues_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "first_response_due_at"]),
            models.Index(fields=["status", "resolution_due_at"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self):
        return f"{self.get_category_display()} ({self.severity}) #{self.pk}"


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS = "status", _("Status changed")
    ASSIGNED = "assigned", _("Assigned")
    NOTE = "note", _("Note")
    ESCALATED = "escalated", _("Escalated")
    COMPENSATED = "compensated", _("Compensated")


class ComplaintEvent(models.Model):
    """Every change to a complaint: who, when, from what to what."""

    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="events", verbose_name=_("complaint")
    )
    kind = models.CharField(max_length=12, choices=EventKind.choices, verbose_name=_("kind"))
    from_status = models.CharField(max_length=20, blank=True, verbose_name=_("from status"))
    to_status = models.CharField(max_length=20, blank=True, verbose_name=_("to status"))
    note = models.TextField(blank=True, verbose_name=_("note"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.kind} {self.from_status}→{self.to_status}"
