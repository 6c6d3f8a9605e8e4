import uuid

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q, Sum
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import RangeDateFilter, RelatedDropdownFilter
from unfold.decorators import action as unfold_action
from unfold.widgets import INPUT_CLASSES, SELECT_CLASSES, TEXTAREA_CLASSES, UnfoldAdminSelect2MultipleWidget

from core.admin_base import ModelAdmin, TabularInline, computed_once
from core.admin_display import ReadOnlyAdminMixin, local_date, local_time
from core.errors import DomainError
from rewards.models import LedgerEntry
from staff.admin_mixins import AuditHistoryAdminMixin, PersonalDataMaskingAdminMixin, StoreScopedAdminMixin
from staff.services import points_adjust_or_request
from tiers.models import TierChange
from tiers.selectors import member_tier_progress
from tiers.services import tier_pin

from .admin_search import MemberIdentifierSearchMixin
from .categories import category_choices
from .forms import PointsAdjustForm, SuspendForm, TierPinForm
from .journey import stage_counts, stage_policy, stage_policy_invalidate
from .models import (
    Category,
    ChangeKind,
    LapseState,
    LoyaltyType,
    Member,
    MemberHabit,
    Purchase,
    PurchaseLine,
    Return,
    ReturnLine,
    Stage,
    StageChange,
    StagePolicy,
)
from .selectors import member_identifier_filter
from .services import member_reinstate, member_suspend

RECENT_ROWS = 15


class MemberForm(forms.ModelForm):
    """Interests are picked from the product categories (Settings > Categories), not typed as JSON."""

    interests = forms.MultipleChoiceField(
        label=_("Interests"), required=False, widget=UnfoldAdminSelect2MultipleWidget, choices=()
    )

    class Meta:
        model = Member
        fields = (
            "name",
            "phone",
            "email",
            "birthday",
            "interests",
            "language",
            "enrolled_store",
            "enrolled_channel",
            "referred_by",
            "consent_email",
            "consent_sms",
            "consent_updated_at",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = category_choices()
        known = {code for code, _label in choices}
        # An interest recorded before its category existed stays selectable rather than vanishing.
        kept = [(code, code) for code in (self.instance.interests or []) if code not in known]
        self.fields["interests"].choices = choices + kept


@admin.register(Member)
class MemberAdmin(
    StoreScopedAdminMixin,
    PersonalDataMaskingAdminMixin,
    AuditHistoryAdminMixin,
    MemberIdentifierSearchMixin,
    ModelAdmin,
):
    """The member as a person's file: a header with where they stand (card, tier and progress,
    stage, lapse, grid type, points and what expires next), tabs for their history, and the
    actions staff take on one person at the top of the page."""

    store_scope_path = "enrolled_store"
    form = MemberForm
    # Few columns, so the list fits a 1366 px screen; the rest is one click away.
    list_display = ("card_number", "name", "phone", "tier", "stage_label", "points_balance", "last_purchase")
    list_filter = (
        "status",
        "stage",
        "lapse_state",
        "loyalty_type",
        "tier",
        "enrolled_channel",
        ("enrolled_store", RelatedDropdownFilter),
        "consent_email",
        "consent_sms",
        ("enrolled_at", RangeDateFilter),
    )
    # Searched by MemberAdmin.get_search_results through indexes only: card or phone (however
    # typed), member id, email, referral code, or the start of a name.
    search_fields = ("name",)
    search_help_text = _("Phone or card number (any spelling), member id, email, referral code or the start of a name.")
    member_path = ""
    list_select_related = ("tier",)
    autocomplete_fields = ("enrolled_store",)
    raw_id_fields = ("referred_by",)
    change_form_before_template = "admin/members/member/file_header.html"
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
        "timeline",
        "recent_purchases",
        "recent_ledger",
        "expiring_points",
        "recent_vouchers",
        "recent_campaigns",
        "recent_feedback",
        "recent_complaints",
        "recent_follow_ups",
    )
    fieldsets = (
        (
            _("Profile"),
            {
                "classes": ["tab"],
                "fields": (
                    ("name", "phone"),
                    ("email", "birthday"),
                    "interests",
                    "language",
                    ("card_number", "referral_code"),
                    "public_id",
                    ("enrolled_store", "enrolled_channel"),
                    ("enrolled_at", "referred_by"),
                    ("consent_email", "consent_sms"),
                    "consent_updated_at",
                    ("status", "suspended_at"),
                    "suspended_reason",
                ),
            },
        ),
        (
            _("Timeline"),
            {
                "classes": ["tab"],
                "fields": (
                    ("stage", "stage_changed_at"),
                    ("lapse_state", "loyalty_type"),
                    ("tier", "tier_valid_until"),
                    ("tier_pinned_until", "tier_pin_reason"),
                    "habits",
                    "timeline",
                ),
            },
        ),
        (
            _("Purchases"),
            {
                "classes": ["tab"],
                "fields": (
                    ("lifetime_spend", "purchase_count"),
                    ("first_purchase_at", "last_purchase_at"),
                    "recent_purchases",
                ),
            },
        ),
        (_("Ledger"), {"classes": ["tab"], "fields": ("points_balance", "expiring_points", "recent_ledger")}),
        (_("Vouchers"), {"classes": ["tab"], "fields": ("recent_vouchers",)}),
        (_("Campaigns"), {"classes": ["tab"], "fields": ("recent_campaigns",)}),
        (_("Feedback and complaints"), {"classes": ["tab"], "fields": ("recent_feedback", "recent_complaints")}),
        (_("Follow-ups"), {"classes": ["tab"], "fields": ("recent_follow_ups",)}),
    )

    # ---- Member actions -------------------------------------------------------------------
    # On the list (several members) and on the member's page (one). Each opens a form and calls
    # one service; a refusal is a form error. Other modules add theirs in this block.
    actions = ["adjust_points_action", "suspend_action", "reinstate_action", "pin_tier_action"]
    actions_detail = [
        "adjust_points_detail",
        "suspend_detail",
        "reinstate_detail",
        "pin_tier_detail",
        "add_follow_up_detail",
        "open_complaint_detail",
    ]

    @unfold_action(description=_("Adjust points"), icon="exposure", url_path="adjust-points-of", permissions=["act"])
    def adjust_points_detail(self, request, object_id):
        return _redirect_with_ids("admin:members_member_adjust", [object_id])

    @unfold_action(description=_("Suspend"), icon="block", url_path="suspend-one", permissions=["act"])
    def suspend_detail(self, request, object_id):
        return _redirect_with_ids("admin:members_member_suspend", [object_id])

    @unfold_action(
        description=_("Reinstate"), icon="settings_backup_restore", url_path="reinstate-one", permissions=["act"]
    )
    def reinstate_detail(self, request, object_id):
        return _redirect_with_ids("admin:members_member_reinstate", [object_id])

    @unfold_action(description=_("Pin tier"), icon="keep", url_path="pin-tier-of", permissions=["act"])
    def pin_tier_detail(self, request, object_id):
        return _redirect_with_ids("admin:members_member_pin_tier", [object_id])

    @unfold_action(
        description=_("Add follow-up"), icon="add_call", url_path="add-follow-up", permissions=["add_follow_up"]
    )
    def add_follow_up_detail(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:feedback_followup_add") + f"?member={int(object_id)}")

    @unfold_action(
        description=_("Open complaint"),
        icon="report",
        url_path="open-complaint",
        permissions=["open_complaint"],
    )
    def open_complaint_detail(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:feedback_complaint_open") + f"?member={int(object_id)}")

    @admin.action(description=_("Adjust points of the selected members…"))
    def adjust_points_action(self, request, queryset):
        return _redirect_with_ids("admin:members_member_adjust", queryset.values_list("pk", flat=True)[:500])

    @admin.action(description=_("Suspend the selected members…"))
    def suspend_action(self, request, queryset):
        return _redirect_with_ids("admin:members_member_suspend", queryset.values_list("pk", flat=True)[:500])

    @admin.action(description=_("Reinstate the selected members…"))
    def reinstate_action(self, request, queryset):
        return _redirect_with_ids("admin:members_member_reinstate", queryset.values_list("pk", flat=True)[:500])

    @admin.action(description=_("Pin a tier for the selected members…"))
    def pin_tier_action(self, request, queryset):
        return _redirect_with_ids("admin:members_member_pin_tier", queryset.values_list("pk", flat=True)[:500])

    # Which of the page's buttons a user sees (each form it opens checks again, in scope). Named
    # methods, not "app.codename" strings: unfold's system check would query auth_permission for
    # those, before `migrate` has made it on a fresh database.
    def has_act_permission(self, request, object_id=None):
        return self.has_change_permission(request)

    def has_add_follow_up_permission(self, request, object_id=None):
        return request.user.has_perm("feedback.add_followup")

    def has_open_complaint_permission(self, request, object_id=None):
        return request.user.has_perm("feedback.change_complaint")

    # ---- End of member actions ------------------------------------------------------------

    def has_add_permission(self, request):
        # Members are enrolled through the enrolment service (POS, portal or demo data).
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        """Every kind of term goes to one index: a million members are never scanned."""
        term = search_term.strip()
        if not term:
            return queryset, False
        identifier = member_identifier_filter(term)
        if identifier is not None:
            return queryset.filter(identifier), False
        try:
            return queryset.filter(public_id=uuid.UUID(term)), False
        except ValueError:
            pass
        if "@" in term:
            return queryset.filter(email__iexact=term), False
        # A name by its start (a surname, 王 or 王小), or a referral code exactly.
        return queryset.filter(Q(name__istartswith=term) | Q(referral_code=term.upper())), False

    def get_urls(self):
        own = [
            path("adjust-points/", self.admin_site.admin_view(self.adjust_points_view), name="members_member_adjust"),
            path("suspend/", self.admin_site.admin_view(self.suspend_view), name="members_member_suspend"),
            path("reinstate/", self.admin_site.admin_view(self.reinstate_view), name="members_member_reinstate"),
            path("pin-tier/", self.admin_site.admin_view(self.pin_tier_view), name="members_member_pin_tier"),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        member = self.get_object(request, object_id)
        extra = {}
        if member is not None:
            header = member_file_header(member)
            # The header names the member: masked like the rest of the page for roles that mask.
            header.update(self.personal_data(request, member))
            extra = {"member_file": header}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @admin.display(description=_("Stage"), ordering="stage")
    def stage_label(self, member):
        return member.get_stage_display()

    @admin.display(description=_("Last purchase"), ordering="last_purchase_at")
    def last_purchase(self, member):
        return local_date(member.last_purchase_at) if member.last_purchase_at else "-"

    @admin.display(description=_("Latest entries"))
    @computed_once
    def recent_ledger(self, member):
        entries = LedgerEntry.objects.filter(member=member).select_related("store", "staff_user")
        rows = [
            [
                local_time(e.created_at),
                e.get_kind_display(),
                f"{e.points:+d}",
                e.balance_after,
                _actor(e),
                e.reason,
            ]
            for e in entries[:RECENT_ROWS]
        ]
        more = reverse("admin:rewards_ledgerentry_changelist") + f"?member__id__exact={member.pk}"
        return _table((_("When"), _("Kind"), _("Points"), _("Balance"), _("By"), _("Reason")), rows, more)

    @admin.display(description=_("Points expiring"))
    @computed_once
    def expiring_points(self, member):
        lots = (
            member.points_lots.filter(remaining__gt=0)
            .values("expires_at")
            .annotate(points=Sum("remaining"))
            .order_by("expires_at")[:5]
        )
        rows = [[local_date(lot["expires_at"]), lot["points"]] for lot in lots]
        return _table((_("Expires on"), _("Points")), rows)

    @admin.display(description=_("Latest purchases"))
    @computed_once
    def recent_purchases(self, member):
        purchases = Purchase.objects.filter(member=member).select_related("store")[:RECENT_ROWS]
        rows = [
            [
                local_time(p.occurred_at),
                _link("admin:members_purchase_change", p.pk, p.receipt_id),
                p.store,
                p.get_channel_display(),
                p.total,
                p.returned_amount,
                p.points_earned,
            ]
            for p in purchases
        ]
        more = reverse("admin:members_purchase_changelist") + f"?member__id__exact={member.pk}"
        return _table(
            (_("When"), _("Receipt"), _("Store"), _("Channel"), _("Total"), _("Returned"), _("Points")), rows, more
        )

    @admin.display(description=_("Vouchers"))
    @computed_once
    def recent_vouchers(self, member):
        vouchers = member.vouchers.select_related("reward")[:RECENT_ROWS]
        rows = [
            [
                _link("admin:rewards_voucher_change", v.pk, v.code),
                v.reward,
                v.get_status_display(),
                v.points_cost,
                local_date(v.issued_at),
                local_date(v.expires_at),
            ]
            for v in vouchers
        ]
        more = reverse("admin:rewards_voucher_changelist") + f"?member__id__exact={member.pk}"
        return _table((_("Code"), _("Reward"), _("Status"), _("Points"), _("Issued"), _("Expires")), rows, more)

    @admin.display(description=_("Campaigns"))
    @computed_once
    def recent_campaigns(self, member):
        grants = member.campaign_grants.select_related("campaign")[:RECENT_ROWS]
        rows = [
            [
                local_date(g.granted_at),
                _link("admin:campaigns_campaign_change", g.campaign_id, g.campaign),
                _("control group") if g.holdout else _("treated"),
                g.points,
            ]
            for g in grants
        ]
        return _table((_("When"), _("Campaign"), _("Group"), _("Points")), rows)

    @admin.display(description=_("Feedback"))
    @computed_once
    def recent_feedback(self, member):
        rows = [
            [local_date(f.created_at), f.get_source_display(), "-" if f.nps is None else f.nps, f.comment[:120]]
            for f in member.feedback.all()[:RECENT_ROWS]
        ]
        return _table((_("When"), _("Source"), _("NPS"), _("Comment")), rows)

    @admin.display(description=_("Complaints"))
    @computed_once
    def recent_complaints(self, member):
        rows = [
            [
                _link("admin:feedback_complaint_change", c.pk, f"#{c.pk}"),
                local_date(c.created_at),
                c.get_category_display(),
                c.get_severity_display(),
                c.get_status_display(),
            ]
            for c in member.complaints.order_by("-created_at")[:RECENT_ROWS]
        ]
        return _table((_("Complaint"), _("Opened"), _("Category"), _("Severity"), _("Status")), rows)

    @admin.display(description=_("Follow-ups"))
    @computed_once
    def recent_follow_ups(self, member):
        rows = [
            [
                _link("admin:feedback_followup_change", f.pk, local_time(f.happened_at)),
                f.get_kind_display(),
                f.get_outcome_display(),
                f.staff_user,
                f.notes[:120],
            ]
            for f in member.follow_ups.select_related("staff_user").order_by("-happened_at")[:RECENT_ROWS]
        ]
        return _table((_("When"), _("Kind"), _("Outcome"), _("By"), _("Notes")), rows)

    @admin.display(description=_("Buys in"))
    @computed_once
    def habits(self, member):
        rows = MemberHabit.objects.filter(member=member).order_by("dimension", "-purchases")
        return (
            ", ".join(
                gettext("%(value)s (%(purchases)s, last %(date)s)")
                % {"value": h.value, "purchases": h.purchases, "date": local_date(h.last_at)}
                for h in rows
            )
            or "-"
        )

    @admin.display(description=_("Stage, lapse and tier history"))
    @computed_once
    def timeline(self, member):
        events = [
            (
                c.created_at,
                f"{c.get_kind_display()}: {_value_label(c.kind, c.from_value)} → {_value_label(c.kind, c.to_value)}",
                c.reason,
                c.run_id or gettext("purchase or return"),
            )
            for c in StageChange.objects.filter(member=member)[:RECENT_ROWS]
        ] + [
            (
                c.created_at,
                gettext("tier %(kind)s: %(from)s → %(to)s")
                % {"kind": c.get_kind_display(), "from": c.from_tier or "-", "to": c.to_tier},
                c.reason,
                c.run_id or c.staff_user or gettext("purchase"),
            )
            for c in TierChange.objects.filter(member=member).select_related("from_tier", "to_tier", "staff_user")[
                :RECENT_ROWS
            ]
        ]
        events.sort(key=lambda e: e[0], reverse=True)
        rows = [[local_time(when), what, why, by] for when, what, why, by in events]
        return _table((_("When"), _("Change"), _("Why"), _("Run / by")), rows)

    def pin_tier_view(self, request):
        return self._bulk_view(
            request,
            form_class=TierPinForm,
            title=_("Pin a tier"),
            intro=_(
                "Keeps the members on this tier (or higher, if they earn it) until the date, whatever their spend."
            ),
            apply=lambda member, data: tier_pin(
                member=member, tier=data["tier"], until=data["until"], reason=data["reason"], staff_user=request.user
            ),
        )

    def adjust_points_view(self, request):
        return self._bulk_view(
            request,
            form_class=PointsAdjustForm,
            title=_("Adjust points"),
            intro=_("Adds or deducts points, recorded in each member's ledger with your name and the reason."),
            apply=lambda member, data: points_adjust_or_request(
                member=member, points=data["points"], reason=data["reason"], staff_user=request.user
            ),
        )

    def suspend_view(self, request):
        return self._bulk_view(
            request,
            form_class=SuspendForm,
            title=_("Suspend members"),
            intro=_("Suspended members' purchases are still recorded but earn nothing; they cannot redeem."),
            apply=lambda member, data: member_suspend(member=member, reason=data["reason"]),
        )

    def reinstate_view(self, request):
        return self._bulk_view(
            request,
            form_class=forms.Form,
            title=_("Reinstate members"),
            intro=_("Reinstated members earn and redeem again from now on."),
            apply=lambda member, data: member_reinstate(member=member),
        )

    def _bulk_view(self, request, *, form_class, title, intro, apply):
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        # ASCII only: str.isdigit() also accepts digits such as '²' that int() refuses.
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isascii() and i.isdigit() and len(i) <= 18]
        members = list(self.get_queryset(request).filter(pk__in=ids))
        form = styled(form_class(request.POST or None))
        errors = []
        if request.method == "POST" and form.is_valid() and members:
            try:
                with transaction.atomic():
                    for member in members:
                        apply(member, form.cleaned_data)
            except DomainError as exc:
                errors.append(gettext("Nothing was changed: %(detail)s") % {"detail": exc.detail})
            else:
                self.message_user(
                    request,
                    ngettext(
                        "%(title)s: done for %(count)d member.", "%(title)s: done for %(count)d members.", len(members)
                    )
                    % {"title": title, "count": len(members)},
                    messages.SUCCESS,
                )
                # One member: back to their file, where the change shows; several: back to the list.
                if len(members) == 1:
                    return HttpResponseRedirect(reverse("admin:members_member_change", args=[members[0].pk]))
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


def styled(form):
    """A plain form's widgets in unfold's look (its admin forms get this from formfield overrides)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.Textarea):
            classes = TEXTAREA_CLASSES
        elif isinstance(widget, forms.Select):
            classes = SELECT_CLASSES
        else:
            classes = INPUT_CLASSES
        widget.attrs["class"] = " ".join(classes)
    return form


def member_file_header(member: Member) -> dict:
    """What the top of a member's page says about them, in one glance."""
    progress = member_tier_progress(member=member)
    next_expiry = (
        member.points_lots.filter(remaining__gt=0)
        .values("expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("expires_at")
        .first()
    )
    percent = None
    if progress and progress.next_tier and progress.spend_to_next is not None and progress.next_tier.threshold:
        reached = progress.next_tier.threshold - progress.spend_to_next
        percent = max(0, min(100, int(reached * 100 / progress.next_tier.threshold)))
    return {
        "member": member,
        "name": member.name,
        "phone": member.phone,
        "progress": progress,
        "progress_percent": percent,
        "next_expiry_points": next_expiry["points"] if next_expiry else None,
        "next_expiry_at": local_date(next_expiry["expires_at"]) if next_expiry else None,
        "tier_valid_until": local_date(member.tier_valid_until) if member.tier_valid_until else None,
        "last_purchase": local_date(member.last_purchase_at) if member.last_purchase_at else None,
    }


def _redirect_with_ids(url_name: str, pks) -> HttpResponseRedirect:
    ids = ",".join(str(int(pk)) for pk in pks)
    return HttpResponseRedirect(reverse(url_name) + f"?ids={ids}")


_CHANGE_VALUES = {ChangeKind.STAGE: Stage, ChangeKind.LAPSE: LapseState, ChangeKind.GRID: LoyaltyType}


def _value_label(kind: str, value: str) -> str:
    """A stage, lapse state or grid type as staff read it ("First-time buyer", not first_time)."""
    if not value:
        return "-"
    return str(dict(_CHANGE_VALUES[kind].choices).get(value, value)) if kind in _CHANGE_VALUES else value


def _link(url_name: str, pk, text):
    return format_html(
        '<a href="{}" class="text-primary-600 dark:text-primary-500">{}</a>', reverse(url_name, args=[pk]), text
    )


def _actor(entry: LedgerEntry) -> str:
    return str(entry.staff_user or entry.store or entry.job)


def _table(headers, rows, more_url: str = ""):
    """A history table in unfold's style; `more_url` leads to the full list."""
    if not rows:
        return gettext("None yet.")
    table = render_to_string("unfold/components/table.html", {"table": {"headers": headers, "rows": rows}})
    if more_url:
        more = format_html(
            '<p class="mt-2"><a href="{}" class="text-primary-600">{}</a></p>', more_url, gettext("All…")
        )
        return format_html("{}{}", mark_safe(table), more)  # noqa: S308 (rendered by the template engine)
    return mark_safe(table)  # noqa: S308 (rendered by the template engine, which escapes the cells)


class PurchaseLineInline(ReadOnlyAdminMixin, TabularInline):
    model = PurchaseLine
    fields = ("sku", "category", "quantity", "unit_price", "returned_quantity")
    readonly_fields = fields
    extra = 0


@admin.register(Purchase)
class PurchaseAdmin(
    StoreScopedAdminMixin,
    PersonalDataMaskingAdminMixin,
    MemberIdentifierSearchMixin,
    ReadOnlyAdminMixin,
    ModelAdmin,
):
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
class ReturnAdmin(
    StoreScopedAdminMixin,
    PersonalDataMaskingAdminMixin,
    MemberIdentifierSearchMixin,
    ReadOnlyAdminMixin,
    ModelAdmin,
):
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


@admin.register(Category)
class CategoryAdmin(AuditHistoryAdminMixin, ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(StagePolicy)
class StagePolicyAdmin(AuditHistoryAdminMixin, ModelAdmin):
    """Editing the thresholds, with a preview of how many members each stage would hold."""

    change_form_template = "admin/members/stagepolicy/change_form.html"

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not StagePolicy.objects.exists()

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
