"""VIP tiers and each member's tier history."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member


class Tier(models.Model):
    """A VIP level earned on rolling 12-month qualifying spend (net of returns)."""

    code = models.SlugField(max_length=20, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=60, verbose_name=_("name"))
    rank = models.PositiveSmallIntegerField(
        unique=True, help_text=_("1 is the entry tier; higher is better."), verbose_name=_("rank")
    )
    threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("Qualifying spend over the last 12 months needed to reach this tier."),
        verbose_name=_("threshold"),
    )
    earn_multiplier = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0.01)],
        help_text=_("Multiplies the points of every purchase (with the earning rules)."),
        verbose_name=_("earn multiplier"),
    )
    benefits = models.TextField(
        blank=True, help_text=_("What members of this tier get; shown to members."), verbose_name=_("benefits")
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="tier_threshold_not_negative"),
            models.CheckConstraint(condition=Q(earn_multiplier__gt=0), name="tier_multiplier_positive"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="tier_rank_positive"),
        ]

    def __str__(self):
        return self.name


class TierChangeKind(models.TextChoices):
    ENROL = "enrol", _("First tier")
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade (one tier)")
    RENEW = "renew", _("Requalified")
    PIN = "pin", _("Pinned by staff")


class TierChange(models.Model):
    """One change of a member's tier or its validity, with why and who or which run."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_changes", verbose_name=_("member"))
    kind = models.CharField(max_length=10, choices=TierChangeKind.choices, verbose_name=_("kind"))
    from_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("from tier")
    )
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", verbose_name=_("to tier"))
    valid_until = models.DateTimeField(verbose_name=_("valid until"))
    reason = models.CharField(max_length=300, verbose_name=_("reason"))
    qualifying_spend = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, verbose_name=_("qualifying spend")
    )
    run = models.ForeignKey(
        "jobs.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("run")
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff user"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "run"], condition=Q(run__isnull=False), name="tier_change_once_per_run"
            ),
        ]
        indexes = [models.Index(fields=["member", "-id"])]

    def __str__(self):
        return f"{self.kind}: {self.from_tier or '-'} → {self.to_tier}"
