"""Campaigns (surprise, birthday, win-back, referral, badges, promotion windows), the grants they
make, the badges members earn, and the tasks they give staff."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member


class CampaignKind(models.TextChoices):
    SURPRISE = "surprise", _("Surprise and delight")
    BIRTHDAY = "birthday", _("Birthday")
    WIN_BACK = "win_back", _("Win-back")
    REFERRAL = "referral", _("Referral")
    BADGE = "badge", _("Badge")
    PROMOTION = "promotion", _("Promotion window")


class GrantType(models.TextChoices):
    POINTS = "points", _("Bonus points")
    VOUCHER = "voucher", _("A catalog reward as a voucher")
    TASK = "task", _("A staff task only")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class BadgeKind(models.TextChoices):
    NEW_CATEGORY = "new_category", _("First purchase in a new category")
    NEW_CHANNEL = "new_channel", _("First purchase through a new channel")
    NTH_REVIEW = "nth_review", _("N-th review")


class Badge(models.Model):
    """A behaviour reward in the style of Camp eBay: earned once per member."""

    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=80, verbose_name=_("name"))
    description = models.CharField(max_length=300, blank=True, verbose_name=_("description"))
    kind = models.CharField(max_length=20, choices=BadgeKind.choices, verbose_name=_("kind"))
    threshold = models.PositiveSmallIntegerField(
        default=1, help_text=_("For n-th review: the n."), verbose_name=_("threshold")
    )

    class Meta:
        verbose_name = _("badge")
        verbose_name_plural = _("badges")

    def __str__(self):
        return self.name


class Campaign(models.Model):
    """Who gets what, when, within which budget, with a held-out control group."""

    name = models.CharField(max_length=120, verbose_name=_("name"))
    kind = models.CharField(max_length=20, choices=CampaignKind.choices, verbose_name=_("kind"))
    status = models.CharField(
        max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT, verbose_name=_("status")
    )
    description = models.TextField(blank=True, verbose_name=_("description"))

    # Audience
    stages = models.JSONField(
        default=list,
        blank=True,
        # The stage values are written out (not joined from Stage) so that the text can be translated.
        help_text=_("Only these stages (empty for all): prospect, target, first_time, repeat, core, advocate."),
        verbose_name=_("stages"),
    )
    min_tier = models.ForeignKey(
        "tiers.Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("min tier")
    )
    top_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.20"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(1)],
        help_text=_("Surprise: the share of buyers, by 12-month value, to pick from."),
        verbose_name=_("top share"),
    )
    quiet_days = models.PositiveSmallIntegerField(
        default=90, help_text=_("Surprise: not surprised within this many days."), verbose_name=_("quiet days")
    )
    badge = models.ForeignKey(
        Badge, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("badge")
    )

    # What they get
    grant_type = models.CharField(
        max_length=10, choices=GrantType.choices, default=GrantType.POINTS, verbose_name=_("grant type")
    )
    points = models.PositiveIntegerField(default=0, verbose_name=_("points"))
    reward = models.ForeignKey(
        "rewards.Reward", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("reward")
    )
    offer_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("How long a voucher is valid; the win-back window."),
        verbose_name=_("offer days"),
    )
    multiplier = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Promotion window: points multiplier."),
        verbose_name=_("multiplier"),
    )
    call_top = models.PositiveSmallIntegerField(
        default=10,
        help_text=_("Surprise: a thank-you call task for this many top spenders."),
        verbose_name=_("call top"),
    )
    send_cards = models.BooleanField(
        default=True,
        help_text=_("Surprise: a handwritten-card task per member surprised."),
        verbose_name=_("send cards"),
    )

    # Budget, control group, schedule
    max_members = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("max members"))
    max_points = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("max points"))
    holdout_percent = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(90)], verbose_name=_("holdout percent")
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ends at"))

    granted_members = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("granted members"))
    granted_points = models.PositiveBigIntegerField(default=0, editable=False, verbose_name=_("granted points"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(holdout_percent__lte=90), name="campaign_holdout_range"),
            models.CheckConstraint(
                condition=Q(max_members__isnull=True) | Q(granted_members__lte=models.F("max_members")),
                name="campaign_members_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(max_points__isnull=True) | Q(granted_points__lte=models.F("max_points")),
                name="campaign_points_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")), name="campaign_window_ordered"
            ),
            models.CheckConstraint(
                condition=~Q(kind="referral") | Q(holdout_percent=0), name="campaign_referral_has_no_holdout"
            ),
        ]

    def __str__(self):
        return self.name


class CampaignMessage(models.Model):
    """The message of a campaign in one language. Placeholders: {name}, {points}, {voucher_code},
    {reward}, {expires}."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="messages", verbose_name=_("campaign")
    )
    language = models.CharField(max_length=10, default="zh-hans", verbose_name=_("language"))
    subject = models.CharField(max_length=200, verbose_name=_("subject"))
    body = models.TextField(verbose_name=_("body"))

    class Meta:
        verbose_name = _("campaign message")
        verbose_name_plural = _("campaign messages")
        constraints = [models.UniqueConstraint(fields=["campaign", "language"], name="campaign_message_per_language")]

    def __str__(self):
        return f"{self.campaign} [{self.language}]"


class CampaignGrant(models.Model):
    """A member's place in a campaign for one period: treated (got the reward) or held out (the
    control group). Unique per campaign, grant key and member, so a rerun grants nothing more."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="grants", verbose_name=_("campaign"))
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="campaign_grants", verbose_name=_("member")
    )
    grant_key = models.CharField(
        max_length=60, help_text=_("The period or event the grant is for."), verbose_name=_("grant key")
    )
    holdout = models.BooleanField(default=False, verbose_name=_("holdout"))
    points = models.PositiveIntegerField(default=0, verbose_name=_("points"))
    voucher = models.OneToOneField(
        "rewards.Voucher",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grant",
        verbose_name=_("voucher"),
    )
    run = models.ForeignKey(
        "jobs.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("run")
    )
    granted_at = models.DateTimeField(verbose_name=_("granted at"))

    class Meta:
        verbose_name = _("campaign grant")
        verbose_name_plural = _("campaign grants")
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "grant_key", "member"], name="campaign_grant_once"),
            models.CheckConstraint(
                condition=Q(holdout=False) | Q(points=0, voucher__isnull=True), name="holdout_gets_nothing"
            ),
        ]
        indexes = [models.Index(fields=["member", "granted_at"]), models.Index(fields=["campaign", "holdout"])]

    def __str__(self):
        return f"{self.campaign_id}/{self.grant_key}/{self.member_id}{' (holdout)' if self.holdout else ''}"


class MemberBadge(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="badges", verbose_name=_("member"))
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="holders", verbose_name=_("badge"))
    awarded_at = models.DateTimeField(verbose_name=_("awarded at"))

    class Meta:
        verbose_name = _("member badge")
        verbose_name_plural = _("member badges")
        constraints = [models.UniqueConstraint(fields=["member", "badge"], name="badge_once_per_member")]

    def __str__(self):
        return f"{self.badge} for {self.member_id}"


class TaskKind(models.TextChoices):
    CALL = "call", _("Thank-you call")
    CARD = "card", _("Handwritten card")
    INTERVIEW = "interview", _("Lost-customer interview")
    FOLLOW_UP = "follow_up", _("Follow-up")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class StaffTask(models.Model):
    """The personal part a campaign cannot automate: the CEO's call, the handwritten card, the
    lost-customer interview."""

    kind = models.CharField(max_length=12, choices=TaskKind.choices, verbose_name=_("kind"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="staff_tasks", verbose_name=_("member"))
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks", verbose_name=_("campaign")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    due_at = models.DateTimeField(verbose_name=_("due at"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assignee"),
    )
    status = models.CharField(
        max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN, verbose_name=_("status")
    )
    outcome = models.CharField(max_length=200, blank=True, verbose_name=_("outcome"))
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        verbose_name = _("staff task")
        verbose_name_plural = _("staff tasks")
        ordering = ["status", "due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "member", "campaign"],
                condition=Q(campaign__isnull=False),
                name="task_once_per_campaign",
            ),
        ]
        indexes = [models.Index(fields=["assignee", "status", "due_at"])]

    def __str__(self):
        return self.title
