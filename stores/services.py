"""Writes for stores and their API keys."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .key_cache import api_key_cache_clear, api_key_revocations_bump
from .models import Channel, IdempotencyRecord, Store, StoreApiKey, api_key_digest

KEY_PREFIX_LENGTH = 8


@transaction.atomic
def store_get_or_create(*, name: str, channel: str = Channel.STORE, city: str = "") -> Store:
    name = name.strip()
    if not name:
        raise ValueError("A store needs a name.")
    store = Store.objects.filter(name=name).first()
    if store:
        return store
    code = _unique_store_code(name)
    return Store.objects.create(name=name, code=code, channel=channel, city=city)


def _unique_store_code(name: str) -> str:
    base = slugify(name)[:32] or "store"
    code, n = base, 1
    while Store.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


@transaction.atomic
def store_api_key_create(
    *, store: Store, label: str = "", created_by=None, chain_wide: bool = False, member_details: bool = False
) -> tuple[StoreApiKey, str]:
    """Create a key and return it with its secret, which is never stored and never shown again.
    A till's key needs no scope; `chain_wide` and `member_details` are for head office and
    service-desk systems (see StoreApiKey)."""
    raw_key = secrets.token_urlsafe(32)
    key = StoreApiKey.objects.create(
        store=store,
        label=label,
        prefix=raw_key[:KEY_PREFIX_LENGTH],
        key_hash=api_key_digest(raw_key),
        created_by=created_by,
        chain_wide=chain_wide,
        member_details=member_details,
    )
    return key, raw_key


@transaction.atomic
def store_api_key_revoke(*, key: StoreApiKey) -> StoreApiKey:
    """Revoke a key: every process refuses it from its next request on (see stores.key_cache)."""
    StoreApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_keys_changed_announce()
    key.refresh_from_db(fields=["revoked_at"])
    return key


@transaction.atomic
def store_api_key_scopes_set(*, key: StoreApiKey, chain_wide: bool, member_details: bool) -> StoreApiKey:
    """Change what a key may do; every process sees it from its next request on."""
    StoreApiKey.objects.filter(pk=key.pk).update(chain_wide=chain_wide, member_details=member_details)
    api_keys_changed_announce()
    key.refresh_from_db(fields=["chain_wide", "member_details"])
    return key


@transaction.atomic
def store_set_active(*, store: Store, active: bool) -> Store:
    """Open or close a store to the API (a closed store's keys are refused, as revoked ones)."""
    Store.objects.filter(pk=store.pk).update(active=active)
    api_keys_changed_announce()
    store.refresh_from_db(fields=["active"])
    return store


def api_keys_changed_announce() -> None:
    # This process forgets its keys now; the others once the change is committed (told earlier,
    # they could read the old row again and keep it).
    api_key_cache_clear()
    transaction.on_commit(api_key_revocations_bump)


def idempotency_records_purge(*, older_than: timedelta | None = None) -> int:
    """Forget POS replay records past their useful life; a retry that late is a new request."""
    cutoff = timezone.now() - (older_than or timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS))
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
