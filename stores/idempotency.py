"""Exactly-once POS writes keyed by the `Idempotency-Key` header.

The record is claimed by an INSERT as the first statement of the write's transaction. A retry
after the first answer committed hits the unique constraint and replays the stored answer; a
concurrent retry still in flight blocks on the same constraint until the first one commits, then
replays. A failed write rolls back its claim, so a retry simply tries again.
"""

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from rest_framework.response import Response

from loyalty.errors import DomainError

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class MissingIdempotencyKey(DomainError):
    code = "idempotency_key_required"


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"


class _AlreadyClaimed(Exception):
    pass


def request_fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotency_key(request) -> str:
    key = (request.headers.get(HEADER) or "").strip()
    if not key:
        raise MissingIdempotencyKey(
            f"The {HEADER} header is required for this request.",
            errors={HEADER: ["This header is required."]},
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise MissingIdempotencyKey(
            f"The {HEADER} header must be 1-{MAX_KEY_LENGTH} printable characters.",
            errors={HEADER: ["Invalid value."]},
        )
    return key


def idempotent(request, write: Callable[[], Response], *, required: bool = True) -> Response:
    """Run `write` once per (store, Idempotency-Key); replay its answer to any retry. Where the key
    is optional and absent, `write` simply runs."""
    if not required and not request.headers.get(HEADER):
        with transaction.atomic():
            return write()
    key = idempotency_key(request)
    store = request.user.store
    fingerprint = request_fingerprint(request)
    try:
        with transaction.atomic():
            try:
                record = IdempotencyRecord.objects.create(store=store, key=key, fingerprint=fingerprint)
            except IntegrityError:
                raise _AlreadyClaimed from None
            response = write()
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                response_status=response.status_code,
                response_body=json.dumps(response.data, cls=DjangoJSONEncoder),
            )
            return response
    except _AlreadyClaimed:
        return _replay(store=store, key=key, fingerprint=fingerprint)


def _replay(*, store, key: str, fingerprint: str) -> Response:
    record = IdempotencyRecord.objects.get(store=store, key=key)
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"This {HEADER} was already used for a different request.",
            errors={HEADER: ["Already used with a different request body."]},
        )
    response = Response(json.loads(record.response_body), status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response
