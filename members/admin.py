from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from loyalty.admin_base import ModelAdmin, TabularInline
from loyalty.admin_display import local_date, local_time
from loyalty.errors import DomainError
from rewards.models import LedgerEntry
from rewards.services import points_adjust
from tiers.models import TierChange
from tiers.services import tier_pin

from .admin_search import MemberIdentifierSearchMixin
from .forms import PointsAdjustForm, SuspendForm, TierPinForm
from .journey import stage_counts, stage_policy, stage_policy_invalidate
from .models import Member, MemberHabit, Purchase, PurchaseLine, Return, ReturnLine, Stage, StageChange, StagePolicy
from .services import member_reinstate, member_suspend

RECENT_ROWS = 15


class ReadOnlyAdminMixin:
    """Rows written only by services (so the ledger stays consistent) are read-only here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Member)
class MemberAdmin(MemberIdentifierSearchMixin, ModelAdmin):
    list_display = (
        "card_number",
        "name",
        "phone",
        "status",
        "stage",
        "lapse_state",
        "loyalty_type",
        "tier",
        "points_balance",
        "lifetime_spend",
        "purchase_count",
        "last_purchase_at",
    )
    list_filter = (
        "status",
        "stage",
        "lapse_state",
        "loyalty_type",
        "tier",
        "enrolled_channel",
        "enrolled_store",
        "consent_email",
        "consent_sms",
        "enrolled_at",
    )
    # Card and phone numbers are matched by MemberIdentifierSearchMixin.
    search_fields = ("name", "email", "=referral_code")
    member_path = ""
    identifier_only = True
    date_hierarchy = "enrolled_at"
    list_select_related = ("enrolled_store", "tier")
    raw_id_fields = ("referred_by",)
    readonly_fields = (
        "public_id",
        "card_number",
        "referral_code",
        "status",
        "suspended_reason",
        "suspended_at",
        "points_balance",
        "lifetime_spend",
        "purchase_count",
        "first_purchase_at",
        "last_purchase_at",
        "enrolled_at",
        "stage",
        "stage_changed_at",
        "lapse_state",
        "loyalty_type",
        "tier",
        "tier_valid_until",
        "tier_pinned_until",
        "tier_pin_reason",
        "habits",
        "points_tools",
        "recent_ledger",
        "recent_purchases",
        "timeline",
    )
    fieldsets = (
        (None, {"fields": ("public_id", "card_number", "name", "phone", "email", "birthday", "interests")}),
        (
            "Enrolment",
            {"fields": ("enrolled_store", "enrolled_channel", "enrolled_at", "referral_code", "referred_by")},
        ),
        ("Consent", {"fields": ("consent_email", "consent_sms", "consent_updated_at")}),
        ("Status", {"fields": ("status", "suspended_reason", "suspended_at")}),
        (
            "Journey and tier",
            {
                "fields": (
                    "stage",
                    "stage_changed_at",
                    "lapse_state",
                    "loyalty_type",
                    "tier",
                    "tier_valid_until",
                    "tier_pinned_until",
                    "tier_pin_reason",
                    "habits",
                )
            },
        ),
        ("Stage, lapse and tier history", {"fields": ("timeline",)}),
        (
            "Points and spend",
            {
                "fields": (
                    "points_balance",
                    "points_tools",
                    "lifetime_spend",
                    "purchase_count",
                    "first_purchase_at",
                    "last_purchase_at",
                )
            },
        ),
        ("Recent ledger entries", {"fields": ("recent_ledger",)}),
        ("Recent purchases", {"fields": ("recent_purchases",)}),
    )
    actions = ["adjust_points_action", "suspend_action", "reinstate_action", "pin_tier_action"]

    def has_add_permission(self, request):
        # Members are enrolled through the enrolment service (POS, portal or demo data).
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        own = [
            path("adjust-points/", self.admin_site.admin_view(self.adjust_points_view), name="members_member_adjust"),
            path("suspend/", self.admin_site.admin_view(self.suspend_view), name="members_member_suspend"),
            path("pin-tier/", self.admin_site.admin_view(self.pin_tier_view), name="members_member_pin_tier"),
        ]
        return own + super().get_urls()

    @admin.display(description="Points")
    def points_tools(self, member):
        url = reverse("admin:members_member_adjust") + f"?ids={member.pk}"
        ledger = reverse("admin:rewards_ledgerentry_changelist") + f"?member__id__exact={member.pk}"
        return format_html('<a href="{}">Adjust points…</a> · <a href="{}">Full ledger</a>', url, ledger)

    @admin.display(description="Latest entries")
    def recent_ledger(self, member):
        entries = LedgerEntry.objects.filter(member=member).select_related("store", "staff_user")[:RECENT_ROWS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    local_time(e.created_at),
                    e.kind,
                    f"{e.points:+d}",
                    e.balance_after,
                    _actor(e),
                    e.reason,
                )
                for e in entries
            ),
        )
        return _table(("When", "Kind", "Points", "Balance", "By", "Reason"), rows)

    @admin.display(description="Latest purchases")
    def recent_purchases(self, member):
        purchases = Purchase.objects.filter(member=member).select_related("store")[:RECENT_ROWS]
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    local_time(p.occurred_at),
                    reverse("admin:members_purchase_change", args=[p.pk]),
                    p.receipt_id,
                    p.store,
                    p.channel,
                    p.total,
                    p.points_earned,
                )
                for p in purchases
            ),
        )
        return _table(("When", "Receipt", "Store", "Channel", "Total", "Points"), rows)

    @admin.display(description="Buys in")
    def habits(self, member):
        rows = MemberHabit.objects.filter(member=member).order_by("dimension", "-purchases")
        return ", ".join(f"{h.value} ({h.purchases}, last {local_date(h.last_at)})" for h in rows) or "-"

    @admin.display(description="Timeline")
    def timeline(self, member):
        events = [
            (c.created_at, f"{c.kind}: {c.from_value} → {c.to_value}", c.reason, c.run_id or "purchase/return")
            for c in StageChange.objects.filter(member=member)[:RECENT_ROWS]
        ] + [
            (
                c.created_at,
                f"tier {c.kind}: {c.from_tier or '-'} → {c.to_tier}",
                c.reason,
                c.run_id or c.staff_user or "purchase",
            )
            for c in TierChange.objects.filter(member=member).select_related("from_tier", "to_tier", "staff_user")[
                :RECENT_ROWS
            ]
        ]
        events.sort(key=lambda e: e[0], reverse=True)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((local_time(when), what, why, by) for when, what, why, by in events),
        )
        return _table(("When", "Change", "Why", "Run / by"), rows)

    @admin.action(description="Pin a tier for the selected members…")
    def pin_tier_action(self, request, queryset):
        return _redirect_with_ids("admin:members_member_pin_tier", queryset)

    def pin_tier_view(self, request):
        return self._bulk_view(
            request,
            form_class=TierPinForm,
            title="Pin a tier",
            intro="Keeps the members on this tier (or higher, if they earn it) until the date, whatever their spend.",
            apply=lambda member, data: tier_pin(
                member=member, tier=data["tier"], until=data["until"], reason=data["reason"], staff_user=request.user
            ),
        )

    @admin.action(description="Adjust points of the selected members…")
    def adjust_points_action(self, request, queryset):
        return _redirect_with_ids("admin:members_member_adjust", queryset)

    @admin.action(description="Suspend the selected members…")
    def suspend_action(self, request, queryset):
        return _redirect_with_ids("admin:members_member_suspend", queryset)

    @admin.action(description="Reinstate the selected members")
    def reinstate_action(self, request, queryset):
        for member in queryset:
            member_reinstate(member=member)
        self.message_user(request, f"Reinstated {queryset.count()} member(s).")

    def adjust_points_view(self, request):
        return self._bulk_view(
            request,
            form_class=PointsAdjustForm,
            title="Adjust points",
            intro="Adds or deducts points, recorded in each member's ledger with your name and the reason.",
            apply=lambda member, data: points_adjust(
                member=member, points=data["points"], reason=data["reason"], staff_user=request.user
            ),
        )

    def suspend_view(self, request):
        return self._bulk_view(
            request,
            form_class=SuspendForm,
            title="Suspend members",
            intro="Suspended members' purchases are still recorded but earn nothing; they cannot redeem.",
            apply=lambda member, data: member_suspend(member=member, reason=data["reason"]),
        )

    def _bulk_view(self, request, *, form_class, title, intro, apply):
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        # ASCII only: str.isdigit() also accepts digits such as '²' that int() refuses.
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isascii() and i.isdigit() and len(i) <= 18]
        members = list(Member.objects.filter(pk__in=ids))
        form = form_class(request.POST or None)
        errors = []
        if request.method == "POST" and form.is_valid() and members:
            try:
                with transaction.atomic():
                    for member in members:
                        apply(member, form.cleaned_data)
            except DomainError as exc:
                errors.append(f"Nothing was changed: {exc.detail}")
            else:
                self.message_user(request, f"{title}: done for {len(members)} member(s).", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:members_member_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "members": members,
            "form": form,
            "errors": errors,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/member_bulk_form.html", context)


def _redirect_with_ids(url_name: str, queryset) -> HttpResponseRedirect:
    ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True)[:500])
    return HttpResponseRedirect(reverse(url_name) + f"?ids={ids}")


def _actor(entry: LedgerEntry) -> str:
    return str(entry.staff_user or entry.store or entry.job)


def _table(headers, rows):
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)


class PurchaseLineInline(ReadOnlyAdminMixin, TabularInline):
    model = PurchaseLine
    fields = ("sku", "category", "quantity", "unit_price", "returned_quantity")
    readonly_fields = fields
    extra = 0


@admin.register(Purchase)
class PurchaseAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = (
        "receipt_id",
        "store",
        "member",
        "channel",
        "total",
        "returned_amount",
        "points_earned",
        "occurred_at",
    )
    list_filter = ("store", "channel", "occurred_at")
    search_fields = ("=receipt_id", "member__name")
    date_hierarchy = "occurred_at"
    list_select_related = ("store", "member")
    inlines = [PurchaseLineInline]


class ReturnLineInline(ReadOnlyAdminMixin, TabularInline):
    model = ReturnLine
    fields = ("purchase_line", "quantity")
    readonly_fields = fields
    extra = 0


@admin.register(Return)
class ReturnAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("receipt_id", "store", "purchase", "amount", "points_reversed", "created_at")
    list_filter = ("store", "created_at")
    search_fields = ("=receipt_id", "=purchase__receipt_id")
    member_path = "purchase__member__"
    list_select_related = ("store", "purchase__store")
    inlines = [ReturnLineInline]


@admin.register(StageChange)
class StageChangeAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("created_at", "member", "kind", "from_value", "to_value", "reason", "run")
    list_filter = ("kind", "to_value", "created_at")
    search_fields = ("member__name",)
    list_select_related = ("member",)
    date_hierarchy = "created_at"


@admin.register(StagePolicy)
class StagePolicyAdmin(ModelAdmin):
    """Editing the thresholds, with a preview of how many members each stage would hold."""

    change_form_template = "admin/members/stagepolicy/change_form.html"

    def has_add_permission(self, request):
        return not StagePolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        stage_policy_invalidate()
        self.message_user(
            request, "The next promote_stages and detect_lapse runs will examine every member (a full pass)."
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_preview" in request.POST and object_id:
            return self._preview(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview(self, request, object_id):
        saved = self.get_object(request, object_id)
        form = self.get_form(request, saved)(request.POST, instance=StagePolicy.objects.get(pk=saved.pk))
        context = {**self.admin_site.each_context(request), "title": "Stage policy preview", "opts": self.model._meta}
        if form.is_valid():
            edited = form.save(commit=False)
            now_counts, edited_counts = stage_counts(policy=stage_policy()), stage_counts(policy=edited)
            context["rows"] = [(label, now_counts[code], edited_counts[code]) for code, label in Stage.choices]
        context.update(form=form, post=request.POST)
        return TemplateResponse(request, "admin/members/stagepolicy/preview.html", context)
