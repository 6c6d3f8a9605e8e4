"""The journey: the stage policy marketing edits, stage and lapse history, and purchase habits."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .member import Member


class StagePolicy(models.Model):
    """Thresholds of the six-stage journey and of lapse (one row). An edit takes effect at the
    next run of the nightly job, which then re-examines every member."""

    window_days = models.PositiveSmallIntegerField(
        default=365,
        validators=[MinValueValidator(30), MaxValueValidator(1095)],
        help_text=_("Purchases count towards repeat and core within this many days."),
        verbose_name=_("window days"),
    )
    repeat_min_purchases = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(2)], verbose_name=_("repeat min purchases")
    )
    core_min_purchases = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(2)], verbose_name=_("core min purchases")
    )
    core_min_categories = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)], verbose_name=_("core min categories")
    )
    core_min_channels = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1)], verbose_name=_("core min channels")
    )
    advocate_min_nps = models.PositiveSmallIntegerField(
        default=9,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
        help_text=_("An NPS answer at least this high, together with a review, makes a buyer an advocate."),
        verbose_name=_("advocate min NPS"),
    )
    lapse_min_days = models.PositiveSmallIntegerField(
        default=180,
        validators=[MinValueValidator(1)],
        help_text=_("Never lapsed before this many days."),
        verbose_name=_("lapse min days"),
    )
    lapse_gap_multiplier = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("Lapsed after this many times the member's own median gap between purchases."),
        verbose_name=_("lapse gap multiplier"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("stage policy")
        verbose_name_plural = _("stage policy")
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
    STAGE = "stage", _("Stage")
    LAPSE = "lapse", _("Lapse state")
    GRID = "grid", _("Loyalty type")


class StageChange(models.Model):
    """One move of a member's stage or lapse state: from, to, which rule fired with its figures,
    and the job run that made it (empty when a purchase or return made it)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("member"))
    kind = models.CharField(max_length=6, choices=ChangeKind.choices, verbose_name=_("kind"))
    from_value = models.CharField(max_length=12, verbose_name=_("from value"))
    to_value = models.CharField(max_length=12, verbose_name=_("to value"))
    reason = models.CharField(max_length=300, verbose_name=_("reason"))
    figures = models.JSONField(default=dict, verbose_name=_("figures"))
    run = models.ForeignKey(
        "jobs.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("run")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
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
    CATEGORY = "category", _("Product category")
    CHANNEL = "channel", _("Sales channel")


class MemberHabit(models.Model):
    """A category or channel a member buys in: when first and last, how often. Kept on the write
    path so stage rules and badges need not scan purchase lines."""

    # No index of its own: the unique constraint's and the recency index lead with the member.
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="habits", db_index=False, verbose_name=_("member")
    )
    dimension = models.CharField(max_length=10, choices=HabitDimension.choices, verbose_name=_("dimension"))
    value = models.CharField(max_length=64, verbose_name=_("value"))
    first_at = models.DateTimeField(verbose_name=_("first at"))
    last_at = models.DateTimeField(verbose_name=_("last at"))
    purchases = models.PositiveIntegerField(default=1, verbose_name=_("purchases"))

    class Meta:
        verbose_name = _("member habit")
        verbose_name_plural = _("member habits")
        constraints = [
            models.UniqueConstraint(fields=["member", "dimension", "value"], name="member_habit_unique"),
        ]
        # The stage rules count a member's recent categories and channels from this index alone.
        indexes = [models.Index(fields=["member", "dimension", "last_at"], name="member_habit_recent")]

    def __str__(self):
        return f"{self.dimension}={self.value}"
