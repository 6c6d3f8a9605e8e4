"""Webhook endpoints and delivery: fan-out of events to deliveries, claiming due deliveries in
order per member, sending them signed (Standard Webhooks), retrying with back-off.

Order per member per endpoint: a delivery is claimed only when every earlier open delivery of the
same member to the same endpoint is claimable in the same claim, and a worker sends a member's
run in sequence order, stopping at the first failure (the rest go back to wait behind it). Fan-out
and claim each run one at a time (a transaction-level advisory lock; an overlapping run simply
does nothing), so a later event can never be handed on or claimed ahead of an earlier one.
"""

import base64
import random
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import field_error
from events.models import Event
from events.services import build
from events.types import EXAMPLES, SUBSCRIBABLE, EventType
from messaging.services import messages_queue_for_staff

from .models import Delivery, DeliveryAttempt, DeliveryStatus, Endpoint, EndpointSecret
from .sending import Outcome, send_run

# Keys of the transaction-level advisory locks that make fan-out and claim run one at a time.
FAN_OUT_LOCK = 0x77E6_0001
CLAIM_LOCK = 0x77E6_0002


# --- endpoints -----------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme == "https" or (scheme == "http" and settings.WEBHOOK_ALLOW_HTTP):
        return
    raise field_error("url", gettext("The URL must start with https://."), "https_required")


def _check_types(event_types: list[str]) -> None:
    unknown = sorted(set(event_types) - set(SUBSCRIBABLE))
    if unknown:
        raise field_error("event_types", gettext("Unknown event types: %s.") % ", ".join(unknown))


def endpoint_validate(*, url: str, event_types: list[str]) -> None:
    """The rules an endpoint's URL and types must meet (the admin's form calls this too)."""
    _check_url(url)
    _check_types(event_types)


@transaction.atomic
def endpoint_create(*, url: str, event_types: list[str], owner=None, description: str = "") -> tuple[Endpoint, str]:
    """Create an endpoint and its first secret; the secret is returned here and never shown again."""
    endpoint_validate(url=url, event_types=event_types)
    endpoint = Endpoint.objects.create(url=url, event_types=event_types, owner=owner, description=description)
    secret = new_secret()
    EndpointSecret.objects.create(endpoint=endpoint, secret=secret)
    return endpoint, secret


@transaction.atomic
def endpoint_update(*, endpoint: Endpoint, url: str, event_types: list[str], description: str, owner=None) -> Endpoint:
    """Change where and what an endpoint receives; its secrets and deliveries stay."""
    endpoint_validate(url=url, event_types=event_types)
    Endpoint.objects.filter(pk=endpoint.pk).update(
        url=url, event_types=event_types, description=description, owner=owner
    )
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def endpoint_secret_rotate(*, endpoint: Endpoint, overlap: timedelta | None = None) -> str:
    """A new secret; the current one keeps signing for `overlap` (default
    `WEBHOOK_SECRET_OVERLAP_HOURS`), then stops. Returns the new secret, shown once."""
    overlap = timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS) if overlap is None else overlap
    now = timezone.now()
    Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    EndpointSecret.objects.filter(endpoint=endpoint, expires_at__lte=now).delete()
    EndpointSecret.objects.filter(endpoint=endpoint, expires_at__isnull=True).update(expires_at=now + overlap)
    secret = new_secret()
    EndpointSecret.objects.create(endpoint=endpoint, secret=secret)
    return secret


@transaction.atomic
def endpoint_resume(*, endpoint: Endpoint) -> None:
    """Switch an endpoint back on after a pause or a 410; what waited is delivered in order."""
    Endpoint.objects.filter(pk=endpoint.pk).update(active=True, paused_at=None, failing_since=None, disabled_reason="")


def signing_secrets(endpoint_id: int, at: datetime) -> list[str]:
    return list(
        EndpointSecret.objects.filter(endpoint_id=endpoint_id)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .order_by("-created_at")
        .values_list("secret", flat=True)
    )


# --- fan-out -------------------------------------------------------------------------------


@transaction.atomic
def events_fan_out(*, limit: int = 2000) -> int:
    """Make the deliveries of up to `limit` events not handed on yet, oldest first, and mark them
    handed on. Idempotent (one delivery per endpoint and event); returns how many events it took,
    0 when another fan-out is running."""
    if not _try_lock(FAN_OUT_LOCK):
        return 0
    events = list(
        Event.objects.filter(dispatched_at__isnull=True)
        .order_by("id")
        .values_list("id", "type", "member_id", "sequence")[:limit]
    )
    if not events:
        return 0
    now = timezone.now()
    endpoints = list(Endpoint.objects.filter(active=True))
    Delivery.objects.bulk_create(
        [
            Delivery(
                endpoint=endpoint,
                event_id=event_id,
                member_id=member_id,
                sequence=sequence,
                next_attempt_at=now,
                created_at=now,
            )
            for event_id, event_type, member_id, sequence in events
            for endpoint in endpoints
            if event_type != EventType.WEBHOOK_TEST and endpoint.wants(event_type)
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    Event.objects.filter(id__in=[row[0] for row in events]).update(dispatched_at=now)
    return len(events)


def _try_lock(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return cursor.fetchone()[0]


# --- claim ---------------------------------------------------------------------------------


def _ready(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )


@transaction.atomic
def deliveries_claim(*, limit: int = 200) -> list[int]:
    """Claim up to `limit` due deliveries (status sending, leased for `WEBHOOK_LEASE_SECONDS`) of
    endpoints that are on, oldest first, each only if no earlier delivery of its member to its
    endpoint is still waiting or being sent. A delivery whose worker died is claimed again when
    its lease runs out."""
    if not _try_lock(CLAIM_LOCK):
        return []
    now = timezone.now()
    waiting_earlier = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        member_id=OuterRef("member_id"),
        sequence__lt=OuterRef("sequence"),
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING],
    ).exclude(_ready(now))
    # Delivery rows only (`of`): the endpoint joined in the filter is not locked.
    claimable = (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(_ready(now), endpoint__active=True, endpoint__paused_at__isnull=True)
        .exclude(Exists(waiting_earlier))
        .order_by("id")
    )
    ids = list(claimable.values_list("id", flat=True)[:limit])
    Delivery.objects.filter(id__in=ids).update(
        status=DeliveryStatus.SENDING, lease_until=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    )
    return ids


# --- sending -------------------------------------------------------------------------------


@dataclass
class Run:
    """One member's claimed deliveries to one endpoint, in sequence order."""

    endpoint: Endpoint
    secrets: list[str]
    deliveries: list[Delivery] = field(default_factory=list)


def deliveries_send(*, delivery_ids: list[int]) -> dict[str, int]:
    """Send claimed deliveries: each member's run in order (stopping at a failure), runs
    concurrently. Records every attempt; returns counts by outcome."""
    deliveries = list(
        Delivery.objects.filter(id__in=delivery_ids, status=DeliveryStatus.SENDING)
        .select_related("event", "endpoint")
        .order_by("sequence", "id")
    )
    now = timezone.now()
    secrets_by_endpoint = {}
    runs: dict[tuple, Run] = {}
    for delivery in deliveries:
        endpoint = delivery.endpoint
        if endpoint.pk not in secrets_by_endpoint:
            secrets_by_endpoint[endpoint.pk] = signing_secrets(endpoint.pk, now)
        key = (endpoint.pk, delivery.member_id if delivery.member_id is not None else f"d{delivery.pk}")
        runs.setdefault(key, Run(endpoint, secrets_by_endpoint[endpoint.pk])).deliveries.append(delivery)
    outcomes = send_run_all(list(runs.values()))
    return _record_outcomes(outcomes)


def send_run_all(runs: list[Run]) -> list[Outcome]:
    if len(runs) <= 1:
        return [outcome for run in runs for outcome in send_run(run)]
    return [outcome for outcomes in _sending_pool().map(send_run, runs) for outcome in outcomes]


_pool: ThreadPoolExecutor | None = None


def _sending_pool() -> ThreadPoolExecutor:
    """One pool per process, made on first use (after a prefork worker has forked): its threads,
    and their keep-alive connections to the endpoints, live as long as the process."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=settings.WEBHOOK_SEND_THREADS, thread_name_prefix="webhook-send")
    return _pool


@transaction.atomic
def _record_outcomes(outcomes: list[Outcome]) -> dict[str, int]:
    now = timezone.now()
    counts = {"delivered": 0, "retry": 0, "failed": 0, "released": 0}
    sent = [outcome for outcome in outcomes if outcome.attempt is not None]
    DeliveryAttempt.objects.bulk_create([outcome.attempt for outcome in sent])
    delivered: dict[int, list[int]] = {}
    for outcome in sent:
        if outcome.ok:
            delivered.setdefault(outcome.status_code, []).append(outcome.delivery.pk)
    for status_code, ids in delivered.items():
        Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.DELIVERED,
            delivered_at=now,
            lease_until=None,
            attempts=F("attempts") + 1,
            last_status_code=status_code,
        )
    counts["delivered"] = sum(map(len, delivered.values()))
    released = [o.delivery.pk for o in outcomes if o.attempt is None]
    counts["released"] = Delivery.objects.filter(pk__in=released, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING, lease_until=None
    )
    for outcome in sent:
        if not outcome.ok:
            counts["failed" if _retry_or_give_up(outcome, now) else "retry"] += 1
    _endpoint_health([o for o in sent], now)
    return counts


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off with jitter: base x 2^(attempts-1), capped, then a random point in
    its upper half (so a burst of failures does not retry in lockstep)."""
    delay = min(settings.WEBHOOK_RETRY_CAP_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    return timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))


def _retry_or_give_up(outcome: Outcome, now: datetime) -> bool:
    """Schedule the next attempt; after `WEBHOOK_RETRY_FOR_HOURS` give up. True if given up."""
    delivery = outcome.delivery
    attempts = delivery.attempts + 1
    give_up = delivery.created_at <= now - timedelta(hours=settings.WEBHOOK_RETRY_FOR_HOURS)
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING,
        attempts=attempts,
        next_attempt_at=now + retry_delay(attempts),
        lease_until=None,
        last_status_code=outcome.status_code,
    )
    return give_up


def _endpoint_health(sent: list[Outcome], now: datetime) -> None:
    by_endpoint: dict[int, list[Outcome]] = {}
    for outcome in sent:
        by_endpoint.setdefault(outcome.delivery.endpoint_id, []).append(outcome)
    for endpoint_id, outcomes in by_endpoint.items():
        endpoint = outcomes[0].delivery.endpoint
        if any(o.status_code == 410 for o in outcomes):
            _endpoint_stop(endpoint, now, gone=True)
        elif any(o.ok for o in outcomes):
            Endpoint.objects.filter(pk=endpoint_id, failing_since__isnull=False).update(failing_since=None)
        else:
            Endpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=now)
            limit = now - timedelta(hours=settings.WEBHOOK_PAUSE_AFTER_HOURS)
            if Endpoint.objects.filter(pk=endpoint_id, failing_since__lte=limit, paused_at__isnull=True).exists():
                _endpoint_stop(endpoint, now, gone=False)


def _endpoint_stop(endpoint: Endpoint, now: datetime, *, gone: bool) -> None:
    """Disable an endpoint that answered 410 Gone, or pause one failing too long; tell its owner once."""
    if gone:
        changed = Endpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, disabled_reason=gettext("The endpoint answered 410 Gone.")
        )
        subject = _("Webhook endpoint disabled: %(url)s")
        body = _("%(url)s answered 410 Gone, so no more events are sent to it. Switch it on again in the back office.")
    else:
        changed = Endpoint.objects.filter(pk=endpoint.pk, paused_at__isnull=True).update(paused_at=now)
        subject = _("Webhook endpoint paused: %(url)s")
        body = _(
            "%(url)s has failed for %(hours)s hours, so it is paused. Its events wait; resume it in the back office."
        )
    if changed and endpoint.owner_id:
        values = {"url": endpoint.url, "hours": settings.WEBHOOK_PAUSE_AFTER_HOURS}
        messages_queue_for_staff(
            users=[endpoint.owner],
            kind="webhook_endpoint_stopped",
            dedupe_prefix=f"webhook:{endpoint.pk}:{'gone' if gone else 'paused'}:{now.isoformat()}",
            subject=str(subject) % values,
            body=str(body) % values,
        )


# --- replay and test -----------------------------------------------------------------------


def deliveries_replay(*, deliveries) -> int:
    """Send the given finished deliveries (delivered or given up) again, now. Returns how many."""
    return deliveries.filter(status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), lease_until=None
    )


def deliveries_replay_failed(*, endpoint: Endpoint | None = None, since: datetime, until: datetime) -> int:
    """Replay every delivery given up on whose event was created in [since, until)."""
    deliveries = Delivery.objects.filter(status=DeliveryStatus.FAILED, created_at__gte=since, created_at__lt=until)
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return deliveries_replay(deliveries=deliveries)


def endpoint_test_send(*, endpoint: Endpoint) -> Delivery:
    """Send a `webhook.test` event to this endpoint now, once, and log it like any delivery."""
    now = timezone.now()
    with transaction.atomic():
        event = build(EventType.WEBHOOK_TEST, data=dict(EXAMPLES[EventType.WEBHOOK_TEST]), occurred_at=now)
        event.dispatched_at = now
        event.save()
        delivery = Delivery.objects.create(
            endpoint=endpoint,
            event=event,
            status=DeliveryStatus.SENDING,
            next_attempt_at=now,
            created_at=now,
            lease_until=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
        )
    deliveries_send(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    return delivery
