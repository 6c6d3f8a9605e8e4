"""The member: who they are, how to reach them, and the cached aggregates of what they did."""

import uuid

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from stores.models import Channel, Store


class MemberStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"


class Stage(models.TextChoices):
    """The six-stage loyalty journey (DOMAIN.md section 1), lowest first."""

    PROSPECT = "prospect", "Prospect"
    TARGET = "target", "Target"
    FIRST_TIME = "first_time", "First-time buyer"
    REPEAT = "repeat", "Repeat buyer"
    CORE = "core", "Core customer"
    ADVOCATE = "advocate", "Advocate"


class LapseState(models.TextChoices):
    ACTIVE = "active", "Active"
    LAPSED = "lapsed", "Lapsed"
    WON_BACK = "won_back", "Won back"


class LoyaltyType(models.TextChoices):
    """Behavioural x attitudinal loyalty (DOMAIN.md section 2, seed 002)."""

    NONE = "none", "No loyalty (low/low)"
    INERTIA = "inertia", "Inertia (habit, no attachment)"
    MERCENARY = "mercenary", "Mercenary (bought by incentives)"
    LATENT = "latent", "Latent (likes us, buys little)"
    COMMITTED = "committed", "Committed (high/high)"
    FANATICAL = "fanatical", "Fanatical (committed and advocating)"


class Member(models.Model):
    """A person in the loyalty programme.

    The aggregates (points balance, lifetime spend, qualifying purchase count, first/last purchase)
    are caches of the ledger and the purchases; the services that write those rows update them in
    the same transaction, so they are always exact. A qualifying purchase is one not fully returned.
    Stage, lapse state and tier are kept by the journey and tier services, with history rows.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    card_number = models.CharField(max_length=20, unique=True, editable=False)
    # Unique when given (a constraint below): members imported from a retailer's history may have none.
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +8613800000000")
    external_id = models.CharField(
        max_length=64, null=True, blank=True, unique=True, help_text="The retailer's own customer number, if any."
    )
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=100, blank=True)
    birthday = models.DateField(null=True, blank=True)
    enrolled_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    enrolled_channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.STORE)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    consent_email = models.BooleanField("email marketing consent", default=False)
    consent_sms = models.BooleanField("SMS marketing consent", default=False)
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    interests = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=10, default="zh-hans", help_text="For messages.")
    referral_code = models.CharField(max_length=12, unique=True, editable=False)
    referred_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals")
    status = models.CharField(max_length=12, choices=MemberStatus.choices, default=MemberStatus.ACTIVE)
    suspended_reason = models.TextField(blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the member closed the account (data erased then)."
    )

    points_balance = models.BigIntegerField(default=0, editable=False)
    lifetime_spend = models.DecimalField(max_digits=14, decimal_places=2, default=0, editable=False)
    purchase_count = models.PositiveIntegerField(default=0, editable=False)
    first_purchase_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_purchase_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_engaged_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Last portal login or survey answer."
    )

    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.PROSPECT, editable=False)
    stage_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    lapse_state = models.CharField(max_length=10, choices=LapseState.choices, default=LapseState.ACTIVE, editable=False)
    lapse_due_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the member counts as lapsed without a new purchase."
    )
    lapse_basis_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The last purchase lapse_due_at was computed from."
    )

    loyalty_type = models.CharField(
        max_length=10, choices=LoyaltyType.choices, default=LoyaltyType.NONE, editable=False
    )
    tier = models.ForeignKey(
        "tiers.Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="members", editable=False
    )
    tier_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    tier_pinned_until = models.DateTimeField(null=True, blank=True, editable=False)
    tier_pin_reason = models.CharField(max_length=300, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="suspended") | ~Q(suspended_reason=""),
                name="member_suspension_has_reason",
            ),
            # A closed account is closed at a known moment, and only a closed one has that moment.
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False)
                | (~Q(status="closed") & Q(closed_at__isnull=True)),
                name="member_closed_has_date",
            ),
            models.CheckConstraint(condition=Q(lifetime_spend__gte=0), name="member_lifetime_spend_not_negative"),
            models.CheckConstraint(condition=~Q(referred_by=F("id")), name="member_not_own_referrer"),
            models.UniqueConstraint(fields=["phone"], condition=~Q(phone=""), name="member_phone_unique"),
            models.CheckConstraint(condition=~Q(external_id=""), name="member_external_id_not_empty"),
        ]
        # Few indexes: a member row is updated on every purchase. The table leaves room on each page
        # (migration 0011) so that updates of unindexed columns stay in place (HOT). The back
        # office finds a name by its start and an email exactly (case aside): those two indexes
        # cover columns a purchase never changes, so purchases keep their HOT updates.
        indexes = [
            models.Index(OpClass(Upper("name"), name="text_pattern_ops"), name="member_name_prefix"),
            models.Index(Upper("email"), name="member_email_upper"),
            models.Index(fields=["stage"]),
            models.Index(fields=["lapse_due_at"], condition=~Q(lapse_state="lapsed"), name="member_lapse_due"),
            models.Index(fields=["tier_valid_until"], name="member_tier_valid_until"),
            # The portal's email sign-in finds a member by exact (lower-cased) address.
            models.Index(fields=["email"], name="member_email", condition=~Q(email="")),
        ]

    def __str__(self):
        return f"{self.name or 'Member'} ({self.card_number})"

    @property
    def is_closed(self) -> bool:
        return self.status == MemberStatus.CLOSED

    @property
    def is_suspended(self) -> bool:
        return self.status == MemberStatus.SUSPENDED
