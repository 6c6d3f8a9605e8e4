from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: events are what happened."""

    list_display = ["occurred_at", "type", "member_id", "sequence", "uuid", "dispatched_at"]
    list_filter = ["type"]
    search_fields = ["=uuid", "=member_id"]
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in Event._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
