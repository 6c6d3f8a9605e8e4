"""The points ledger and what drives it: the earning policy and rules, lots and redemptions.

Invariants, held by the services and checked by the tests:
- a member's `points_balance` equals the sum of their ledger entries, and each entry's
  `balance_after` is the running sum up to and including it;
- the remaining points of a member's lots add up to max(balance, 0): a negative balance (a return
  after the points were spent) means every lot is empty.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.admin_display import local_date
from members.models import Member, Purchase, Return
from stores.models import Channel, Store, StoreApiKey


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down")
    HALF_UP = "half_up", _("Round to nearest")
    UP = "up", _("Round up")


class ExpiryMode(models.TextChoices):
    ROLLING_MONTHS = "rolling_months", _("N months after they were earned")
    END_OF_FOLLOWING_YEAR = "end_of_following_year", _("End of the year after they were earned")


class EarningPolicy(models.Model):
    """The programme-wide points settings (one row), edited by marketing staff in the admin."""

    spend_per_point = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Currency units to spend for one point (10 means 1 point per 10 spent)."),
        verbose_name=_("spend per point"),
    )
    rounding = models.CharField(
        max_length=10, choices=Rounding.choices, default=Rounding.DOWN, verbose_name=_("rounding")
    )
    minimum_spend = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=0,
        help_text=_("Purchases below this total earn nothing."),
        verbose_name=_("minimum spend"),
    )
    expiry_mode = models.CharField(
        max_length=30, choices=ExpiryMode.choices, default=ExpiryMode.ROLLING_MONTHS, verbose_name=_("expiry mode")
    )
    expiry_months = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(120)], verbose_name=_("expiry months")
    )
    point_value = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text=_("What one point is worth when paying with points, in the default currency."),
        verbose_name=_("point value"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("earning policy")
        verbose_name_plural = _("earning policy")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="earning_policy_single_row"),
            models.CheckConstraint(condition=Q(spend_per_point__gt=0), name="earning_policy_rate_positive"),
            models.CheckConstraint(condition=Q(point_value__gt=0), name="earning_policy_point_value_positive"),
            models.CheckConstraint(condition=Q(minimum_spend__gte=0), name="earning_policy_minimum_not_negative"),
        ]

    def __str__(self):
        return f"1 point per {self.spend_per_point} spent"


class EarningRule(models.Model):
    """A multiplier on the base rate for the purchase lines it matches.

    Empty criteria match everything; a rule with a date range is a promotion window ("double
    points from A to B"). All rules matching a line multiply together, and with the tier's.
    """

    name = models.CharField(max_length=120, verbose_name=_("name"))
    multiplier = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
        verbose_name=_("multiplier"),
    )
    category = models.CharField(
        max_length=64, blank=True, help_text=_("Only lines in this category."), verbose_name=_("category")
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True, verbose_name=_("channel"))
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("store")
    )
    min_tier = models.ForeignKey(
        "tiers.Tier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Only this tier or above."),
        verbose_name=_("min tier"),
    )
    stages = models.JSONField(
        default=list, blank=True, help_text=_("Only members in these stages (empty for all)."), verbose_name=_("stages")
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="earning_rules",
        help_text=_("A promotion window's rule: its campaign's holdout group does not get the multiplier."),
        verbose_name=_("campaign"),
    )
    starts_at = models.DateTimeField(null=True, blank=True, verbose_name=_("starts at"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ends at"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(multiplier__gt=0, multiplier__lte=100), name="earning_rule_multiplier_range"
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="earning_rule_window_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.name} (x{self.multiplier})"


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned on a purchase")
    REDEEM = "redeem", _("Redeemed")
    REVERSE = "reverse", _("Reversed (return or cancelled redemption)")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted by staff")
    BONUS = "bonus", _("Bonus")


class LedgerEntry(models.Model):
    """One movement of a member's points. Append-only: never updated, never deleted.

    Exactly one of the actor columns says who moved the points: a store (through an API key), a
    staff user, or a named system job.
    """

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("member")
    )
    kind = models.CharField(max_length=10, choices=EntryKind.choices, verbose_name=_("kind"))
    points = models.IntegerField(verbose_name=_("points"))
    balance_after = models.BigIntegerField(verbose_name=_("balance after"))
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("For credits: when their lot expires."), verbose_name=_("expires at")
    )
    purchase = models.ForeignKey(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("purchase")
    )
    return_record = models.ForeignKey(
        Return, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("return record")
    )
    redemption = models.ForeignKey(
        "Redemption",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("redemption"),
    )
    voucher = models.ForeignKey(
        "Voucher", null=True, blank=True, on_delete=models.PROTECT, related_name="entries", verbose_name=_("voucher")
    )
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("store")
    )
    api_key = models.ForeignKey(
        StoreApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("API key")
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff user"),
    )
    job = models.CharField(
        max_length=60, blank=True, help_text=_("The system job that made this entry."), verbose_name=_("job")
    )
    reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="ledger_points_not_zero"),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["earn", "bonus"], points__gt=0)
                    | Q(kind__in=["redeem", "expire"], points__lt=0)
                    | Q(kind__in=["reverse", "adjust"])
                ),
                name="ledger_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjust") | (Q(staff_user__isnull=False) & ~Q(reason="")),
                name="ledger_adjust_names_staff_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(store__isnull=False) | Q(staff_user__isnull=False) | ~Q(job=""),
                name="ledger_entry_attributable",
            ),
            models.UniqueConstraint(fields=["purchase"], condition=Q(kind="earn"), name="ledger_one_earn_per_purchase"),
            models.UniqueConstraint(
                fields=["return_record"], condition=Q(kind="reverse"), name="ledger_one_reversal_per_return"
            ),
            models.UniqueConstraint(
                fields=["redemption", "kind"], condition=Q(redemption__isnull=False), name="ledger_redemption_once"
            ),
            models.UniqueConstraint(
                fields=["voucher", "kind"], condition=Q(voucher__isnull=False), name="ledger_voucher_once"
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-id"]),
            # The loyalty grid sums each member's bonuses in a sliding window, and finds whose
            # bonuses entered or left it.
            models.Index(fields=["created_at"], condition=Q(kind="bonus"), name="ledger_bonus_by_time"),
            models.Index(
                fields=["member", "created_at"],
                include=["points"],
                condition=Q(kind="bonus"),
                name="ledger_bonus_by_member",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.points:+d} → {self.balance_after}"


class PointsLot(models.Model):
    """Points credited together, expiring together. Spending and expiry take the oldest first."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="points_lots", verbose_name=_("member"))
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot", verbose_name=_("entry"))
    points = models.IntegerField(verbose_name=_("points"))
    remaining = models.IntegerField(verbose_name=_("remaining"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_points_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0, remaining__lte=F("points")), name="lot_remaining_within_points"
            ),
        ]
        indexes = [
            models.Index(
                fields=["member", "expires_at"], condition=Q(remaining__gt=0), name="lot_open_by_member_expiry"
            ),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="lot_open_by_expiry"),
        ]

    def __str__(self):
        return f"{self.remaining}/{self.points} until {local_date(self.expires_at)}"


class LotConsumption(models.Model):
    """How many points a debit entry took from one lot, so a cancellation can put them back."""

    entry = models.ForeignKey(
        LedgerEntry, on_delete=models.PROTECT, related_name="consumptions", verbose_name=_("entry")
    )
    lot = models.ForeignKey(PointsLot, on_delete=models.PROTECT, related_name="consumptions", verbose_name=_("lot"))
    points = models.IntegerField(verbose_name=_("points"))

    class Meta:
        verbose_name = _("lot consumption")
        verbose_name_plural = _("lot consumptions")
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="lot_consumption_positive")]

    def __str__(self):
        return f"{self.points} from lot {self.lot_id}"


class RedemptionStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Redemption(models.Model):
    """Points used as payment at a till. Cancelling gives the points back, once."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("member"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    receipt_id = models.CharField(max_length=64, verbose_name=_("receipt ID"))
    points = models.PositiveIntegerField(verbose_name=_("points"))
    value = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("value"))
    status = models.CharField(
        max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.COMPLETED, verbose_name=_("status")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="redemption_points_positive"),
            models.CheckConstraint(
                condition=Q(status="completed", cancelled_at__isnull=True)
                | Q(status="cancelled", cancelled_at__isnull=False),
                name="redemption_cancelled_has_time",
            ),
            # A receipt pays with points once per store, whatever Idempotency-Key its retries carry.
            models.UniqueConstraint(fields=["store", "receipt_id"], name="redemption_receipt_unique_per_store"),
        ]

    def __str__(self):
        return f"{self.points} points at {self.store_id}/{self.receipt_id}"
