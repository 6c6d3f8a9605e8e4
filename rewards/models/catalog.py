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

from members.models import Member, Stage
from stores.models import Store


class RewardKind(models.TextChoices):
    DISCOUNT = "discount", "Discount"
    FREE_PRODUCT = "free_product", "Free product"
    SERVICE = "service", "Service (free upgrade, repair, trade-in)"
    EXPERIENCE = "experience", "Experience (new-product trial, tasting)"
    EVENT = "event", "Event invitation"


class Reward(models.Model):
    """Something members can get for points (or as a campaign offer)."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    image = models.ImageField(upload_to="rewards/", blank=True)
    kind = models.CharField(max_length=20, choices=RewardKind.choices)
    cost_points = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Currency value: the amount off for a discount (required), what the reward is worth otherwise.",
    )
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="Empty for unlimited.")
    min_tier = models.ForeignKey("tiers.Tier", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stages = models.JSONField(
        default=list, blank=True, help_text=f"Journey stages allowed (empty for all): {', '.join(Stage.values)}."
    )
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    voucher_valid_days = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1)])
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
    ISSUED = "issued", "Issued"
    USED = "used", "Used"
    CANCELLED = "cancelled", "Cancelled"


class Voucher(models.Model):
    """A single-use code for a reward. Paid for with points (catalog) or granted (campaign)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(max_length=20, unique=True)
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="vouchers")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="vouchers")
    points_cost = models.PositiveIntegerField(default=0, help_text="Points paid; 0 for a campaign grant.")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers"
    )
    status = models.CharField(max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED)
    issued_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    used_receipt_id = models.CharField(max_length=64, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
