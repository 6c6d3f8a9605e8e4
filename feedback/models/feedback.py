"""What members tell us: NPS answers and comments captured at the till, in surveys or the portal."""

from decimal import Decimal

from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member
from stores.models import Store

MAX_COMMENT = 5000


class FeedbackSource(models.TextChoices):
    POS = "pos", _("Captured at the till")
    SURVEY = "survey", _("Survey")
    PORTAL = "portal", _("Member portal")


class Feedback(models.Model):
    """One piece of feedback: a would-recommend score (NPS 0-10), a comment, or both."""

    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback", verbose_name=_("member")
    )
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("store")
    )
    source = models.CharField(
        max_length=10, choices=FeedbackSource.choices, default=FeedbackSource.POS, verbose_name=_("source")
    )
    nps = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)], verbose_name=_("NPS")
    )
    comment = models.TextField(blank=True, validators=[MaxLengthValidator(MAX_COMMENT)], verbose_name=_("comment"))
    survey_response = models.OneToOneField(
        "feedback.SurveyResponse",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
        verbose_name=_("survey response"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("feedback")
        ordering = ["-id"]
        verbose_name_plural = _("feedback")
        constraints = [
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="feedback_nps_0_to_10"),
            models.CheckConstraint(condition=Q(nps__isnull=False) | ~Q(comment=""), name="feedback_not_empty"),
        ]
        indexes = [models.Index(fields=["member", "-created_at"]), models.Index(fields=["created_at"])]

    def __str__(self):
        return f"NPS {self.nps if self.nps is not None else '-'} from {self.member_id or 'anonymous'}"


class GridPolicy(models.Model):
    """Where the loyalty grid (seed 002) draws its lines (one row, edited in the admin)."""

    window_days = models.PositiveSmallIntegerField(
        default=365, validators=[MinValueValidator(30)], verbose_name=_("window days")
    )
    behaviour_min_purchases = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1)],
        help_text=_("Purchases in the window (and not lapsed) for high behavioural loyalty."),
        verbose_name=_("behaviour min purchases"),
    )
    promoter_min_nps = models.PositiveSmallIntegerField(
        default=9, validators=[MaxValueValidator(10)], verbose_name=_("promoter min NPS")
    )
    passive_min_nps = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(10)],
        help_text=_("A score at least this high counts as attachment when the member also intends to buy again."),
        verbose_name=_("passive min NPS"),
    )
    mercenary_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Above this share of points from promotions and bonuses, habit is called mercenary."),
        verbose_name=_("mercenary share"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("loyalty grid policy")
        verbose_name_plural = _("loyalty grid policy")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="grid_policy_single_row"),
            models.CheckConstraint(
                condition=Q(passive_min_nps__lte=models.F("promoter_min_nps")),
                name="grid_policy_passive_below_promoter",
            ),
        ]

    def __str__(self):
        return "Loyalty grid policy"
