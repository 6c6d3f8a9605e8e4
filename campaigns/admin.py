from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from core.admin_base import ModelAdmin, StackedInline
from core.admin_display import ReadOnlyAdminMixin
from core.errors import DomainError
from jobs.tasks import start_job
from members.admin_search import MemberIdentifierSearchMixin
from members.forms import with_stages_field
from staff.admin_mixins import AuditHistoryAdminMixin, StoreScopedAdminMixin
from staff.services import campaign_launch_or_request

from .measurement import campaign_results
from .models import Badge, Campaign, CampaignGrant, CampaignMessage, CampaignStatus, MemberBadge, StaffTask, TaskStatus
from .services import campaign_dry_run, campaign_pause, task_complete


class CampaignMessageInline(StackedInline):
    model = CampaignMessage
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(AuditHistoryAdminMixin, ModelAdmin):
    form = with_stages_field(Campaign)
    fieldsets = (
        (None, {"fields": ("name", "kind", "status", "description")}),
        ("Audience", {"fields": ("stages", "min_tier", "top_share", "quiet_days", "badge")}),
        (
            "What they get",
            {"fields": ("grant_type", "points", "reward", "offer_days", "multiplier", "call_top", "send_cards")},
        ),
        (
            "Budget, control group and schedule",
            {"fields": ("max_members", "max_points", "holdout_percent", "starts_at", "ends_at")},
        ),
        ("Spent so far", {"fields": ("granted_members", "granted_points")}),
    )
    list_display = ("name", "kind", "status", "starts_at", "ends_at", "grant_type", "granted_members", "granted_points")
    list_filter = ("kind", "status")
    search_fields = ("name",)
    readonly_fields = ("status", "granted_members", "granted_points")
    inlines = [CampaignMessageInline]
    actions = ["launch", "pause", "run_now"]
    change_form_template = "admin/campaigns/campaign/change_form.html"

    def get_urls(self):
        own = [
            path("<int:pk>/dry-run/", self.admin_site.admin_view(self.dry_run_view), name="campaigns_campaign_dry_run")
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self.get_object(request, object_id)
        extra = (
            {"results": campaign_results(campaign=campaign)}
            if campaign and campaign.status != CampaignStatus.DRAFT
            else {}
        )
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def dry_run_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dry run: %(campaign)s") % {"campaign": campaign},
            "opts": self.model._meta,
            "campaign": campaign,
            "dry": campaign_dry_run(campaign=campaign),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/dry_run.html", context)

    @admin.action(description="Launch the selected draft campaigns")
    def launch(self, request, queryset):
        for campaign in queryset:
            try:
                launched = campaign_launch_or_request(campaign=campaign, staff_user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{campaign}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{campaign}: {launched.get_status_display()}", messages.SUCCESS)

    @admin.action(description="Pause the selected campaigns")
    def pause(self, request, queryset):
        for campaign in queryset:
            campaign_pause(campaign=campaign)

    @admin.action(description="Run the selected active campaigns now")
    def run_now(self, request, queryset):
        for campaign in queryset.filter(status=CampaignStatus.ACTIVE):
            start_job.delay("campaign", False, f"admin: {request.user}", {"campaign": campaign.pk})
            self.message_user(request, f"Started a run of {campaign}.")


@admin.register(CampaignGrant)
class CampaignGrantAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("granted_at", "campaign", "member", "grant_key", "holdout", "points", "voucher")
    list_filter = ("campaign", "holdout")
    search_fields = ("=member__phone", "=member__card_number")
    list_select_related = ("campaign", "member", "voucher")


@admin.register(Badge)
class BadgeAdmin(ModelAdmin):
    list_display = ("name", "code", "kind", "threshold")


@admin.register(MemberBadge)
class MemberBadgeAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("awarded_at", "member", "badge")
    list_filter = ("badge",)
    search_fields = ("=member__phone", "=member__card_number")


class MineDueFilter(admin.SimpleListFilter):
    title = "whose"
    parameter_name = "whose"

    def lookups(self, request, model_admin):
        return [("mine_due", "Mine, due (open, soonest first)"), ("mine", "Mine, all"), ("unassigned", "Unassigned")]

    def queryset(self, request, queryset):
        if self.value() == "mine_due":
            return queryset.filter(assignee=request.user, status=TaskStatus.OPEN).order_by("due_at")
        if self.value() == "mine":
            return queryset.filter(assignee=request.user)
        if self.value() == "unassigned":
            return queryset.filter(assignee__isnull=True, status=TaskStatus.OPEN)
        return queryset


class TaskCompleteForm(forms.Form):
    outcome = forms.CharField(max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(StaffTask)
class StaffTaskAdmin(StoreScopedAdminMixin, MemberIdentifierSearchMixin, ModelAdmin):
    store_scope_path = "member__enrolled_store"
    list_display = ("due_at", "kind", "title", "member", "assignee", "status", "outcome")
    list_filter = (MineDueFilter, "kind", "status", "campaign")
    search_fields = ("title", "=member__phone", "=member__card_number")
    list_select_related = ("member", "assignee")
    raw_id_fields = ("member",)
    actions = ["assign_to_me"]

    @admin.action(description="Assign the selected tasks to me")
    def assign_to_me(self, request, queryset):
        updated = queryset.filter(Q(assignee__isnull=True) | Q(assignee=request.user)).update(assignee=request.user)
        self.message_user(request, f"{updated} task(s) are yours.")

    def get_urls(self):
        own = [
            path(
                "<int:pk>/complete/",
                self.admin_site.admin_view(self.complete_view),
                name="campaigns_stafftask_complete",
            )
        ]
        return own + super().get_urls()

    def complete_view(self, request, pk):
        task = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, task):
            raise PermissionDenied
        form = TaskCompleteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            task_complete(task=task, user=request.user, **form.cleaned_data)
            self.message_user(request, "Task done.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:campaigns_stafftask_changelist") + "?whose=mine_due")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Complete: {task}",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/campaigns/stafftask/complete.html", context)
