"""`Authorization: Api-Key <key>` authentication for store POS systems."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions

from loyalty import logs

from . import throttling
from .key_cache import is_remembered, valid_key
from .models import StoreApiKey, api_key_digest

__all__ = ["KEYWORD", "IsStore", "StoreApiKeyAuthentication", "StorePrincipal"]

KEYWORD = "Api-Key"
# Recording every use would add a write to every request; once a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
INVALID_KEY = _("Invalid API key.")


class StorePrincipal:
    """The authenticated caller: a store, acting through one of its keys."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, api_key: StoreApiKey, digest: str):
        self.api_key = api_key
        self.store = api_key.store
        self.digest = digest

    def __str__(self):
        return f"store:{self.store.code}"


class StoreApiKeyAuthentication(authentication.BaseAuthentication):
    """Finds the key by its digest. A request that is not known to carry a valid key (none, a
    wrong one, or one this process has not seen yet) first counts against its client address's
    rate limit, so guessing keys or hammering the API without one is limited before the database
    is asked. Keyed requests are limited per key by `stores.throttling.ApiRateThrottle`."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        keyword, _sep, raw_key = header.partition(" ")
        if not header or keyword != KEYWORD:
            throttling.limit_anonymous(request)
            return None
        raw_key = raw_key.strip()
        if not raw_key or len(raw_key) > 200:
            throttling.limit_anonymous(request)
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        digest = api_key_digest(raw_key)
        if not is_remembered(digest):
            throttling.limit_anonymous(request)
        key = valid_key(digest)
        if key is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        _touch(key)
        logs.bind(store_id=key.store_id)
        return StorePrincipal(key, digest), key

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
