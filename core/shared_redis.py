"""One Redis client per process for the small shared counters the API keeps (rate limits, the API
key revocation count). Django's cache API cannot send several commands in one round trip, which
is what keeps these counters cheap enough for every POS request."""

import redis
from django.conf import settings

# A POS request must not hang on a stuck Redis: it fails fast and the caller degrades.
SOCKET_TIMEOUT_SECONDS = 0.5

_client: redis.Redis | None = None
_client_url = ""


def shared_redis() -> redis.Redis | None:
    """The client for REDIS_URL, or None without one (the single-process demo)."""
    global _client, _client_url
    url = settings.REDIS_URL
    if not url:
        return None
    if _client is None or _client_url != url:
        _client = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS
        )
        _client_url = url
    return _client
