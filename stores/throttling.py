"""Rate limits for the POS API: per key, and per client address for requests without a valid key.

Fixed one-period windows counted in Redis: one command per request (a small Lua script: INCR,
EXPIRE on a new window, and GET of the API key revocation count, see `stores.key_cache`), so a
check costs one round trip whatever the rate.
DRF's SimpleRateThrottle keeps a list of timestamps per caller instead, which costs O(rate) per
request at 100/second. A fixed window lets a caller burst up to twice its rate across a window
edge; for a ceiling on abuse that is precise enough.

Rates use DRF's syntax (`100/second`, `600/minute`) and come from settings read per request:
`API_RATE_READ` (GET), `API_RATE_WRITE` (everything else), `API_RATE_LOOKUP` (finding members by
phone or card, and enrolment, which answers "is this phone enrolled?"), `API_RATE_ANON` (per
address, before a key is known to be valid). A view picks a rate with `throttle_scope`.
"""

import logging
import time
from functools import cache

import redis
from django.conf import settings
from django.core.cache import cache as django_cache
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from core.shared_redis import shared_redis

from . import key_cache
from .models import StoreApiKey

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SCOPES = ("read", "write", "lookup", "anon")


@cache
def parse_rate(rate: str) -> tuple[int, int]:
    """`"100/second"` -> (100, 1). Raises ValueError for anything else (settings check it at start)."""
    number, _sep, period = rate.partition("/")
    if not number.strip().isdigit() or int(number) < 1 or period.strip()[:1] not in PERIODS:
        raise ValueError(f"{rate!r} is not a rate like 100/second, 600/minute, 1000/hour or 10000/day")
    return int(number), PERIODS[period.strip()[0]]


def _rate(scope: str) -> tuple[int, int]:
    return parse_rate(getattr(settings, f"API_RATE_{scope.upper()}"))


def _hit(name: str, period: int, *, with_revocations: bool) -> tuple[int, int | None]:
    """Count one request in `name`'s current window. Returns the window's count and, if asked, the
    API key revocation count (None if unknown). If Redis cannot be reached the request is let
    through (count 0): a checkout must not fail because the limiter is down."""
    now = time.time()
    key = f"loyalty:rate:{name}:{int(now // period)}"
    client = shared_redis()
    if client is None:
        django_cache.add(key, 0, timeout=period + 1)
        count = django_cache.incr(key)
        return count, key_cache.local_revocation_count() if with_revocations else None
    try:
        count, revocations = _counter_script(client)(
            keys=[key, key_cache.REVOCATIONS_KEY if with_revocations else key], args=[period + 1]
        )
    except redis.RedisError:
        logger.warning("Rate limiter: Redis unreachable, request let through", exc_info=True)
        return 0, None
    return count, int(revocations or 0) if with_revocations else None


# INCR the window's counter (and give it an expiry when it is new) and read the revocation count,
# as one command: one round trip, and less client work than a three-command pipeline
# (bench/throttle.py measured both).
_COUNTER_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('GET', KEYS[2]) or false}
"""
_scripts: dict[int, redis.commands.core.Script] = {}


def _counter_script(client: redis.Redis):
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_COUNTER_LUA)
    return script


def _seconds_left(period: int) -> float:
    return period - time.time() % period


def limit_anonymous(request) -> None:
    """Count a request without a (known) valid key against its client address; 429 over the rate."""
    limit, period = _rate("anon")
    count, _revocations = _hit(f"anon:{BaseThrottle().get_ident(request)}", period, with_revocations=False)
    if count > limit:
        raise exceptions.Throttled(wait=_seconds_left(period))


class ApiRateThrottle(BaseThrottle):
    """Per-key limit for keyed requests; per-user for staff reading the API docs. Requests without
    a key were counted by address during authentication. Also where a process learns that a key
    was revoked elsewhere: the revocation count rides in the same round trip."""

    def __init__(self):
        self._wait = None

    def allow_request(self, request, view):
        scope = getattr(view, "throttle_scope", None) or ("read" if request.method in SAFE_METHODS else "write")
        limit, period = _rate(scope)
        keyed = isinstance(request.auth, StoreApiKey)
        if keyed:
            ident = f"key{request.auth.pk}"
        elif getattr(request.user, "is_authenticated", False):
            ident = f"user{request.user.pk}"
        else:
            return True
        count, revocations = _hit(f"{scope}:{ident}", period, with_revocations=keyed)
        if keyed and key_cache.revocations_seen(revocations):
            _require_still_valid(request)
        if count > limit:
            self._wait = _seconds_left(period)
            return False
        return True

    def wait(self):
        return self._wait


def _require_still_valid(request) -> None:
    key = key_cache.valid_key(request.user.digest)
    if key is None:
        raise exceptions.AuthenticationFailed(_("Invalid API key."))
    # The scopes may have changed too: the rest of the request uses the key as it is now.
    request.user.api_key, request.user.store, request.auth = key, key.store, key
