from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_base import ModelAdmin
from core.admin_display import ReadOnlyAdminMixin, local_time
from members.admin_search import MemberIdentifierSearchMixin

from .member_values import member_clv
from .models import AnalyticsToken, CustomerValueFit, MemberValue
from .tokens import analytics_token_revoke


class PAliveFilter(admin.SimpleListFilter):
    """P(alive) in buckets staff act on: at risk, uncertain, likely, almost surely still buying."""

    title = _("probability alive")
    parameter_name = "p_alive"
    BUCKETS = {
        "lt25": (_("below 25%"), 0.0, 0.25),
        "25-50": (_("25% to 50%"), 0.25, 0.5),
        "50-75": (_("50% to 75%"), 0.5, 0.75),
        "75up": (_("75% and above"), 0.75, None),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _low, _high) in self.BUCKETS.items()]

    def queryset(self, request, queryset):
        if self.value() not in self.BUCKETS:
            return queryset
        _label, low, high = self.BUCKETS[self.value()]
        queryset = queryset.filter(p_alive__gte=low)
        return queryset if high is None else queryset.filter(p_alive__lt=high)


@admin.register(MemberValue)
class MemberValueAdmin(MemberIdentifierSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = (
        "member",
        "predicted_12m",
        "p_alive_percent",
        "expected_purchases_12m_rounded",
        "expected_spend",
        "historic_12m",
        "historic_lifetime",
        "frequency",
        "as_of_local",
    )
    list_filter = (PAliveFilter,)
    # Card or phone however typed, matched through the unique indexes only (a million rows here);
    # a search box is shown only while search_fields is not empty.
    identifier_only = True
    search_fields = ("=member__phone", "=member__card_number")
    list_select_related = ("member",)
    ordering = ("-predicted_12m",)
    show_full_result_count = False  # a count of a million rows on every page is not worth it

    @admin.display(description=_("probability alive"), ordering="p_alive")
    def p_alive_percent(self, value):
        return f"{value.p_alive:.0%}"

    @admin.display(description=_("expected purchases, next 12 months"), ordering="expected_purchases_12m")
    def expected_purchases_12m_rounded(self, value):
        return f"{value.expected_purchases_12m:.2f}"

    @admin.display(description=_("as of"), ordering="as_of")
    def as_of_local(self, value):
        return local_time(value.as_of)


@admin.register(CustomerValueFit)
class CustomerValueFitAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = (
        "as_of_local",
        "customers",
        "repeat_buyers",
        "r",
        "alpha",
        "a",
        "b",
        "log_likelihood",
        "p",
        "q",
        "gamma",
        "spend_log_likelihood",
        "converged",
        "seconds",
        "created_at_local",
    )
    list_filter = ("converged",)

    @admin.display(description=_("as of"), ordering="as_of")
    def as_of_local(self, fit):
        return local_time(fit.as_of)

    @admin.display(description=_("created at"), ordering="created_at")
    def created_at_local(self, fit):
        return local_time(fit.created_at)


@admin.register(AnalyticsToken)
class AnalyticsTokenAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Tokens are created with `manage.py analytics_token_create USER LABEL` (shown once there);
    here they are listed and revoked."""

    list_display = ("label", "user", "created_at_local", "last_used_at", "revoked_at")
    list_select_related = ("user",)
    actions = ["revoke"]

    @admin.display(description=_("created at"), ordering="created_at")
    def created_at_local(self, token):
        return local_time(token.created_at)

    def has_revoke_permission(self, request):
        return request.user.has_perm("analytics.change_analyticstoken")

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        for token in queryset:
            analytics_token_revoke(token=token)


@admin.display(description=_("customer value"))
def member_value_display(member) -> str:
    """For the member page (`readonly_fields` of the member admin): P(alive) and predicted value
    as of the last valuation, or a dash before the first."""
    value = member_clv(member_id=member.pk)
    if value is None:
        return "-"
    return _("P(alive) %(p_alive)s, predicted next 12 months %(predicted)s, last 12 months %(historic)s") % {
        "p_alive": f"{value['p_alive']:.0%}",
        "predicted": value["predicted_12m"],
        "historic": value["historic_12m"],
    }
