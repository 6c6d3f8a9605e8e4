"""Pieces the back office's admin classes pick up to follow the roles (staff/roles.py).

- `StoreScopedAdminMixin`: a store manager sees and opens only rows of their stores.
- `PersonalDataMaskingAdminMixin`: an analyst sees members' names, phones and emails masked.
- `AuditHistoryAdminMixin`: the object's History page shows its audit trail (old and new values).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .masking import mask_email, mask_name, mask_phone
from .roles import masks_personal_data
from .selectors import object_audit_trail, scope_to_user_stores


class StoreScopedAdminMixin:
    """Rows reach a store through `store_scope_path` (one path or several, any of them counts)."""

    store_scope_path: str | tuple[str, ...] = "store"

    def _scope_paths(self) -> tuple[str, ...]:
        path = self.store_scope_path
        return (path,) if isinstance(path, str) else tuple(path)

    def get_queryset(self, request):
        return scope_to_user_stores(super().get_queryset(request), user=request.user, paths=self._scope_paths())

    def _in_scope(self, request, obj) -> bool:
        if obj is None:
            return True
        scoped = scope_to_user_stores(type(obj)._default_manager.all(), user=request.user, paths=self._scope_paths())
        return scoped is None or scoped.filter(pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._in_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._in_scope(request, obj)


_MASKERS = {"name": mask_name, "phone": mask_phone, "email": mask_email}


class PersonalDataMaskingAdminMixin:
    """Replaces `name`, `phone` and `email` (of the row itself) and `member` (a member column)
    with masked values, in lists and on pages, for users whose roles mask personal data."""

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if not masks_personal_data(request.user):
            return columns
        return [self._masked_column(column) for column in columns]

    def get_actions(self, request):
        # A row's checkbox is labelled with the member's name: no actions, no checkboxes.
        return {} if masks_personal_data(request.user) else super().get_actions(request)

    def get_list_display_links(self, request, list_display):
        links = super().get_list_display_links(request, list_display)
        if links and masks_personal_data(request.user):
            return [self._masked_column(column) for column in links]
        return links

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not masks_personal_data(request.user):
            return fieldsets
        return [
            (title, {**options, "fields": [self._masked_field(f) for f in options["fields"]]})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not masks_personal_data(request.user):
            return fields
        return [*fields, *(f"masked_{name}" for name in (*_MASKERS, "member"))]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The page's title names the row (str(obj), a member's name): masked like its fields.
        if object_id and masks_personal_data(request.user):
            obj = self.get_object(request, object_id)
            if obj is not None and hasattr(obj, "name"):
                masked = mask_name(obj.name) or "-"
                label = getattr(obj, "card_number", obj.pk)
                extra_context = {**(extra_context or {}), "subtitle": f"{masked} ({label})"}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def personal_data(self, request, obj) -> dict:
        """The row's name, phone and email as this user may see them (for custom templates)."""
        if not masks_personal_data(request.user):
            return {"name": obj.name, "phone": obj.phone, "email": obj.email}
        return {"name": mask_name(obj.name), "phone": mask_phone(obj.phone), "email": mask_email(obj.email)}

    def _masked_field(self, field):
        # A fieldset line may hold several fields side by side: ("name", "phone").
        if isinstance(field, (tuple, list)):
            return type(field)(self._masked_column(f) for f in field)
        return self._masked_column(field)

    def _masked_column(self, column):
        if isinstance(column, str) and (column in _MASKERS or column == "member"):
            return f"masked_{column}"
        return column

    @admin.display(description=_("name"))
    def masked_name(self, obj):
        return mask_name(obj.name)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return mask_phone(obj.phone)

    @admin.display(description=_("email"))
    def masked_email(self, obj):
        return mask_email(obj.email)

    @admin.display(description=_("member"))
    def masked_member(self, obj):
        member = obj.member
        if member is None:
            return "-"
        return f"{mask_name(member.name) or '-'} ({member.card_number})"


class AuditHistoryAdminMixin:
    """The History page lists the object's audit events above Django's own log."""

    object_history_template = "admin/staff/object_history.html"

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        extra = {"audit_rows": object_audit_trail(obj)} if obj is not None else {}
        return super().history_view(request, object_id, {**(extra_context or {}), **extra})
