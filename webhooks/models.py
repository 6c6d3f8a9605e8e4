"""Webhook endpoints, their signing secrets, and one delivery per (endpoint, event) with every
attempt logged."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from events.models import Event


class Endpoint(models.Model):
    """Where a retailer's system wants to hear about events. An empty `event_types` means every
    type. `active` is the staff's switch (off after a 410 too); `paused_at` is set after failing
    for `WEBHOOK_PAUSE_AFTER_HOURS`, and resuming clears it."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = ArrayField(
        models.CharField(max_length=64),
        verbose_name=_("event types"),
        default=list,
        blank=True,
        help_text=_("Leave empty to receive every event type."),
    )
    active = models.BooleanField(_("active"), default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Told by a staff message when the endpoint is paused or disabled."),
    )
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(_("disabled because"), max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.description or self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class EndpointSecret(models.Model):
    """A signing secret (`whsec_` + base64, the Standard Webhooks form). Shown once when made.
    During a rotation the old secret keeps signing until `expires_at`, so both signatures travel
    and a receiver can switch over at its own pace."""

    endpoint = models.ForeignKey(Endpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(_("secret"), max_length=100)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("endpoint secret")
        verbose_name_plural = _("endpoint secrets")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint"], condition=Q(expires_at__isnull=True), name="endpoint_one_current_secret"
            )
        ]

    def __str__(self):
        # Never the secret itself.
        return f"{self.endpoint_id}: {self.created_at:%Y-%m-%d %H:%M}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Given up")


class Delivery(models.Model):
    """One event to one endpoint, at least once. `member_id` and `sequence` are copied from the
    event so the claim can keep a member's deliveries in order with one index. A claimed delivery
    is `sending` until `lease_until`; a worker that dies leaves it to be claimed again after that."""

    endpoint = models.ForeignKey(
        Endpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="+")
    member_id = models.BigIntegerField(_("member"), null=True, blank=True)
    sequence = models.BigIntegerField(_("sequence"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint")]
        indexes = [
            # The claim: open deliveries per endpoint and member, in sequence order.
            models.Index(
                fields=["endpoint", "member_id", "sequence"],
                condition=Q(status__in=["pending", "sending"]),
                name="delivery_open_in_order",
            ),
            models.Index(fields=["endpoint", "created_at"], name="delivery_endpoint_created"),
        ]

    def __str__(self):
        return f"{self.event_id} -> {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP call: what was sent, what came back, how long it took."""

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(_("attempt"))
    attempted_at = models.DateTimeField(_("attempted at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    request_headers = models.JSONField(_("request headers"))
    request_body = models.TextField(_("request body"))
    status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response body"), blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        indexes = [models.Index(fields=["attempted_at"], name="attempt_attempted_at")]

    def __str__(self):
        return f"#{self.number} {self.status_code or self.error}"
