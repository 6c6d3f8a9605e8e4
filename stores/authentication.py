"""`Authorization: Api-Key <key>` authentication for store POS systems."""

import time
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from loyalty import logs

from .models import StoreApiKey
from .services import api_key_digest

KEYWORD = "Api-Key"
# Recording every use would add a write to every request; once a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Valid keys are remembered per process for this long: every POS request authenticates, and the
# lookup is a sizeable share of its cost. A revocation reaches the other processes within it.
KEY_CACHE_SECONDS = 10
_KEY_CACHE_MAX = 1000
_valid_keys: dict[str, tuple[float, StoreApiKey]] = {}
# Bumped by every clear: a lookup that read the key before a revocation cleared the cache must
# not put it back afterwards.
_cache_generation = 0


def api_key_cache_clear() -> None:
    global _cache_generation
    _cache_generation += 1
    _valid_keys.clear()


def _valid_key(digest: str) -> StoreApiKey | None:
    cached = _valid_keys.get(digest)
    if cached and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    generation = _cache_generation
    key = (
        StoreApiKey.objects.select_related("store")
        .filter(key_hash=digest, revoked_at__isnull=True, store__active=True)
        .first()
    )
    if key is None:
        _valid_keys.pop(digest, None)
    elif generation == _cache_generation:
        if len(_valid_keys) >= _KEY_CACHE_MAX:
            _valid_keys.clear()
        _valid_keys[digest] = (time.monotonic(), key)
    return key


class StorePrincipal:
    """The authenticated caller: a store, acting through one of its keys."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, api_key: StoreApiKey):
        self.api_key = api_key
        self.store = api_key.store

    def __str__(self):
        return f"store:{self.store.code}"


class StoreApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw_key = header.partition(" ")
        if keyword != KEYWORD:
            return None
        raw_key = raw_key.strip()
        if not raw_key or len(raw_key) > 200:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        key = _valid_key(api_key_digest(raw_key))
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        _touch(key)
        logs.bind(store_id=key.store_id)
        return StorePrincipal(key), key

    def authenticate_header(self, request):
        return KEYWORD


def _touch(key: StoreApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        StoreApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


class IsStore(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, StorePrincipal)
