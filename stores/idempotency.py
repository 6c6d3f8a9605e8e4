"""Exactly-once POS writes keyed by the `Idempotency-Key` header.

The record is claimed by an INSERT as the first statement of the write's transaction. A retry
after the first answer committed hits the unique constraint and replays the stored answer; a
concurrent retry still in flight blocks on the same constraint until the first one commits, then
replays. A failed write rolls back its claim, so a retry simply tries again.
"""

import hashlib
import re
from collections.abc import Callable

from django.db import transaction
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.errors import DomainError
from core.unit_of_work import UnitOfWork
from loyalty import metrics

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Printable ASCII, spaces only inside (HTTP trims spaces and tabs around a header value): exactly
# what the OpenAPI schema states (core.api.schema.IDEMPOTENCY_KEY_SCHEMA).
KEY_SHAPE = re.compile(r"[!-~](?:[ -~]*[!-~])?")


class MissingIdempotencyKey(DomainError):
    code = "idempotency_key_required"


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"


def request_fingerprint(request) -> str:
    """What the request asked for: method, path and the body exactly as sent. A POS retry resends
    the same bytes; any other body under the same key is a different request."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request._request.body)
    return digest.hexdigest()


def idempotency_key(request) -> str:
    key = (request.headers.get(HEADER) or "").strip(" \t")
    if not key:
        raise MissingIdempotencyKey(
            f"The {HEADER} header is required for this request.",
            errors={HEADER: ["This header is required."]},
        )
    if len(key) > MAX_KEY_LENGTH or not KEY_SHAPE.fullmatch(key):
        raise MissingIdempotencyKey(
            f"The {HEADER} header must be 1-{MAX_KEY_LENGTH} printable characters.",
            errors={HEADER: ["Invalid value."]},
        )
    return key


def idempotent(request, write: Callable[[UnitOfWork], Response], *, required: bool = True) -> HttpResponse:
    """Run `write` once per (store, Idempotency-Key); replay its answer to any retry. Where the key
    is optional and absent, `write` simply runs (present but empty, it is refused like any
    malformed key).

    `write` gets the request's `UnitOfWork`: a service given it leaves its last writes held, and
    they go to the database with the stored answer, in one round trip, when `write` returns."""
    work = UnitOfWork()
    if not required and HEADER not in request.headers:
        with transaction.atomic():
            response = write(work)
            work.flush()
            return response
    key = idempotency_key(request)
    store = request.user.store
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        record = IdempotencyRecord(store_id=store.pk, key=key, fingerprint=fingerprint, response_body="")
        # The claim: a concurrent request holding the same key makes this wait until it commits
        # (then the row is skipped: replay) or rolls back (then the claim is ours).
        if work.insert_returning_id(record, skip_conflicts=True):
            response = write(work)
            record.response_status = response.status_code
            record.response_body = _RENDERER.render(response.data).decode()
            work.save_fields(record, "response_status", "response_body")
            work.flush()
            return HttpResponse(record.response_body, status=response.status_code, content_type="application/json")
    return _replay(store=store, key=key, fingerprint=fingerprint)


_RENDERER = JSONRenderer()


def _replay(*, store, key: str, fingerprint: str) -> HttpResponse:
    record = IdempotencyRecord.objects.get(store=store, key=key)
    if record.fingerprint != fingerprint:
        metrics.IDEMPOTENCY_REPLAYS.labels("key_reused").inc()
        raise IdempotencyKeyReused(
            f"This {HEADER} was already used for a different request.",
            errors={HEADER: ["Already used with a different request body."]},
        )
    response = HttpResponse(record.response_body, status=record.response_status, content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    metrics.IDEMPOTENCY_REPLAYS.labels("replayed").inc()
    return response
