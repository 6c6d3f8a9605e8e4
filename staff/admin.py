from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from pghistory.models import Context

from core.admin_base import ModelAdmin
from core.errors import DomainError

from .admin_mixins import StoreScopedAdminMixin
from .models import ApprovalRequest, ApprovalStatus, AuditEvent, StaffStore
from .roles import APPROVE
from .services import approval_grant, approval_reject


@admin.register(StaffStore)
class StaffStoreAdmin(ModelAdmin):
    list_display = ("user", "store")
    list_filter = ("store",)
    search_fields = ("user__username", "store__name", "store__code")
    list_select_related = ("user", "store")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(StoreScopedAdminMixin, ModelAdmin):
    list_display = ("requested_at", "summary", "kind", "status", "requested_by", "decided_by", "decided_at")
    list_filter = ("status", "kind")
    search_fields = ("summary",)
    list_select_related = ("requested_by", "decided_by")
    store_scope_path = "store"
    actions = ["approve", "reject"]
    readonly_fields = [
        "kind",
        "summary",
        "payload",
        "store",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "outcome",
    ]

    def has_add_permission(self, request):
        return False  # requests come from the actions that need them

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return request.user.has_perm(APPROVE)

    @admin.action(description=_("Approve the selected requests (and carry them out)"), permissions=["approve"])
    def approve(self, request, queryset):
        self._decide(request, queryset, lambda item: approval_grant(request=item, staff_user=request.user))

    @admin.action(description=_("Reject the selected requests"), permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(request, queryset, lambda item: approval_reject(request=item, staff_user=request.user))

    def _decide(self, request, queryset, decide):
        for item in queryset.filter(status=ApprovalStatus.PENDING):
            try:
                decided = decide(item)
            except DomainError as exc:
                self.message_user(request, f"{item}: {exc.detail}", messages.ERROR)
            else:
                level = messages.WARNING if decided.status == ApprovalStatus.FAILED else messages.SUCCESS
                self.message_user(request, f"{decided}: {decided.get_status_display()} {decided.outcome}", level)


@admin.register(AuditEvent)
class AuditEventAdmin(ModelAdmin):
    """Every change to configuration and member data, searchable by object id, user name or value."""

    list_display = ("pgh_created_at", "who", "pgh_obj_model", "pgh_obj_id", "pgh_label", "changes")
    list_filter = ("pgh_label", "pgh_obj_model")
    search_fields = ("pgh_obj_id",)
    date_hierarchy = None
    ordering = ("-pgh_created_at",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # The aggregate's default manager is empty on purpose (pghistory keeps dumpdata off it).
        return AuditEvent.objects.all()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        users = list(get_user_model().objects.filter(username__iexact=term).values_list("pk", flat=True))
        if users:
            contexts = Context.objects.filter(metadata__user__in=users).values_list("pk", flat=True)
            return queryset.filter(pgh_context_id__in=list(contexts)), False
        if term.isdigit():
            return queryset.filter(pgh_obj_id=term), False
        return queryset.filter(pgh_data__icontains=term), False

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # The page's user names in one query: the context holds the user's id only.
        events = list(changelist.result_list)
        ids = {(event.pgh_context or {}).get("user") for event in events} - {None}
        names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
        for event in events:
            event.who_name = names.get((event.pgh_context or {}).get("user"), "-")
        return changelist

    @admin.display(description=_("who"))
    def who(self, event):
        return getattr(event, "who_name", "-")

    @admin.display(description=_("changes"))
    def changes(self, event):
        diff = event.pgh_diff or {}
        if diff:
            return "; ".join(f"{field}: {old!r} → {new!r}" for field, (old, new) in diff.items())
        return ", ".join(f"{field}={value!r}" for field, value in (event.pgh_data or {}).items())[:300]
