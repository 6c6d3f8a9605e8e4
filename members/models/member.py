"""The member: who they are, how to reach them, and the cached aggregates of what they did."""

import uuid

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from stores.models import Channel, Store


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")


class Stage(models.TextChoices):
    """The six-stage loyalty journey (DOMAIN.md section 1), lowest first."""

    PROSPECT = "prospect", _("Prospect")
    TARGET = "target", _("Target")
    FIRST_TIME = "first_time", _("First-time buyer")
    REPEAT = "repeat", _("Repeat buyer")
    CORE = "core", _("Core customer")
    ADVOCATE = "advocate", _("Advocate")


class LapseState(models.TextChoices):
    ACTIVE = "active", _("Active")
    LAPSED = "lapsed", _("Lapsed")
    WON_BACK = "won_back", _("Won back")


class LoyaltyType(models.TextChoices):
    """Behavioural x attitudinal loyalty (DOMAIN.md section 2, seed 002)."""

    NONE = "none", _("No loyalty (low/low)")
    INERTIA = "inertia", _("Inertia (habit, no attachment)")
    MERCENARY = "mercenary", _("Mercenary (bought by incentives)")
    LATENT = "latent", _("Latent (likes us, buys little)")
    COMMITTED = "committed", _("Committed (high/high)")
    FANATICAL = "fanatical", _("Fanatical (committed and advocating)")


class Member(models.Model):
    """A person in the loyalty programme.

    The aggregates (points balance, lifetime spend, qualifying purchase count, first/last purchase)
    are caches of the ledger and the purchases; the services that write those rows update them in
    the same transaction, so they are always exact. A qualifying purchase is one not fully returned.
    Stage, lapse state and tier are kept by the journey and tier services, with history rows.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    card_number = models.CharField(max_length=20, unique=True, editable=False, verbose_name=_("card number"))
    # Unique when given (a constraint below): members imported from a retailer's history may have none.
    phone = models.CharField(
        max_length=20, blank=True, help_text=_("E.164, e.g. +8613800000000"), verbose_name=_("phone")
    )
    external_id = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        help_text=_("The retailer's own customer number, if any."),
        verbose_name=_("external ID"),
    )
    email = models.EmailField(blank=True, verbose_name=_("email"))
    # A person's name (姓名), not the name of a thing (名称): the same English word, two Chinese ones.
    name = models.CharField(max_length=100, blank=True, verbose_name=pgettext_lazy("person", "name"))
    birthday = models.DateField(null=True, blank=True, verbose_name=_("birthday"))
    enrolled_store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("enrolled store")
    )
    enrolled_channel = models.CharField(
        max_length=20, choices=Channel.choices, default=Channel.STORE, verbose_name=_("enrolled channel")
    )
    enrolled_at = models.DateTimeField(auto_now_add=True, verbose_name=_("enrolled at"))
    consent_email = models.BooleanField(_("email marketing consent"), default=False)
    consent_sms = models.BooleanField(_("SMS marketing consent"), default=False)
    consent_updated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consent updated at"))
    interests = models.JSONField(default=list, blank=True, verbose_name=_("interests"))
    language = models.CharField(
        max_length=10, default="zh-hans", help_text=_("For messages."), verbose_name=_("language")
    )
    referral_code = models.CharField(max_length=12, unique=True, editable=False, verbose_name=_("referral code"))
    referred_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
        verbose_name=_("referred by"),
    )
    status = models.CharField(
        max_length=12, choices=MemberStatus.choices, default=MemberStatus.ACTIVE, verbose_name=_("status")
    )
    suspended_reason = models.TextField(blank=True, verbose_name=_("suspended reason"))
    suspended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("suspended at"))
    closed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the member closed the account (data erased then)."),
        verbose_name=_("closed at"),
    )

    points_balance = models.BigIntegerField(default=0, editable=False, verbose_name=_("points balance"))
    lifetime_spend = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, editable=False, verbose_name=_("lifetime spend")
    )
    purchase_count = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("purchase count"))
    first_purchase_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("first purchase at"))
    last_purchase_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("last purchase at"))
    last_engaged_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("Last portal login or survey answer."),
        verbose_name=_("last engaged at"),
    )

    stage = models.CharField(
        max_length=12, choices=Stage.choices, default=Stage.PROSPECT, editable=False, verbose_name=_("stage")
    )
    stage_changed_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("stage changed at"))
    lapse_state = models.CharField(
        max_length=10,
        choices=LapseState.choices,
        default=LapseState.ACTIVE,
        editable=False,
        verbose_name=_("lapse state"),
    )
    lapse_due_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the member counts as lapsed without a new purchase."),
        verbose_name=_("lapse due at"),
    )
    lapse_basis_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("The last purchase lapse_due_at was computed from."),
        verbose_name=_("lapse basis at"),
    )

    loyalty_type = models.CharField(
        max_length=10,
        choices=LoyaltyType.choices,
        default=LoyaltyType.NONE,
        editable=False,
        verbose_name=_("loyalty type"),
    )
    tier = models.ForeignKey(
        "tiers.Tier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        editable=False,
        verbose_name=_("tier"),
    )
    tier_valid_until = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("tier valid until"))
    tier_pinned_until = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("tier pinned until"))
    tier_pin_reason = models.CharField(max_length=300, blank=True, editable=False, verbose_name=_("tier pin reason"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
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
