import uuid

from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: events are what happened."""

    list_display = ["occurred_at", "type", "member_id", "sequence", "uuid", "dispatched_at"]
    list_filter = ["type"]
    search_fields = ["type"]  # and an event id or a member id: see get_search_results
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in Event._meta.fields]
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(uuid=uuid.UUID(term)), False
        except ValueError:
            pass
        if term.isascii() and term.isdigit():
            return queryset.filter(member_id=int(term)), False
        return queryset.filter(type__startswith=term), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
