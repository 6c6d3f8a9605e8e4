"""Prometheus metrics: what an operator watches (docs/operations.md has the alerts).

Metric objects are module globals, as prometheus_client expects. Under gunicorn and the Celery
prefork pool several processes count at once: with PROMETHEUS_MULTIPROC_DIR set (bin/web and
bin/worker set it up), each process writes its samples to files there and a scrape sums them
(prometheus_client's multiprocess mode). The outbox gauges are read from the database at scrape
time, by one indexed query, so they are true whichever process answers.
"""

import hmac
import os
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

# Request latencies of a POS API: most answers take a few ms, a slow one 100s of ms.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Tasks and chunks run from milliseconds (send an SMS) to minutes (a chunk of 20,000 members).
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 180, 600, 900)

HTTP_REQUESTS = Counter(
    "loyalty_http_requests",
    "HTTP requests answered, by view (route name), method and status.",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "loyalty_http_request_duration_seconds",
    "Time from request to response, by view and method.",
    ["view", "method"],
    buckets=_LATENCY_BUCKETS,
)
POS_OPERATIONS = Counter(
    "loyalty_pos_operations",
    "POS writes (purchase, return, redemption, ...) by outcome: ok, replayed, or the error code.",
    ["operation", "outcome"],
)
IDEMPOTENCY_REPLAYS = Counter(
    "loyalty_idempotency_replays",
    "Requests answered from a stored Idempotency-Key: replayed, or refused as reused with another body.",
    ["outcome"],
)
RATE_LIMIT_REFUSALS = Counter(
    "loyalty_rate_limit_refusals", "Requests refused by the rate limiter (429), by scope.", ["scope"]
)
TASK_DURATION = Histogram(
    "loyalty_celery_task_duration_seconds",
    "Celery task run time, by task name and outcome (success, failure).",
    ["task", "outcome"],
    buckets=_TASK_BUCKETS,
)
TASK_FAILURES = Counter(
    "loyalty_celery_task_failures", "Celery tasks that raised, by task and exception.", ["task", "exception"]
)
JOB_RUNS = Counter("loyalty_job_runs", "Batch job runs started, by job and trigger.", ["job", "triggered_by"])
JOB_CHUNK_DURATION = Histogram(
    "loyalty_job_chunk_duration_seconds",
    "Batch job chunk run time, by job and outcome (done, skipped, failed).",
    ["job", "outcome"],
    buckets=_TASK_BUCKETS,
)
JOB_CHUNK_FAILURES = Counter("loyalty_job_chunk_failures", "Batch job chunks that raised, by job.", ["job"])


def observe_chunk(job: str, outcome: str, seconds: float) -> None:
    JOB_CHUNK_DURATION.labels(job, outcome).observe(seconds)
    if outcome == "failed":
        JOB_CHUNK_FAILURES.labels(job).inc()


class OutboxCollector:
    """Outbox backlog (due messages not yet sent) and the age of the oldest, read at scrape time.
    The query reads only pending rows, through the (status, send_after) index."""

    def collect(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), min(coalesce(send_after, created_at)) FROM messaging_outboxmessage "
                "WHERE status = 'pending' AND (send_after IS NULL OR send_after <= %s)",
                [timezone.now()],
            )
            count, oldest = cursor.fetchone()
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("loyalty_outbox_backlog_messages", "Outbox messages due and not yet sent.", value=count)
        yield GaugeMetricFamily(
            "loyalty_outbox_oldest_due_age_seconds", "How long the oldest due outbox message has waited.", value=age
        )


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition() -> bytes:
    """Everything this process group counted, plus the gauges read from the database."""
    scrape_time = CollectorRegistry()
    scrape_time.register(OutboxCollector())
    return generate_latest(_registry()) + generate_latest(scrape_time)


def _refusal(authorization: str) -> int | None:
    """404 while METRICS_TOKEN is unset (no metrics endpoint), 403 without `Bearer <METRICS_TOKEN>`."""
    token = settings.METRICS_TOKEN
    if not token:
        return 404
    if not hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return 403
    return None


def metrics_response(request) -> HttpResponse:
    """`/metrics` of the web app, for Prometheus."""
    refused = _refusal(request.headers.get("Authorization", ""))
    if refused:
        return HttpResponse(status=refused)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def _worker_app(environ, start_response):
    refused = _refusal(environ.get("HTTP_AUTHORIZATION", ""))
    if refused or environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found" if refused != 403 else "403 Forbidden", [("Content-Length", "0")])
        return [b""]
    body = generate_latest(_registry())
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # scrapes every few seconds would flood the log
        pass


def serve_in_thread(port: int, addr: str | None = None):
    """Serve `/metrics` of this process group (a Celery worker and its pool) in a daemon thread."""
    addr = addr or os.environ.get("METRICS_ADDR", "0.0.0.0")  # noqa: S104 (a container's own port)
    server = make_server(addr, port, _worker_app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


class MetricsMiddleware:
    """Counts and times every request by view (the URL pattern's name, so label values stay few),
    and the outcome of POS writes: views that are one say so with a `pos_operation` attribute."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        view = (match.view_name or match.route) if match else "unresolved"
        HTTP_REQUESTS.labels(view, request.method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(view, request.method).observe(elapsed)
        operation = getattr(getattr(match.func, "cls", None), "pos_operation", None) if match else None
        if operation:
            POS_OPERATIONS.labels(operation, _outcome(response)).inc()
        return response


def _outcome(response) -> str:
    if response.status_code < 400:
        return "replayed" if response.get("Idempotent-Replayed") else "ok"
    data = getattr(response, "data", None)
    code = data.get("code") if isinstance(data, dict) else None
    return str(code) if code else f"http_{response.status_code}"
