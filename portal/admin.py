"""Staff act on a member's data rights for requests made in a store: export and closure, as
actions of the member list (the member admin, extended by this app, which sits above it), and the
record of every such request."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from core.admin_base import ModelAdmin
from core.admin_display import ReadOnlyAdminMixin
from core.errors import DomainError
from members.admin import MemberAdmin, _redirect_with_ids
from members.models import Member, PrivacyRecord

from .privacy import PrivacyChannel, member_close, member_data_export


class CloseAccountForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("The members asked for their accounts to be closed, and I checked who they are."), required=True
    )


class MemberWithDataRightsAdmin(MemberAdmin):
    actions = [*MemberAdmin.actions, "export_data_action", "close_account_action"]

    def get_urls(self):
        own = [path("close/", self.admin_site.admin_view(self.close_account_view), name="members_member_close")]
        return own + super().get_urls()

    @admin.action(description=_("Export the selected member's data (zip), at their request"))
    def export_data_action(self, request, queryset):
        members = list(queryset[:2])
        if len(members) != 1:
            self.message_user(request, _("Select exactly one member to export."), messages.ERROR)
            return None
        try:
            export = member_data_export(member=members[0], channel=PrivacyChannel.STAFF, staff_user=request.user)
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return None
        response = HttpResponse(export.content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response

    @admin.action(description=_("Close the selected members' accounts, at their request…"))
    def close_account_action(self, request, queryset):
        return _redirect_with_ids("admin:members_member_close", queryset.values_list("pk", flat=True)[:500])

    def close_account_view(self, request):
        return self._bulk_view(
            request,
            form_class=CloseAccountForm,
            title=_("Close accounts"),
            intro=_(
                "Erases each member's personal data and free texts at once, cancels their unused vouchers and "
                "ends their portal sessions. Purchases and points stay, without a name. This cannot be undone."
            ),
            apply=lambda member, data: member_close(
                member=member, channel=PrivacyChannel.STAFF, staff_user=request.user
            ),
        )


# The member admin is `members`' own; the portal app sits above it and adds the data-rights actions.
admin.site.unregister(Member)
admin.site.register(Member, MemberWithDataRightsAdmin)


@admin.register(PrivacyRecord)
class PrivacyRecordAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Every export and closure of a member's data."""

    list_display = ("created_at", "action", "channel", "member", "staff_user", "details")
    list_filter = ("action", "channel")
    list_select_related = ("member", "staff_user")
    date_hierarchy = "created_at"
    raw_id_fields = ("member",)
