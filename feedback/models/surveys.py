"""Surveys: definitions marketing edits, invitations sent after purchases, and the answers."""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member, Purchase


class Survey(models.Model):
    """A questionnaire. The standard loyalty-indicator survey ships as default data."""

    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    intro = models.TextField(blank=True, help_text=_("Shown above the questions."), verbose_name=_("intro"))
    name_translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('The name in other languages, by language code: {"zh-hant": "...", "en": "..."}.'),
        verbose_name=_("name in other languages"),
    )
    intro_translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('The intro in other languages, by language code: {"zh-hant": "...", "en": "..."}.'),
        verbose_name=_("intro in other languages"),
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    invite_after_purchase = models.BooleanField(
        default=False,
        help_text=_("Invite a sample of buyers after their purchase (one survey at a time can)."),
        verbose_name=_("invite after purchase"),
    )
    sample_percent = models.PositiveSmallIntegerField(
        default=10,
        validators=[MaxValueValidator(100)],
        help_text=_("Share of purchases that bring an invitation."),
        verbose_name=_("sample percent"),
    )
    min_days_between_invitations = models.PositiveSmallIntegerField(
        default=90,
        help_text=_("A member is invited at most once in this many days."),
        verbose_name=_("min days between invitations"),
    )
    link_valid_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1)], verbose_name=_("link valid days")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
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

    def name_in(self, language: str) -> str:
        return self.name_translations.get(language) or self.name

    def intro_in(self, language: str) -> str:
        return self.intro_translations.get(language) or self.intro


class QuestionKind(models.TextChoices):
    NPS = "nps", _("Would recommend (0-10)")
    SCALE = "scale", _("Scale (1-5)")
    YES_NO = "yes_no", _("Yes / no")
    CHOICE = "choice", _("Choice")
    TEXT = "text", _("Free text")


class Question(models.Model):
    """One question. `key` names what it measures (would_recommend, would_buy_again,
    importance:price, satisfaction:price, competitor:price, ...) so reports can find it."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("survey"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    key = models.SlugField(
        max_length=60, help_text=_("What the answer measures, e.g. would_recommend."), verbose_name=_("key")
    )
    kind = models.CharField(max_length=10, choices=QuestionKind.choices, verbose_name=_("kind"))
    text = models.CharField(max_length=300, verbose_name=_("text"))
    text_translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('The question in other languages, by language code: {"zh-hant": "...", "en": "..."}.'),
        verbose_name=_("text in other languages"),
    )
    choices = models.JSONField(
        default=list, blank=True, help_text=_("For choice questions: the options."), verbose_name=_("choices")
    )
    required = models.BooleanField(default=False, verbose_name=_("required"))

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["survey", "key"], name="question_key_unique_per_survey")]

    def __str__(self):
        return self.text

    def text_in(self, language: str) -> str:
        """The question as a member reading `language` sees it (the text itself when there is no
        translation for that language)."""
        return self.text_translations.get(language) or self.text


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")


class SurveyInvitation(models.Model):
    """An invitation to answer a survey through a signed, single-use, expiring link."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("survey"))
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="survey_invitations", verbose_name=_("member")
    )
    purchase = models.OneToOneField(
        Purchase,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_invitation",
        verbose_name=_("purchase"),
    )
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING, verbose_name=_("status")
    )
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    answered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("answered at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
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

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses", verbose_name=_("survey"))
    member = models.ForeignKey(
        Member,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
        verbose_name=_("member"),
    )
    invitation = models.OneToOneField(
        SurveyInvitation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="response",
        verbose_name=_("invitation"),
    )
    submitted_at = models.DateTimeField(auto_now_add=True, verbose_name=_("submitted at"))

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-id"]
        indexes = [models.Index(fields=["submitted_at"])]

    def __str__(self):
        return f"{self.survey} by {self.member_id or 'anonymous'}"


class Answer(models.Model):
    response = models.ForeignKey(
        SurveyResponse, on_delete=models.CASCADE, related_name="answers", verbose_name=_("response")
    )
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers", verbose_name=_("question"))
    number = models.SmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
        help_text=_("NPS, scale, yes=1/no=0."),
        verbose_name=_("number"),
    )
    text = models.TextField(blank=True, verbose_name=_("text"))

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question"),
            models.CheckConstraint(
                condition=Q(number__isnull=True) | Q(number__gte=0, number__lte=10), name="answer_number_range"
            ),
        ]

    def __str__(self):
        return f"{self.question.key}: {self.number if self.number is not None else self.text[:40]}"
