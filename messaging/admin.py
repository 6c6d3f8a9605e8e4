from django.contrib import admin

from core.admin_base import ModelAdmin
from core.admin_display import ReadOnlyAdminMixin
from members.admin_search import MemberIdentifierSearchMixin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("created_at", "member", "kind", "channel", "status", "attempts", "sent_at")
    list_filter = ("kind", "channel", "status")
    search_fields = ("dedupe_key", "subject")  # and card or phone, through MemberIdentifierSearchMixin
    list_select_related = ("member",)
    date_hierarchy = "created_at"
