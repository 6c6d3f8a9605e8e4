"""VIP tiers and each member's tier history."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from members.models import Member


class Tier(models.Model):
    """A VIP level earned on rolling 12-month qualifying spend (net of returns)."""

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=60)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="1 is the entry tier; higher is better.")
    threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="Qualifying spend over the last 12 months needed to reach this tier.",
    )
    earn_multiplier = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0.01)],
        help_text="Multiplies the points of every purchase (with the earning rules).",
    )
    benefits = models.TextField(blank=True, help_text="What members of this tier get; shown to members.")

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="tier_threshold_not_negative"),
            models.CheckConstraint(condition=Q(earn_multiplier__gt=0), name="tier_multiplier_positive"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="tier_rank_positive"),
        ]

    def __str__(self):
        return self.name


class TierChangeKind(models.TextChoices):
    ENROL = "enrol", "First tier"
    UPGRADE = "upgrade", "Upgrade"
    DOWNGRADE = "downgrade", "Downgrade (one tier)"
    RENEW = "renew", "Requalified"
    PIN = "pin", "Pinned by staff"


class TierChange(models.Model):
    """One change of a member's tier or its validity, with why and who or which run."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_changes")
    kind = models.CharField(max_length=10, choices=TierChangeKind.choices)
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    valid_until = models.DateTimeField()
    reason = models.CharField(max_length=300)
    qualifying_spend = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    run = models.ForeignKey("jobs.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "run"], condition=Q(run__isnull=False), name="tier_change_once_per_run"
            ),
        ]
        indexes = [models.Index(fields=["member", "-id"])]

    def __str__(self):
        return f"{self.kind}: {self.from_tier or '-'} → {self.to_tier}"
