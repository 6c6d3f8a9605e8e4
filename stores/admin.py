from django.contrib import admin, messages

from core.admin_base import ModelAdmin, TabularInline
from staff.admin_mixins import AuditHistoryAdminMixin

from .models import IdempotencyRecord, Store, StoreApiKey
from .services import api_keys_changed_announce, store_api_key_create, store_api_key_revoke


class StoreApiKeyInline(TabularInline):
    model = StoreApiKey
    fields = ("prefix", "label", "chain_wide", "member_details", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Store)
class StoreAdmin(AuditHistoryAdminMixin, ModelAdmin):
    list_display = ("name", "code", "channel", "city", "active")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "active" in form.changed_data:  # a closed store's keys stop working everywhere
            api_keys_changed_announce()

    list_filter = ("channel", "active")
    search_fields = ("name", "code", "city")
    inlines = [StoreApiKeyInline]
    actions = ["create_api_key"]

    @admin.action(description="Create a new API key for the selected stores")
    def create_api_key(self, request, queryset):
        for store in queryset:
            _, raw_key = store_api_key_create(store=store, label="admin", created_by=request.user)
            self.message_user(
                request,
                f"New key for {store}: {raw_key} (shown once; copy it now)",
                messages.WARNING,
            )


@admin.register(StoreApiKey)
class StoreApiKeyAdmin(AuditHistoryAdminMixin, ModelAdmin):
    list_display = (
        "prefix",
        "store",
        "label",
        "chain_wide",
        "member_details",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("store", "chain_wide", "member_details", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("prefix", "label", "store__name")
    readonly_fields = ("store", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    fields = (
        "store",
        "label",
        "prefix",
        "chain_wide",
        "member_details",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        # A changed scope must reach every process's key cache, as a revocation does.
        super().save_model(request, obj, form, change)
        if {"chain_wide", "member_details"} & set(form.changed_data):
            api_keys_changed_announce()

    def has_add_permission(self, request):
        # Keys are created through the store's action so the secret can be shown exactly once.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            store_api_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ModelAdmin):
    list_display = ("key", "store", "response_status", "created_at")
    list_filter = ("store",)
    search_fields = ("key",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
