"""The journey: the stage policy marketing edits, stage and lapse history, and purchase habits."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from .member import Member


class StagePolicy(models.Model):
    """Thresholds of the six-stage journey and of lapse (one row). An edit takes effect at the
    next run of the nightly job, which then re-examines every member."""

    window_days = models.PositiveSmallIntegerField(
        default=365,
        validators=[MinValueValidator(30), MaxValueValidator(1095)],
        help_text="Purchases count towards repeat and core within this many days.",
    )
    repeat_min_purchases = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(2)])
    core_min_purchases = models.PositiveSmallIntegerField(default=6, validators=[MinValueValidator(2)])
    core_min_categories = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    core_min_channels = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    advocate_min_nps = models.PositiveSmallIntegerField(
        default=9,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
        help_text="An NPS answer at least this high, together with a review, makes a buyer an advocate.",
    )
    lapse_min_days = models.PositiveSmallIntegerField(
        default=180, validators=[MinValueValidator(1)], help_text="Never lapsed before this many days."
    )
    lapse_gap_multiplier = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=3,
        validators=[MinValueValidator(1)],
        help_text="Lapsed after this many times the member's own median gap between purchases.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "stage policy"
        verbose_name_plural = "stage policy"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="stage_policy_single_row"),
            models.CheckConstraint(
                condition=Q(core_min_purchases__gte=models.F("repeat_min_purchases")),
                name="stage_policy_core_above_repeat",
            ),
        ]

    def __str__(self):
        return "Stage policy"


class ChangeKind(models.TextChoices):
    STAGE = "stage", "Stage"
    LAPSE = "lapse", "Lapse state"
    GRID = "grid", "Loyalty type"


class StageChange(models.Model):
    """One move of a member's stage or lapse state: from, to, which rule fired with its figures,
    and the job run that made it (empty when a purchase or return made it)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="stage_changes")
    kind = models.CharField(max_length=6, choices=ChangeKind.choices)
    from_value = models.CharField(max_length=12)
    to_value = models.CharField(max_length=12)
    reason = models.CharField(max_length=300)
    figures = models.JSONField(default=dict)
    run = models.ForeignKey("jobs.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "kind", "run"], condition=Q(run__isnull=False), name="stage_change_once_per_run"
            ),
            models.CheckConstraint(condition=~Q(from_value=models.F("to_value")), name="stage_change_changes"),
        ]
        indexes = [models.Index(fields=["member", "-id"]), models.Index(fields=["kind", "to_value", "created_at"])]

    def __str__(self):
        return f"{self.kind}: {self.from_value} → {self.to_value}"


class HabitDimension(models.TextChoices):
    CATEGORY = "category", "Product category"
    CHANNEL = "channel", "Sales channel"


class MemberHabit(models.Model):
    """A category or channel a member buys in: when first and last, how often. Kept on the write
    path so stage rules and badges need not scan purchase lines."""

    # No index of its own: the unique constraint's and the recency index lead with the member.
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="habits", db_index=False)
    dimension = models.CharField(max_length=10, choices=HabitDimension.choices)
    value = models.CharField(max_length=64)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    purchases = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "dimension", "value"], name="member_habit_unique"),
        ]
        # The stage rules count a member's recent categories and channels from this index alone.
        indexes = [models.Index(fields=["member", "dimension", "last_at"], name="member_habit_recent")]

    def __str__(self):
        return f"{self.dimension}={self.value}"
