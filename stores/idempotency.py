"""Exactly-once POS writes keyed by the `Idempotency-Key` header.

The record is claimed by an INSERT as the first statement of the write's transaction. A retry
after the first answer committed hits the unique constraint and replays the stored answer; a
concurrent retry still in flight blocks on the same constraint until the first one commits, then
replays. A failed write rolls back its claim, so a retry simply tries again.
"""

import hashlib
import re
from collections.abc import Callable

from django.db import connection, transaction
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.errors import DomainError
from loyalty import metrics
from loyalty.fastsql import batched_writes, insert_rows

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


def idempotent(request, write: Callable[[], Response], *, required: bool = True) -> HttpResponse:
    """Run `write` once per (store, Idempotency-Key); replay its answer to any retry. Where the key
    is optional and absent, `write` simply runs (present but empty, it is refused like any
    malformed key)."""
    if not required and HEADER not in request.headers:
        with transaction.atomic(), batched_writes():
            return write()
    key = idempotency_key(request)
    store = request.user.store
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        record_id = _claim(store_id=store.pk, key=key, fingerprint=fingerprint)
        if record_id is not None:
            # The write's result-less statements ride along with the next one, the last with the
            # stored answer: fewer round trips per POS request.
            with batched_writes():
                response = write()
                content = _RENDERER.render(response.data)
                _remember(record_id, response.status_code, content)
            return HttpResponse(content, status=response.status_code, content_type="application/json")
    return _replay(store=store, key=key, fingerprint=fingerprint)


_RENDERER = JSONRenderer()
_TABLE = IdempotencyRecord._meta.db_table


def _claim(*, store_id: int, key: str, fingerprint: str) -> int | None:
    """Insert the record, or return None if the key is taken. A concurrent request holding the
    same key makes this wait until it commits (then None) or rolls back (then the claim is ours)."""
    row = {"store_id": store_id, "key": key, "fingerprint": fingerprint, "response_status": None, "response_body": ""}
    ids = insert_rows(IdempotencyRecord, [row], skip_conflicts_on=["store", "key"])
    return ids[0] if ids else None


def _remember(record_id: int, status: int, content: bytes) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET response_status = %s, response_body = %s WHERE id = %s",  # noqa: S608
            [status, content.decode(), record_id],
        )


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
