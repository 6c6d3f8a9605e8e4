"""Surveys: definitions marketing edits, invitations sent after purchases, and the answers."""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from members.models import Member, Purchase


class Survey(models.Model):
    """A questionnaire. The standard loyalty-indicator survey ships as default data."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    intro = models.TextField(blank=True, help_text="Shown above the questions.")
    active = models.BooleanField(default=True)
    invite_after_purchase = models.BooleanField(
        default=False, help_text="Invite a sample of buyers after their purchase (one survey at a time can)."
    )
    sample_percent = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(100)], help_text="Share of purchases that bring an invitation."
    )
    min_days_between_invitations = models.PositiveSmallIntegerField(
        default=90, help_text="A member is invited at most once in this many days."
    )
    link_valid_days = models.PositiveSmallIntegerField(default=14, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(sample_percent__lte=100), name="survey_sample_percent_range"),
            models.UniqueConstraint(
                fields=["invite_after_purchase"],
                condition=Q(invite_after_purchase=True),
                name="one_post_purchase_survey",
            ),
        ]

    def __str__(self):
        return self.name


class QuestionKind(models.TextChoices):
    NPS = "nps", "Would recommend (0-10)"
    SCALE = "scale", "Scale (1-5)"
    YES_NO = "yes_no", "Yes / no"
    CHOICE = "choice", "Choice"
    TEXT = "text", "Free text"


class Question(models.Model):
    """One question. `key` names what it measures (would_recommend, would_buy_again,
    importance:price, satisfaction:price, competitor:price, ...) so reports can find it."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    key = models.SlugField(max_length=60, help_text="What the answer measures, e.g. would_recommend.")
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    text = models.CharField(max_length=300)
    choices = models.JSONField(default=list, blank=True, help_text="For choice questions: the options.")
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["survey", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["survey", "key"], name="question_key_unique_per_survey")]

    def __str__(self):
        return self.text


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    ANSWERED = "answered", "Answered"


class SurveyInvitation(models.Model):
    """An invitation to answer a survey through a signed, single-use, expiring link."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="survey_invitations")
    purchase = models.OneToOneField(
        Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_invitation"
    )
    status = models.CharField(max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["member", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending") | Q(answered_at__isnull=False), name="invitation_answered_has_time"
            ),
        ]

    def __str__(self):
        return f"{self.survey} for {self.member_id}"


class SurveyResponse(models.Model):
    """One member's (or an anonymous visitor's) answers to a survey."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    invitation = models.OneToOneField(
        SurveyInvitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["submitted_at"])]

    def __str__(self):
        return f"{self.survey} by {self.member_id or 'anonymous'}"


class Answer(models.Model):
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    number = models.SmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
        help_text="NPS, scale, yes=1/no=0.",
    )
    text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question"),
            models.CheckConstraint(
                condition=Q(number__isnull=True) | Q(number__gte=0, number__lte=10), name="answer_number_range"
            ),
        ]

    def __str__(self):
        return f"{self.question.key}: {self.number if self.number is not None else self.text[:40]}"
