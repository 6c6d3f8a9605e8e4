"""Back office for webhooks: endpoints (secret shown once, rotation, test send, resume) and the
delivery log (searchable by event id, member id or type; replay)."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.errors import DomainError
from events.types import SUBSCRIBABLE, EventType

from .models import Delivery, DeliveryAttempt, Endpoint
from .services import (
    deliveries_replay,
    endpoint_create,
    endpoint_resume,
    endpoint_secret_rotate,
    endpoint_test_send,
    endpoint_update,
    endpoint_validate,
)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=[(value, EventType(value).label) for value in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Leave empty to receive every event type."),
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "event_types", "owner"]

    def clean(self):
        cleaned = super().clean()
        if "url" in cleaned:
            try:
                endpoint_validate(url=cleaned["url"], event_types=cleaned.get("event_types", []))
            except DomainError as exc:
                for field, errors in exc.errors.items():
                    self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "description", "active", "paused_at", "failing_since", "disabled_reason", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    readonly_fields = ["active", "paused_at", "failing_since", "disabled_reason", "created_at"]
    actions = ["send_test_event", "rotate_secret", "resume"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            endpoint_update(
                endpoint=obj,
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
                owner=data["owner"],
            )
            return
        endpoint, secret = endpoint_create(
            url=data["url"], event_types=data["event_types"], description=data["description"], owner=data["owner"]
        )
        obj.pk = endpoint.pk
        messages.warning(request, _("The signing secret, shown only now: %(secret)s") % {"secret": secret})

    def has_delete_permission(self, request, obj=None):
        return False  # switch an endpoint off instead: its delivery log stays

    @admin.action(description=_("Send a test event"))
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            delivery = endpoint_test_send(endpoint=endpoint)
            level = messages.SUCCESS if delivery.status == "delivered" else messages.ERROR
            self.message_user(
                request,
                _("%(url)s answered %(code)s.") % {"url": endpoint.url, "code": delivery.last_status_code or "—"},
                level,
            )

    @admin.action(description=_("Rotate the signing secret (the old one signs for 24 more hours)"))
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            secret = endpoint_secret_rotate(endpoint=endpoint)
            messages.warning(
                request,
                _("New secret for %(url)s, shown only now: %(secret)s") % {"url": endpoint.url, "secret": secret},
            )

    @admin.action(description=_("Resume (switch on again)"))
    def resume(self, request, queryset):
        for endpoint in queryset:
            endpoint_resume(endpoint=endpoint)
        self.message_user(request, _("Resumed: what waited is delivered in order."))


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = [
        "number",
        "attempted_at",
        "status_code",
        "duration_ms",
        "error",
        "request_headers",
        "request_body",
        "response_body",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["number", "id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log. To replay every failed delivery of a period: filter by status "Given up"
    and the dates, select all, and run "Replay"."""

    list_display = [
        "created_at",
        "endpoint",
        "event_type",
        "member_id",
        "sequence",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "endpoint", "event__type"]
    list_select_related = ["endpoint", "event"]
    search_fields = []  # see get_search_results: an event id, a member id or an event type
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    actions = ["replay"]
    show_full_result_count = False

    def get_search_fields(self, request):
        return ["event__type"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(event__uuid=uuid.UUID(term)), False
        except ValueError:
            pass
        if term.isascii() and term.isdigit():
            return queryset.filter(member_id=int(term)), False
        return queryset.filter(event__type__startswith=term), False

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.action(description=_("Replay (send again now)"))
    def replay(self, request, queryset):
        count = deliveries_replay(deliveries=queryset)
        self.message_user(
            request,
            ngettext("%(count)d delivery will be sent again.", "%(count)d deliveries will be sent again.", count)
            % {"count": count},
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
