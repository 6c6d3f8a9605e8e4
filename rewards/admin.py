from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminSelect2Widget

from core.admin_base import ModelAdmin, TabularInline
from core.admin_display import ReadOnlyAdminMixin
from members.admin_search import MemberIdentifierSearchMixin
from members.categories import category_choices
from members.forms import with_stages_field
from staff.admin_mixins import AuditHistoryAdminMixin, PersonalDataMaskingAdminMixin, StoreScopedAdminMixin

from .catalog import voucher_cancel
from .earning import earning_setup_invalidate
from .models import EarningPolicy, EarningRule, LedgerEntry, LotConsumption, PointsLot, Redemption, Reward, Voucher


class EarningSetupAdminMixin:
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        earning_setup_invalidate()


@admin.register(EarningPolicy)
class EarningPolicyAdmin(AuditHistoryAdminMixin, EarningSetupAdminMixin, ModelAdmin):
    list_display = ("__str__", "rounding", "minimum_spend", "expiry_mode", "expiry_months", "point_value")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not EarningPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class EarningRuleForm(with_stages_field(EarningRule)):
    """The category is picked from the list of categories (Settings > Categories), not typed."""

    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        widget=UnfoldAdminSelect2Widget,
        help_text=_("Only lines in this category; empty for all."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("All categories")), *category_choices()]
        current = self.instance.category
        # A rule made before its category was listed keeps it rather than silently losing it.
        if current and current not in {code for code, _label in choices}:
            choices.append((current, current))
        self.fields["category"].choices = choices


@admin.register(EarningRule)
class EarningRuleAdmin(AuditHistoryAdminMixin, EarningSetupAdminMixin, ModelAdmin):
    form = EarningRuleForm
    list_display = ("name", "multiplier", "category", "channel", "store", "starts_at", "ends_at", "active")
    list_filter = ("active", "channel", "store")
    search_fields = ("name", "category")
    autocomplete_fields = ("store",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(
    StoreScopedAdminMixin,
    PersonalDataMaskingAdminMixin,
    MemberIdentifierSearchMixin,
    ReadOnlyAdminMixin,
    ModelAdmin,
):
    store_scope_path = "member__enrolled_store"
    list_display = ("created_at", "member", "kind", "points", "balance_after", "store", "staff_user", "job", "reason")
    list_filter = ("kind", "store", "created_at")
    search_fields = ("=member__phone", "=member__card_number", "member__name", "=purchase__receipt_id", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("member", "store", "staff_user")
    raw_id_fields = ("member",)


class LotConsumptionInline(ReadOnlyAdminMixin, TabularInline):
    model = LotConsumption
    fields = ("entry", "points")
    readonly_fields = fields
    extra = 0


@admin.register(PointsLot)
class PointsLotAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("member", "points", "remaining", "expires_at")
    search_fields = ("=member__phone", "=member__card_number")
    list_select_related = ("member",)
    inlines = [LotConsumptionInline]


@admin.register(Redemption)
class RedemptionAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("created_at", "member", "store", "receipt_id", "points", "value", "status")
    list_filter = ("status", "store", "created_at")
    search_fields = ("=receipt_id", "=member__phone", "=member__card_number", "member__name")
    list_select_related = ("member", "store")


@admin.register(Reward)
class RewardAdmin(AuditHistoryAdminMixin, ModelAdmin):
    form = with_stages_field(Reward)
    list_display = (
        "name",
        "kind",
        "cost_points",
        "value",
        "stock",
        "min_tier",
        "available_from",
        "available_until",
        "active",
    )
    list_filter = ("kind", "active", "min_tier")
    search_fields = ("name", "description")
    autocomplete_fields = ("min_tier",)


@admin.register(Voucher)
class VoucherAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = (
        "code",
        "reward",
        "member",
        "status",
        "points_cost",
        "issued_at",
        "expires_at",
        "used_at",
        "campaign",
    )
    list_filter = ("status", "reward", "campaign")
    search_fields = ("=code", "=member__phone", "=member__card_number")
    list_select_related = ("reward", "member", "campaign")
    actions = ["cancel"]

    @admin.action(description="Cancel the selected unused vouchers (points are given back)")
    def cancel(self, request, queryset):
        from core.errors import DomainError

        for voucher in queryset:
            try:
                voucher_cancel(voucher=voucher, staff_user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{voucher.code}: {exc.detail}", messages.WARNING)
