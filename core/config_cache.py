"""Configuration rows read on almost every request (earning rules, tiers, stage policy), cached
per process for a short time. An edit takes effect everywhere within `TTL_SECONDS`; the process
that saved it invalidates its own copy at once."""

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
TTL_SECONDS = 30
_all: list["ConfigCache"] = []


class ConfigCache(Generic[T]):
    def __init__(self, loader: Callable[[], T], ttl: float = TTL_SECONDS):
        self._loader = loader
        self._ttl = ttl
        self._loaded_at = float("-inf")
        self._value: T | None = None
        _all.append(self)

    def get(self) -> T:
        if time.monotonic() - self._loaded_at > self._ttl:
            self._value = self._loader()
            self._loaded_at = time.monotonic()
        return self._value

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")


def invalidate_all() -> None:
    for cache in _all:
        cache.invalidate()
