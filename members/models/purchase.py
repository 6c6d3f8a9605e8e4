"""What members bought: purchases with their lines, and returns against them."""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from stores.models import Channel, Store

from .member import Member


class Purchase(models.Model):
    """One receipt from one store. Its receipt id is unique within the store."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("member"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("store"))
    receipt_id = models.CharField(max_length=64, verbose_name=_("receipt ID"))
    channel = models.CharField(max_length=20, choices=Channel.choices, verbose_name=_("channel"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    total = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("total"))
    returned_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0, verbose_name=_("returned amount"))
    points_earned = models.IntegerField(default=0, verbose_name=_("points earned"))
    base_points = models.IntegerField(
        default=0,
        help_text=_("What the purchase would have earned at the base rate, without any multiplier."),
        verbose_name=_("base points"),
    )
    points_reversed = models.IntegerField(default=0, verbose_name=_("points reversed"))
    earn_note = models.CharField(
        max_length=200, blank=True, help_text=_("Why fewer points were earned."), verbose_name=_("earn note")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = pgettext_lazy("records", "purchases")
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

    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="lines", verbose_name=_("purchase"))
    sku = models.CharField(max_length=64, verbose_name=_("SKU"))
    category = models.CharField(max_length=64, blank=True, verbose_name=_("category"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_price = models.DecimalField(max_digits=12, decimal_places=4, verbose_name=_("unit price"))
    returned_quantity = models.PositiveIntegerField(default=0, verbose_name=_("returned quantity"))

    class Meta:
        verbose_name = _("purchase line")
        verbose_name_plural = _("purchase lines")
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

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID"))
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="returns", verbose_name=_("purchase"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="returns", verbose_name=_("store"))
    receipt_id = models.CharField(max_length=64, verbose_name=_("receipt ID"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    points_reversed = models.IntegerField(default=0, verbose_name=_("points reversed"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
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

    return_record = models.ForeignKey(
        Return, on_delete=models.CASCADE, related_name="lines", verbose_name=_("return record")
    )
    purchase_line = models.ForeignKey(
        PurchaseLine, on_delete=models.PROTECT, related_name="+", verbose_name=_("purchase line")
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} back of line {self.purchase_line_id}"
