"""Endpoints for orchestrators and Prometheus, answered before anything else runs.

- `/healthz` (liveness): the process is up and answering; touches nothing, so a database outage
  does not get every web process restarted.
- `/readyz` (readiness): the database and Redis answer and no migration is left to apply; until
  then a load balancer sends no traffic here.
- `/metrics`: Prometheus, behind METRICS_TOKEN (loyalty/metrics.py).

They are served by the first middleware, before host validation (ALLOWED_HOSTS) and the HTTPS
redirect: probes and scrapers address a container by its IP, and none of these answers builds a
URL from the Host header.
"""

import redis
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

from core.shared_redis import shared_redis
from loyalty import metrics

# Once every migration is applied it stays so for this process (new code means a new process), so
# the migration graph, slow to load, is read until the first "current" answer only.
_migrations_current = False


def _database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any failure means "not ready"
        return "unavailable"
    return "ok"


def _redis() -> str:
    client = shared_redis()  # the process's client, which the API's counters use too
    if client is None:
        return "not configured"
    try:
        client.ping()
    except (redis.RedisError, ValueError):
        return "unavailable"
    return "ok"


def _migrations() -> str:
    global _migrations_current
    if _migrations_current:
        return "ok"
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:  # the database is down: already reported
        return "unavailable"
    if pending:
        return "pending"
    _migrations_current = True
    return "ok"


def readiness() -> tuple[bool, dict]:
    checks = {"database": _database(), "redis": _redis()}
    checks["migrations"] = _migrations() if checks["database"] == "ok" else "unavailable"
    # Without REDIS_URL (the demo) tasks run in-process: nothing to wait for.
    ready = all(value in ("ok", "not configured") for value in checks.values())
    return ready, checks


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    ready, checks = readiness()
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


_ENDPOINTS = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics.metrics_response}


class OperationsEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        endpoint = _ENDPOINTS.get(request.path_info)
        if endpoint is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"status": "method not allowed"}, status=405, headers={"Allow": "GET, HEAD"})
        response = endpoint(request)
        response["Cache-Control"] = "no-store"
        return response
