"""What members bought: purchases with their lines, and returns against them."""

import uuid

from django.db import models
from django.db.models import F, Q

from stores.models import Channel, Store

from .member import Member


class Purchase(models.Model):
    """One receipt from one store. Its receipt id is unique within the store."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="purchases")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="purchases")
    receipt_id = models.CharField(max_length=64)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    occurred_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    returned_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    points_earned = models.IntegerField(default=0)
    base_points = models.IntegerField(
        default=0, help_text="What the purchase would have earned at the base rate, without any multiplier."
    )
    points_reversed = models.IntegerField(default=0)
    earn_note = models.CharField(max_length=200, blank=True, help_text="Why fewer points were earned.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "receipt_id"], name="purchase_receipt_unique_per_store"),
            models.CheckConstraint(condition=Q(total__gt=0), name="purchase_total_positive"),
            models.CheckConstraint(
                condition=Q(returned_amount__gte=0, returned_amount__lte=F("total")),
                name="purchase_returned_within_total",
            ),
            models.CheckConstraint(
                condition=Q(points_earned__gte=0, points_reversed__gte=0, points_reversed__lte=F("points_earned")),
                name="purchase_reversed_within_earned",
            ),
        ]
        indexes = [
            # Covering: a member's window counts, points and 12-month spend read the index alone.
            models.Index(
                fields=["member", "occurred_at"],
                include=["total", "returned_amount", "points_earned", "base_points"],
                name="purchase_member_window",
            ),
            models.Index(fields=["occurred_at"]),
            # The nightly jobs look for purchases recorded since their last run.
            models.Index(fields=["created_at"], name="purchase_recorded_at"),
        ]

    def __str__(self):
        return f"{self.store.code}/{self.receipt_id}"


class PurchaseLine(models.Model):
    """One line of a receipt: what was bought, in which category, how many, at what price."""

    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    category = models.CharField(max_length=64, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=4)
    returned_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="purchase_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="purchase_line_price_not_negative"),
            models.CheckConstraint(
                condition=Q(returned_quantity__lte=F("quantity")), name="purchase_line_returned_within_quantity"
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.sku}"


class Return(models.Model):
    """Goods brought back against a purchase. Returns of one purchase never exceed its total."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="returns")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="returns")
    receipt_id = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    points_reversed = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "receipt_id"], name="return_receipt_unique_per_store"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="return_amount_positive"),
            models.CheckConstraint(condition=Q(points_reversed__gte=0), name="return_points_not_negative"),
        ]
        indexes = [models.Index(fields=["created_at"], name="return_recorded_at")]

    def __str__(self):
        return f"return {self.store.code}/{self.receipt_id}"


class ReturnLine(models.Model):
    """How many units of one purchase line a return took back."""

    return_record = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    purchase_line = models.ForeignKey(PurchaseLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} back of line {self.purchase_line_id}"
