"""Campaigns (surprise, birthday, win-back, referral, badges, promotion windows), the grants they
make, the badges members earn, and the tasks they give staff."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from members.models import Member, Stage


class CampaignKind(models.TextChoices):
    SURPRISE = "surprise", "Surprise and delight"
    BIRTHDAY = "birthday", "Birthday"
    WIN_BACK = "win_back", "Win-back"
    REFERRAL = "referral", "Referral"
    BADGE = "badge", "Badge"
    PROMOTION = "promotion", "Promotion window"


class GrantType(models.TextChoices):
    POINTS = "points", "Bonus points"
    VOUCHER = "voucher", "A catalog reward as a voucher"
    TASK = "task", "A staff task only"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class BadgeKind(models.TextChoices):
    NEW_CATEGORY = "new_category", "First purchase in a new category"
    NEW_CHANNEL = "new_channel", "First purchase through a new channel"
    NTH_REVIEW = "nth_review", "N-th review"


class Badge(models.Model):
    """A behaviour reward in the style of Camp eBay: earned once per member."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=BadgeKind.choices)
    threshold = models.PositiveSmallIntegerField(default=1, help_text="For n-th review: the n.")

    def __str__(self):
        return self.name


class Campaign(models.Model):
    """Who gets what, when, within which budget, with a held-out control group."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=CampaignKind.choices)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    description = models.TextField(blank=True)

    # Audience
    stages = models.JSONField(
        default=list, blank=True, help_text=f"Only these stages (empty for all): {', '.join(Stage.values)}."
    )
    min_tier = models.ForeignKey("tiers.Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    top_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.20"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(1)],
        help_text="Surprise: the share of buyers, by 12-month value, to pick from.",
    )
    quiet_days = models.PositiveSmallIntegerField(
        default=90, help_text="Surprise: not surprised within this many days."
    )
    badge = models.ForeignKey(Badge, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns")

    # What they get
    grant_type = models.CharField(max_length=10, choices=GrantType.choices, default=GrantType.POINTS)
    points = models.PositiveIntegerField(default=0)
    reward = models.ForeignKey("rewards.Reward", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    offer_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1)], help_text="How long a voucher is valid; the win-back window."
    )
    multiplier = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="Promotion window: points multiplier."
    )
    call_top = models.PositiveSmallIntegerField(
        default=10, help_text="Surprise: a thank-you call task for this many top spenders."
    )
    send_cards = models.BooleanField(default=True, help_text="Surprise: a handwritten-card task per member surprised.")

    # Budget, control group, schedule
    max_members = models.PositiveIntegerField(null=True, blank=True)
    max_points = models.PositiveIntegerField(null=True, blank=True)
    holdout_percent = models.PositiveSmallIntegerField(default=10, validators=[MaxValueValidator(90)])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)

    granted_members = models.PositiveIntegerField(default=0, editable=False)
    granted_points = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    language = models.CharField(max_length=10, default="zh-hans")
    subject = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "language"], name="campaign_message_per_language")]

    def __str__(self):
        return f"{self.campaign} [{self.language}]"


class CampaignGrant(models.Model):
    """A member's place in a campaign for one period: treated (got the reward) or held out (the
    control group). Unique per campaign, grant key and member, so a rerun grants nothing more."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="grants")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="campaign_grants")
    grant_key = models.CharField(max_length=60, help_text="The period or event the grant is for.")
    holdout = models.BooleanField(default=False)
    points = models.PositiveIntegerField(default=0)
    voucher = models.OneToOneField(
        "rewards.Voucher", null=True, blank=True, on_delete=models.PROTECT, related_name="grant"
    )
    run = models.ForeignKey("jobs.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField()

    class Meta:
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
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="badges")
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="holders")
    awarded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "badge"], name="badge_once_per_member")]

    def __str__(self):
        return f"{self.badge} for {self.member_id}"


class TaskKind(models.TextChoices):
    CALL = "call", "Thank-you call"
    CARD = "card", "Handwritten card"
    INTERVIEW = "interview", "Lost-customer interview"
    FOLLOW_UP = "follow_up", "Follow-up"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class StaffTask(models.Model):
    """The personal part a campaign cannot automate: the CEO's call, the handwritten card, the
    lost-customer interview."""

    kind = models.CharField(max_length=12, choices=TaskKind.choices)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="staff_tasks")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    outcome = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
