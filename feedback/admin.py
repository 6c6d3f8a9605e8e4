from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_base import ModelAdmin, TabularInline
from core.admin_display import ReadOnlyAdminMixin, duration_label, local_date
from core.errors import DomainError
from members.admin import styled
from members.admin_search import MemberIdentifierSearchMixin
from members.models import Member, Stage
from rewards.models import LedgerEntry
from staff.admin_mixins import AuditHistoryAdminMixin, PersonalDataMaskingAdminMixin, StoreScopedAdminMixin
from stores.models import Channel, Store

from .complaints import complaint_assign, complaint_change_status, complaint_compensate, complaint_file, complaint_note
from .grid import grid_counts, grid_policy_invalidate
from .models import (
    Answer,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
    Feedback,
    FollowUp,
    GridPolicy,
    LostCustomerInterview,
    Question,
    ResponseTarget,
    Severity,
    Survey,
    SurveyInvitation,
    SurveyResponse,
)
from .selectors import complaint_breakdown, complaint_metrics, complaint_queue

HISTORY_ROWS = 10


@admin.register(Feedback)
class FeedbackAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("created_at", "member", "store", "source", "nps", "comment_excerpt")
    list_filter = ("source", "nps", "store")
    search_fields = ("=member__phone", "=member__card_number", "comment")
    list_select_related = ("member", "store")
    date_hierarchy = "created_at"

    @admin.display(description="comment")
    def comment_excerpt(self, feedback):
        return feedback.comment[:80]


class QuestionInline(TabularInline):
    model = Question
    fields = ("position", "key", "kind", "text", "choices", "required")
    extra = 0


@admin.register(Survey)
class SurveyAdmin(ModelAdmin):
    list_display = ("name", "code", "active", "invite_after_purchase", "sample_percent", "min_days_between_invitations")
    inlines = [QuestionInline]


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("created_at", "survey", "member", "status", "expires_at", "answered_at")
    list_filter = ("survey", "status")
    search_fields = ("=member__phone", "=member__card_number")
    list_select_related = ("survey", "member")


class AnswerInline(ReadOnlyAdminMixin, TabularInline):
    model = Answer
    fields = ("question", "number", "text")
    readonly_fields = fields
    extra = 0


@admin.register(SurveyResponse)
class SurveyResponseAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("submitted_at", "survey", "member")
    list_filter = ("survey",)
    search_fields = ("=member__phone", "=member__card_number")
    inlines = [AnswerInline]


@admin.register(ResponseTarget)
class ResponseTargetAdmin(AuditHistoryAdminMixin, ModelAdmin):
    list_display = ("severity", "first_response_hours", "resolution_hours")


class ComplaintEventInline(ReadOnlyAdminMixin, TabularInline):
    model = ComplaintEvent
    fields = ("created_at", "kind", "from_status", "to_status", "note", "actor")
    readonly_fields = fields
    extra = 0


class ComplaintOpenForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=ComplaintCategory.choices)
    severity = forms.ChoiceField(label=gettext_lazy("Severity"), choices=Severity.choices, initial=Severity.MEDIUM)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=Channel.choices, initial=Channel.STORE)
    store = forms.ModelChoiceField(label=gettext_lazy("Store"), queryset=Store.objects.all(), required=False)
    text = forms.CharField(label=gettext_lazy("What happened"), widget=forms.Textarea(attrs={"rows": 4}))


class ComplaintActionForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "(keep)"), *ComplaintStatus.choices], required=False)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    resolution = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    compensation_points = forms.IntegerField(required=False, min_value=1, max_value=100_000)


@admin.register(Complaint)
class ComplaintAdmin(StoreScopedAdminMixin, PersonalDataMaskingAdminMixin, MemberIdentifierSearchMixin, ModelAdmin):
    store_scope_path = ("store", "member__enrolled_store")
    """The complaint queue: next deadline first, with quick actions and the member's history."""

    list_display = ("pk", "category", "severity", "status", "member", "store", "owner", "deadline", "created_at")
    list_filter = ("status", "severity", "category", "store", "owner")
    search_fields = ("=member__phone", "=member__card_number", "text")
    list_select_related = ("member", "store", "owner")
    readonly_fields = (
        "member",
        "store",
        "channel",
        "category",
        "severity",
        "text",
        "status",
        "first_response_due_at",
        "resolution_due_at",
        "first_responded_at",
        "resolved_at",
        "closed_at",
        "resolution",
        "compensation_points",
        "member_history",
    )
    fields = (*readonly_fields[:-1], "owner", "member_history")
    inlines = [ComplaintEventInline]
    actions = ["take_ownership", "mark_in_progress", "mark_waiting_on_member"]
    change_form_template = "admin/feedback/complaint/change_form.html"
    change_list_template = "admin/feedback/complaint/change_list.html"

    def has_add_permission(self, request):
        return False  # complaints are filed through the service (API, portal)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return complaint_queue(super().get_queryset(request))

    def get_ordering(self, request):
        return ()  # the queue order from complaint_queue

    def save_model(self, request, obj, form, change):
        if "owner" in form.changed_data:
            complaint_assign(complaint=obj, owner=obj.owner, actor=request.user)

    @admin.display(description="next deadline", ordering="next_due")
    def deadline(self, complaint):
        if complaint.next_due is None:
            return "-"
        left = complaint.next_due - timezone.now()
        hours = abs(left.total_seconds()) / 3600
        label = f"{hours:.0f}h left" if left.total_seconds() >= 0 else f"overdue {hours:.0f}h"
        colour = "#b00020" if left.total_seconds() < 0 else ("#b26a00" if hours < 4 else "inherit")
        return format_html('<span style="color:{}">{}</span>', colour, label)

    @admin.display(description="Member's history")
    def member_history(self, complaint):
        member = complaint.member
        if member is None:
            return "Anonymous complaint."
        purchases = member.purchases.select_related("store")[:HISTORY_ROWS]
        entries = LedgerEntry.objects.filter(member=member)[:HISTORY_ROWS]
        feedback = Feedback.objects.filter(member=member)[:HISTORY_ROWS]
        others = Complaint.objects.filter(member=member).exclude(pk=complaint.pk)[:HISTORY_ROWS]
        return format_html(
            "<p>{} · stage {} · tier {} · {} points · lifetime spend {}</p>"
            "<h4>Purchases</h4><ul>{}</ul><h4>Points</h4><ul>{}</ul><h4>Feedback</h4><ul>{}</ul>"
            "<h4>Other complaints</h4><ul>{}</ul>",
            member,
            Stage(member.stage).label,
            member.tier or "-",
            member.points_balance,
            member.lifetime_spend,
            _items((f"{local_date(p.occurred_at)} {p.store} {p.total} ({p.points_earned} pts)",) for p in purchases),
            _items((f"{local_date(e.created_at)} {e.kind} {e.points:+d} → {e.balance_after}",) for e in entries),
            _items(
                (f"{local_date(f.created_at)} NPS {f.nps if f.nps is not None else '-'}: {f.comment[:120]}",)
                for f in feedback
            ),
            _items((f"{local_date(c.created_at)} {c.get_category_display()} ({c.status})",) for c in others),
        )

    def get_urls(self):
        own = [
            path("open/", self.admin_site.admin_view(self.open_view), name="feedback_complaint_open"),
            path("<int:pk>/act/", self.admin_site.admin_view(self.act_view), name="feedback_complaint_act"),
            path("metrics/", self.admin_site.admin_view(self.metrics_view), name="feedback_complaint_metrics"),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "action_form": ComplaintActionForm()}
        return super().change_view(request, object_id, form_url, extra_context)

    def open_view(self, request):
        """Staff open a complaint for a member (from the member's page), through complaint_file."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        member_id = request.GET.get("member", "")
        member = (
            Member.objects.filter(pk=int(member_id)).first()
            if member_id.isascii() and member_id.isdigit() and len(member_id) <= 18
            else None
        )
        if member is None:
            raise Http404
        form = styled(ComplaintOpenForm(request.POST or None))
        if request.method == "POST" and form.is_valid():
            try:
                complaint = complaint_file(member=member, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                for field, field_messages in (exc.errors or {None: [exc.detail]}).items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                self.message_user(request, _("Complaint #%(pk)s is open.") % {"pk": complaint.pk}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:feedback_complaint_change", args=[complaint.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Open a complaint"),
            "intro": _("Filed for %(member)s, with deadlines from the response targets.") % {"member": member},
            "members": [member],
            "form": form,
            "errors": [],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/member_bulk_form.html", context)

    def act_view(self, request, pk):
        complaint = get_object_or_404(Complaint, pk=pk)
        form = ComplaintActionForm(request.POST or None)
        back = reverse("admin:feedback_complaint_change", args=[pk])
        if request.method != "POST" or not self.has_change_permission(request, complaint) or not form.is_valid():
            self.message_user(request, "Nothing done: check the form.", messages.ERROR)
            return HttpResponseRedirect(back)
        try:
            self._act(request, complaint, form.cleaned_data)
        except DomainError as exc:
            self.message_user(request, f"Nothing done: {exc.detail}", messages.ERROR)
        else:
            self.message_user(request, "Complaint updated.", messages.SUCCESS)
        return HttpResponseRedirect(back)

    def _act(self, request, complaint, data):
        from django.db import transaction

        with transaction.atomic():
            if data["note"] and not data["status"]:
                complaint_note(complaint=complaint, note=data["note"], actor=request.user)
            if data["status"]:
                complaint_change_status(
                    complaint=complaint,
                    status=data["status"],
                    actor=request.user,
                    note=data["note"],
                    resolution=data["resolution"],
                )
            if data["compensation_points"]:
                complaint_compensate(complaint=complaint, points=data["compensation_points"], actor=request.user)

    def metrics_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        until = timezone.now()
        since = until - timedelta(days=int(request.GET.get("days", 90)))
        rows = [
            _metrics_row(_("All"), complaint_metrics(since=since, until=until)),
            *(
                _metrics_row(_("Store: %(store)s") % {"store": store}, metrics)
                for store, metrics in complaint_breakdown(since=since, until=until, by="store__name")
            ),
            *(
                _metrics_row(
                    _("Category: %(category)s") % {"category": dict(ComplaintCategory.choices).get(category, category)},
                    metrics,
                )
                for category, metrics in complaint_breakdown(since=since, until=until, by="category")
            ),
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Complaint service levels"),
            "opts": self.model._meta,
            "since": since,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/feedback/complaint/metrics.html", context)

    @admin.action(description="Take ownership of the selected complaints")
    def take_ownership(self, request, queryset):
        for complaint in queryset:
            complaint_assign(complaint=complaint, owner=request.user, actor=request.user)

    @admin.action(description="Mark in progress")
    def mark_in_progress(self, request, queryset):
        self._bulk_status(request, queryset, ComplaintStatus.IN_PROGRESS)

    @admin.action(description="Mark waiting on member")
    def mark_waiting_on_member(self, request, queryset):
        self._bulk_status(request, queryset, ComplaintStatus.WAITING_ON_MEMBER)

    def _bulk_status(self, request, queryset, status):
        done = 0
        for complaint in queryset:
            try:
                complaint_change_status(complaint=complaint, status=status, actor=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"#{complaint.pk}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"{done} complaint(s) updated.")


def _metrics_row(label: str, metrics) -> dict:
    """One line of the service-level table, durations in words rather than raw timedeltas."""
    return {
        "label": label,
        "complaints": metrics.complaints,
        "answered_within_target": metrics.answered_within_target,
        "median_first_response": duration_label(metrics.median_first_response),
        "median_resolution": duration_label(metrics.median_resolution),
        "per_thousand_purchases": metrics.per_thousand_purchases,
    }


def _items(rows):
    return format_html_join("", "<li>{}</li>", rows) or format_html("<li>{}</li>", "none")


class StaffRecordAdminMixin:
    """Records of what a staff member did: by default, by whoever is logged in, just now."""

    def get_changeform_initial_data(self, request):
        return {
            "staff_user": request.user.pk,
            "happened_at": timezone.now(),
            **super().get_changeform_initial_data(request),
        }


@admin.register(FollowUp)
class FollowUpAdmin(StoreScopedAdminMixin, MemberIdentifierSearchMixin, StaffRecordAdminMixin, ModelAdmin):
    store_scope_path = "member__enrolled_store"
    list_display = ("happened_at", "member", "kind", "staff_user", "outcome")
    list_filter = ("kind", "outcome", "staff_user")
    search_fields = ("=member__phone", "=member__card_number", "notes", "suggestions")
    raw_id_fields = ("member",)
    date_hierarchy = "happened_at"


@admin.register(LostCustomerInterview)
class LostCustomerInterviewAdmin(StoreScopedAdminMixin, MemberIdentifierSearchMixin, StaffRecordAdminMixin, ModelAdmin):
    store_scope_path = "member__enrolled_store"
    list_display = ("happened_at", "member", "reason", "competitor", "can_win_back", "staff_user")
    list_filter = ("reason", "can_win_back")
    search_fields = ("=member__phone", "=member__card_number", "competitor", "reason_detail")
    raw_id_fields = ("member",)
    date_hierarchy = "happened_at"


@admin.register(GridPolicy)
class GridPolicyAdmin(AuditHistoryAdminMixin, ModelAdmin):
    """The policy, and on its list page the 2 x 3 loyalty grid with counts."""

    change_list_template = "admin/feedback/gridpolicy/change_list.html"

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not GridPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        grid_policy_invalidate()
        self.message_user(request, "The next place_loyalty_grid run will examine every member (a full pass).")

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "grid": grid_counts()})
