"""Complaints, tracked against response targets, with every change recorded."""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from members.models import Member
from stores.models import Channel, Store

MAX_COMPLAINT_TEXT = 10_000


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class ComplaintCategory(models.TextChoices):
    PRODUCT = "product", "Product quality"
    SERVICE = "service", "Service"
    STAFF = "staff", "Staff behaviour"
    DELIVERY = "delivery", "Delivery"
    BILLING = "billing", "Billing and prices"
    LOYALTY = "loyalty", "Points and membership"
    OTHER = "other", "Other"


class ComplaintStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_MEMBER = "waiting_on_member", "Waiting on member"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class ResponseTarget(models.Model):
    """How fast a complaint of a severity must get a first response and a resolution."""

    severity = models.CharField(max_length=10, choices=Severity.choices, unique=True)
    first_response_hours = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_hours = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
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

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="complaints")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.STORE)
    category = models.CharField(max_length=20, choices=ComplaintCategory.choices, default=ComplaintCategory.OTHER)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    text = models.TextField(validators=[MaxLengthValidator(MAX_COMPLAINT_TEXT)])
    status = models.CharField(max_length=20, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_response_due_at = models.DateTimeField()
    resolution_due_at = models.DateTimeField()
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    response_escalated_at = models.DateTimeField(null=True, blank=True)
    resolution_escalated_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    compensation_points = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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
    CREATED = "created", "Created"
    STATUS = "status", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    NOTE = "note", "Note"
    ESCALATED = "escalated", "Escalated"
    COMPENSATED = "compensated", "Compensated"


class ComplaintEvent(models.Model):
    """Every change to a complaint: who, when, from what to what."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.kind} {self.from_status}→{self.to_status}"
