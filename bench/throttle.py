"""Micro-benchmark: what the API rate limiter costs per request (stores/throttling.py).

Times `ApiRateThrottle.allow_request` for a keyed GET, as DRF calls it once per request, against
the real Redis: INCR (+ EXPIRE on a new window) of the window counter and GET of the API key
revocation count, in one Lua script call. Limits are raised so every call is allowed (the work is
the same either way). For scale it also times one bare Redis GET round trip with the same client.
Prints microseconds per call, wall clock and this process's CPU, as the median of several runs;
the verdict is on wall clock. On a busy machine the wall clock is mostly waiting for a core (the
bare GET shows how much).

    .venv/bin/python -m bench.throttle                      # Redis DB 15 on 127.0.0.1, 5 runs x 20,000 calls
    .venv/bin/python -m bench.throttle --redis-url redis://127.0.0.1:6379/8 --runs 7 --calls 50000

Writes only short-lived `loyalty:rate:*` counters (they expire after a second) and reads the
revocation count; needs no database.
"""

import argparse
import os
import sys
import time

from bench.harness import PROJECT_DIR, median

TARGET_US = 200.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()

    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="loyalty.settings",
        DEBUG="True",
        DATABASE_URL="postgres://unused@127.0.0.1:1/unused",  # never connected: the limiter needs Redis only
        REDIS_URL=args.redis_url,
        API_RATE_READ="100000000/second",
    )
    import django

    django.setup()
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from core.shared_redis import shared_redis
    from stores import key_cache
    from stores.authentication import StorePrincipal
    from stores.models import Store, StoreApiKey
    from stores.throttling import ApiRateThrottle

    key = StoreApiKey(pk=1, store=Store(pk=1, code="bench", name="Bench"), key_hash="0" * 64)
    request = Request(APIRequestFactory().get("/api/v1/members/x/"))
    request.user, request.auth = StorePrincipal(key, key.key_hash), key
    view = APIView()
    throttle = ApiRateThrottle()
    client = shared_redis()

    def limiter():
        if not throttle.allow_request(request, view):
            raise SystemExit("throttled: the limits were not raised")

    def bare_get():
        client.get("loyalty:bench:nothing")

    def per_call_us(func) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.calls):
            func()
        return (time.perf_counter() - wall) / args.calls * 1e6, (time.process_time() - cpu) / args.calls * 1e6

    # As after a process's first request: it has seen the revocation count (else it would read
    # the key from the database, which this benchmark has not got).
    key_cache.revocations_seen(int(client.get(key_cache.REVOCATIONS_KEY) or 0))
    limiter()
    results = {"limiter": [], "bare GET": []}
    for _ in range(args.runs):
        results["limiter"].append(per_call_us(limiter))
        results["bare GET"].append(per_call_us(bare_get))
    for name, runs in results.items():
        walls, cpus = [w for w, _c in runs], [c for _w, c in runs]
        print(
            f"{name:>9}: median {median(walls):6.1f} us/call wall, {median(cpus):6.1f} us CPU"
            f"  (wall per run: {', '.join(f'{w:.1f}' for w in walls)})"
        )
    limiter = median(w for w, _c in results["limiter"])
    verdict = "PASS" if limiter <= TARGET_US else "FAIL"
    print(f"{verdict}: limiter {limiter:.1f} us per request (target <= {TARGET_US:.0f} us)")
    return 0 if limiter <= TARGET_US else 1


if __name__ == "__main__":  # python -m bench.throttle
    sys.exit(main())
