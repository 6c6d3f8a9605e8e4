"""Valid API keys remembered per process, and the shared revocation count that makes every
process forget them at once.

Every POS request authenticates, and reading the key is a sizeable share of a checkout's cost, so
each process remembers the keys it has seen valid. A revocation (or a closed store, or a changed
scope) increments a counter in Redis after it commits; the rate limiter reads that counter in the
round trip it makes anyway (`stores.throttling`), and a process that sees it move forgets every
key it remembers and reads the caller's key again. So a revoked key is refused by every process
at its next request. Without Redis (the single-process demo) the counter lives in the local cache;
the age limit below is the safety net if Redis is unreachable.
"""

import logging
import time

import redis
from django.core.cache import cache

from core.shared_redis import shared_redis

from .models import StoreApiKey

logger = logging.getLogger(__name__)

REVOCATIONS_KEY = "loyalty:api-key-revocations"
# Even without news from Redis a key is read again after this long.
KEY_CACHE_SECONDS = 10
_KEY_CACHE_MAX = 1000
_valid_keys: dict[str, tuple[float, StoreApiKey]] = {}
# Bumped by every clear: a lookup that read the key before a revocation cleared the cache must
# not put it back afterwards.
_cache_generation = 0
# The revocation count this process last saw; None until the first request.
_revocations_seen: int | None = None


def api_key_cache_clear() -> None:
    global _cache_generation
    _cache_generation += 1
    _valid_keys.clear()


def valid_key(digest: str) -> StoreApiKey | None:
    """The active key with this digest, from this process's memory when it can."""
    cached = _valid_keys.get(digest)
    if cached and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    return _read_key(digest)


def is_remembered(digest: str) -> bool:
    cached = _valid_keys.get(digest)
    return bool(cached and time.monotonic() - cached[0] < KEY_CACHE_SECONDS)


def _read_key(digest: str) -> StoreApiKey | None:
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


def revocations_seen(count: int | None) -> bool:
    """Take note of the shared revocation count (None: unknown, Redis unreachable). Returns True
    if the remembered keys were forgotten, i.e. the caller's key must be read again."""
    global _revocations_seen
    if count is None or count == _revocations_seen:
        # Unknown (Redis unreachable): the keys' age limit is the safety net, rather than reading
        # every request's key again while the limiter cannot answer.
        return False
    # On the first request too: a key read before this process first saw the count may be stale.
    _revocations_seen = count
    api_key_cache_clear()
    return True


def local_revocation_count() -> int:
    """The count where there is no Redis: this process's cache."""
    return int(cache.get(REVOCATIONS_KEY, 0))


def api_key_revocations_bump() -> None:
    """Tell every process to forget the keys it remembers; called after a revocation commits."""
    api_key_cache_clear()
    client = shared_redis()
    if client is None:
        if not cache.add(REVOCATIONS_KEY, 1, timeout=None):
            cache.incr(REVOCATIONS_KEY)
        return
    try:
        client.incr(REVOCATIONS_KEY)
    except redis.RedisError:
        # The other processes fall back to KEY_CACHE_SECONDS; the revocation itself is committed.
        logger.exception("API key change not announced; other processes notice within %ss", KEY_CACHE_SECONDS)
