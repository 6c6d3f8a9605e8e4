"""The rewards catalog and the vouchers members get for rewards.

A VIP card is not a discount card (seed 003): rewards include services and experiences (new
product trials, free upgrades, trade-ins, club events), not only discounts.
"""

import uuid
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from members.models import Member
from stores.models import Store


class RewardKind(models.TextChoices):
    DISCOUNT = "discount", _("Discount")
    FREE_PRODUCT = "free_product", _("Free product")
    SERVICE = "service", _("Service (free upgrade, repair, trade-in)")
    EXPERIENCE = "experience", _("Experience (new-product trial, tasting)")
    EVENT = "event", _("Event invitation")


class Reward(models.Model):
    """Something members can get for points (or as a campaign offer)."""

    name = models.CharField(max_length=120, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    image = models.ImageField(upload_to="rewards/", blank=True, verbose_name=_("image"))
    kind = models.CharField(max_length=20, choices=RewardKind.choices, verbose_name=_("kind"))
    cost_points = models.PositiveIntegerField(validators=[MinValueValidator(1)], verbose_name=_("cost points"))
    value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Currency value: the amount off for a discount (required), what the reward is worth otherwise."),
        verbose_name=_("value"),
    )
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Empty for unlimited."), verbose_name=_("stock")
    )
    min_tier = models.ForeignKey(
        "tiers.Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("min tier")
    )
    stages = models.JSONField(
        default=list,
        blank=True,
        # The stage values are written out (not joined from Stage) so that the text can be translated.
        help_text=_("Journey stages allowed (empty for all): prospect, target, first_time, repeat, core, advocate."),
        verbose_name=_("stages"),
    )
    available_from = models.DateTimeField(null=True, blank=True, verbose_name=_("available from"))
    available_until = models.DateTimeField(null=True, blank=True, verbose_name=_("available until"))
    voucher_valid_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1)], verbose_name=_("voucher valid days")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["cost_points", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(cost_points__gt=0), name="reward_cost_positive"),
            # The till takes a discount's amount off the bill: a discount without one cannot be used.
            # (isnull, not value > 0: a CHECK that comes out NULL passes.)
            models.CheckConstraint(
                condition=~Q(kind=RewardKind.DISCOUNT) | Q(value__isnull=False),
                name="reward_discount_has_value",
                violation_error_message=_("A discount needs its currency value (the amount off)."),
            ),
            models.CheckConstraint(condition=Q(value__isnull=True) | Q(value__gt=0), name="reward_value_positive"),
            models.CheckConstraint(condition=Q(stock__isnull=True) | Q(stock__gte=0), name="reward_stock_not_negative"),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gt=F("available_from")),
                name="reward_availability_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.cost_points} points)"


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    USED = "used", _("Used")
    CANCELLED = "cancelled", _("Cancelled")


class Voucher(models.Model):
    """A single-use code for a reward. Paid for with points (catalog) or granted (campaign)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    code = models.CharField(max_length=20, unique=True, verbose_name=_("code"))
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("reward"))
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("member"))
    points_cost = models.PositiveIntegerField(
        default=0, help_text=_("Points paid; 0 for a campaign grant."), verbose_name=_("points cost")
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
        verbose_name=_("campaign"),
    )
    status = models.CharField(
        max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED, verbose_name=_("status")
    )
    issued_store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued store")
    )
    issued_at = models.DateTimeField(auto_now_add=True, verbose_name=_("issued at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))
    used_store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("used store")
    )
    used_receipt_id = models.CharField(max_length=64, blank=True, verbose_name=_("used receipt ID"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="issued", used_at__isnull=True, cancelled_at__isnull=True)
                | Q(status="used", used_at__isnull=False)
                | Q(status="cancelled", cancelled_at__isnull=False),
                name="voucher_status_has_time",
            ),
        ]
        indexes = [models.Index(fields=["member", "status"]), models.Index(fields=["campaign", "status"])]

    def __str__(self):
        return f"{self.code} ({self.reward})"
