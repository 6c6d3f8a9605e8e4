"""The HTTP side of a delivery: the body, the Standard Webhooks signature, one POST.

No database access here: runs of deliveries are sent from a thread pool and their outcomes
written back by the caller in one transaction."""

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from .models import Delivery, DeliveryAttempt

RESPONSE_KEPT = 2000
_local = threading.local()


@dataclass
class Outcome:
    delivery: Delivery
    attempt: DeliveryAttempt | None  # None: not tried (an earlier one of its run failed)
    ok: bool = False
    status_code: int | None = None


def body_of(event) -> str:
    """The JSON a receiver gets: the Standard Webhooks envelope plus our id, order and version."""
    return json.dumps(
        {
            "id": str(event.uuid),
            "type": event.type,
            "timestamp": event.occurred_at.isoformat(),
            "sequence": event.sequence,
            "schema_version": event.schema_version,
            "data": event.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def headers_for(msg_id: str, body: str, secrets: list[str], at: datetime) -> dict[str, str]:
    """Standard Webhooks headers, one `v1,` signature per live secret (two during a rotation)."""
    at = at.astimezone(UTC)
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "user-agent": "loyalty-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def _session() -> requests.Session:
    # One keep-alive session per sending thread (a Session is not safe to share between threads).
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def send_one(delivery: Delivery, secrets: list[str]) -> Outcome:
    event = delivery.event
    body = body_of(event)
    attempted_at = timezone.now()
    headers = headers_for(str(event.uuid), body, secrets, attempted_at)
    started = time.monotonic()
    status_code, response_body, error = None, "", ""
    try:
        response = _session().post(
            delivery.endpoint.url,
            data=body.encode(),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status_code, response_body = response.status_code, response.text[:RESPONSE_KEPT]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    logged_headers = {**headers, "webhook-signature": "v1,…"}  # the log never holds a valid signature
    attempt = DeliveryAttempt(
        delivery=delivery,
        number=delivery.attempts + 1,
        attempted_at=attempted_at,
        duration_ms=int((time.monotonic() - started) * 1000),
        request_headers=logged_headers,
        request_body=body,
        status_code=status_code,
        response_body=response_body,
        error=error,
    )
    ok = status_code is not None and 200 <= status_code < 300
    return Outcome(delivery, attempt, ok, status_code)


def send_run(run) -> list[Outcome]:
    """Send one member's deliveries in order; after a failure (or once the claim's lease is close
    to running out) the rest are not tried, so nothing overtakes the one that failed."""
    outcomes = []
    for index, delivery in enumerate(run.deliveries):
        lease_left = (delivery.lease_until - timezone.now()).total_seconds() if delivery.lease_until else 0
        if lease_left < settings.WEBHOOK_TIMEOUT_SECONDS + 1:
            outcomes += [Outcome(rest, None) for rest in run.deliveries[index:]]
            break
        outcome = send_one(delivery, run.secrets)
        outcomes.append(outcome)
        if not outcome.ok:
            outcomes += [Outcome(rest, None) for rest in run.deliveries[index + 1 :]]
            break
    return outcomes
