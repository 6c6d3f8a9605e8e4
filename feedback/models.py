"""What members tell us: NPS answers and comments captured at the till, in surveys or the portal."""

from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from members.models import Member
from stores.models import Store

MAX_COMMENT = 5000


class FeedbackSource(models.TextChoices):
    POS = "pos", "Captured at the till"
    SURVEY = "survey", "Survey"
    PORTAL = "portal", "Member portal"


class Feedback(models.Model):
    """One piece of feedback: a would-recommend score (NPS 0-10), a comment, or both."""

    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=10, choices=FeedbackSource.choices, default=FeedbackSource.POS)
    nps = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    comment = models.TextField(blank=True, validators=[MaxLengthValidator(MAX_COMMENT)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="feedback_nps_0_to_10"),
            models.CheckConstraint(condition=Q(nps__isnull=False) | ~Q(comment=""), name="feedback_not_empty"),
        ]
        indexes = [models.Index(fields=["member", "-created_at"]), models.Index(fields=["created_at"])]

    def __str__(self):
        return f"NPS {self.nps if self.nps is not None else '-'} from {self.member_id or 'anonymous'}"
