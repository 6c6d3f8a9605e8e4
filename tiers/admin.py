from django.contrib import admin

from core.admin_base import ModelAdmin
from core.admin_display import ReadOnlyAdminMixin
from members.admin_search import MemberIdentifierSearchMixin
from staff.admin_mixins import AuditHistoryAdminMixin

from .models import Tier, TierChange
from .selectors import tiers_invalidate


@admin.register(Tier)
class TierAdmin(AuditHistoryAdminMixin, ModelAdmin):
    list_display = ("name", "code", "rank", "threshold", "earn_multiplier")
    search_fields = ("name", "code")
    ordering = ("rank",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        tiers_invalidate()

    def has_delete_permission(self, request, obj=None):
        # A tier members hold or held is part of their history; retire it by raising its threshold.
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or not (obj.members.exists() or TierChange.objects.filter(to_tier=obj).exists())


@admin.register(TierChange)
class TierChangeAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("created_at", "member", "kind", "from_tier", "to_tier", "valid_until", "qualifying_spend", "run")
    list_filter = ("kind", "to_tier", "created_at")
    search_fields = ("=member__phone", "=member__card_number", "member__name")
    list_select_related = ("member", "from_tier", "to_tier")
    date_hierarchy = "created_at"
