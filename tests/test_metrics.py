"""Prometheus metrics: the /metrics endpoint and each metric family (loyalty/metrics.py)."""

import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone
from prometheus_client import REGISTRY

from jobs.models import RunStatus
from jobs.registry import JOBS, Job
from jobs.services import job_run_now
from loyalty import metrics
from messaging.models import MessageStatus, OutboxMessage
from messaging.tasks import send_due_messages
from tests.api.helpers import post, purchase_body
from tests.factories import buy

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests"


def value(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get():
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        return response.content.decode()

    return get


def test_metrics_do_not_exist_without_a_token_configured(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404


def test_metrics_refuse_a_scrape_without_the_bearer_token(client, settings):
    settings.METRICS_TOKEN = TOKEN

    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


def test_metrics_are_served_in_the_prometheus_text_format(client, settings):
    settings.METRICS_TOKEN = TOKEN

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE loyalty_http_requests_total counter" in response.content.decode()


def test_requests_are_counted_and_timed_per_view(api, member):
    before = value("loyalty_http_requests_total", view="member-detail", method="GET", status="200")
    timed = value("loyalty_http_request_duration_seconds_count", view="member-detail", method="GET")

    api.get(f"/api/v1/members/{member.public_id}/")

    assert value("loyalty_http_requests_total", view="member-detail", method="GET", status="200") == before + 1
    assert value("loyalty_http_request_duration_seconds_count", view="member-detail", method="GET") == timed + 1


def test_errors_are_counted_per_view_by_status(api):
    before = value("loyalty_http_requests_total", view="member-detail", method="GET", status="404")

    api.get("/api/v1/members/8000000000000000/")

    assert value("loyalty_http_requests_total", view="member-detail", method="GET", status="404") == before + 1


def test_unknown_urls_share_one_label(client):
    before = value("loyalty_http_requests_total", view="unresolved", method="GET", status="404")

    client.get(f"/no-such-page-{uuid.uuid4().hex}/")

    assert value("loyalty_http_requests_total", view="unresolved", method="GET", status="404") == before + 1


def test_purchase_outcomes_are_counted(api, member):
    ok = value("loyalty_pos_operations_total", operation="purchase", outcome="ok")
    replayed = value("loyalty_pos_operations_total", operation="purchase", outcome="replayed")
    not_found = value("loyalty_pos_operations_total", operation="purchase", outcome="not_found")

    body = purchase_body(member)
    post(api, "/api/v1/purchases/", body, key="k1")
    post(api, "/api/v1/purchases/", body, key="k1")
    post(api, "/api/v1/purchases/", {**body, "member": "8000000000000000"}, key="k2")

    assert value("loyalty_pos_operations_total", operation="purchase", outcome="ok") == ok + 1
    assert value("loyalty_pos_operations_total", operation="purchase", outcome="replayed") == replayed + 1
    assert value("loyalty_pos_operations_total", operation="purchase", outcome="not_found") == not_found + 1


def test_redemption_outcomes_are_counted_by_code(api, member):
    buy(member, api.store, "100.00")
    ok = value("loyalty_pos_operations_total", operation="redemption", outcome="ok")
    refused = value("loyalty_pos_operations_total", operation="redemption", outcome="insufficient_points")

    post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": 5, "receipt_id": "S1"})
    post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": 50, "receipt_id": "S2"})

    assert value("loyalty_pos_operations_total", operation="redemption", outcome="ok") == ok + 1
    assert value("loyalty_pos_operations_total", operation="redemption", outcome="insufficient_points") == refused + 1


def test_idempotency_replays_and_reused_keys_are_counted(api, member):
    replayed = value("loyalty_idempotency_replays_total", outcome="replayed")
    reused = value("loyalty_idempotency_replays_total", outcome="key_reused")

    body = purchase_body(member)
    post(api, "/api/v1/purchases/", body, key="same")
    post(api, "/api/v1/purchases/", body, key="same")
    post(api, "/api/v1/purchases/", purchase_body(member), key="same")

    assert value("loyalty_idempotency_replays_total", outcome="replayed") == replayed + 1
    assert value("loyalty_idempotency_replays_total", outcome="key_reused") == reused + 1


def test_rate_limit_refusals_have_a_counter(scrape):
    metrics.RATE_LIMIT_REFUSALS.labels("pos").inc()

    assert 'loyalty_rate_limit_refusals_total{scope="pos"}' in scrape()


def test_task_durations_are_recorded():
    before = value("loyalty_celery_task_duration_seconds_count", task="messaging.send_due", outcome="success")

    send_due_messages.apply()

    assert (
        value("loyalty_celery_task_duration_seconds_count", task="messaging.send_due", outcome="success") == before + 1
    )


@shared_task(name="tests.always_fails")
def always_fails():
    raise LookupError("broken on purpose")


def test_task_failures_are_counted_by_exception():
    failures = value("loyalty_celery_task_failures_total", task="tests.always_fails", exception="LookupError")
    timed = value("loyalty_celery_task_duration_seconds_count", task="tests.always_fails", outcome="failure")

    with pytest.raises(LookupError):
        always_fails.apply()

    assert (
        value("loyalty_celery_task_failures_total", task="tests.always_fails", exception="LookupError") == failures + 1
    )
    assert (
        value("loyalty_celery_task_duration_seconds_count", task="tests.always_fails", outcome="failure") == timed + 1
    )


def test_job_runs_and_chunk_durations_are_recorded(member, django_capture_on_commit_callbacks):
    runs = value("loyalty_job_runs_total", job="promote_stages", triggered_by="test")
    chunks = value("loyalty_job_chunk_duration_seconds_count", job="promote_stages", outcome="done")

    with django_capture_on_commit_callbacks(execute=True):
        job_run_now(name="promote_stages", full=True, triggered_by="test")

    assert value("loyalty_job_runs_total", job="promote_stages", triggered_by="test") == runs + 1
    assert value("loyalty_job_chunk_duration_seconds_count", job="promote_stages", outcome="done") == chunks + 1


def test_job_chunk_failures_are_counted(member, monkeypatch):
    def fail(**chunk):
        raise RuntimeError("chunk broke")

    monkeypatch.setitem(JOBS, "always_fails", Job(name="always_fails", description="", chunk=fail))
    failures = value("loyalty_job_chunk_failures_total", job="always_fails")

    summary = job_run_now(name="always_fails")

    # Retried in-process until its retries are used up, then failed for good: counted once.
    assert summary.run.status == RunStatus.FAILED
    assert value("loyalty_job_chunk_failures_total", job="always_fails") == failures + 1
    assert value("loyalty_job_chunk_duration_seconds_count", job="always_fails", outcome="failed") == 1


def _message(member, key, **fields):
    return OutboxMessage.objects.create(
        member=member, kind="test", channel="sms", subject="s", body="b", dedupe_key=key, **fields
    )


def test_outbox_backlog_and_oldest_age_are_read_at_scrape_time(member, scrape):
    old = _message(member, "old")
    OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    _message(member, "new")
    _message(member, "later", send_after=timezone.now() + timedelta(hours=1))  # backing off: not due
    _message(member, "sent", status=MessageStatus.SENT, sent_at=timezone.now())

    text = scrape()

    assert "loyalty_outbox_backlog_messages 2.0" in text
    age = float(
        next(line for line in text.splitlines() if line.startswith("loyalty_outbox_oldest_due_age_seconds ")).split()[1]
    )
    assert 3600 <= age < 3700


def test_an_empty_outbox_has_no_age(scrape):
    text = scrape()

    assert "loyalty_outbox_backlog_messages 0.0" in text
    assert "loyalty_outbox_oldest_due_age_seconds 0.0" in text


def test_job_runs_started_by_staff_are_counted_without_their_names(member, django_capture_on_commit_callbacks):
    before = value("loyalty_job_runs_total", job="promote_stages", triggered_by="admin")

    with django_capture_on_commit_callbacks(execute=True):
        job_run_now(name="promote_stages", full=True, triggered_by="admin: mei.lin")

    assert value("loyalty_job_runs_total", job="promote_stages", triggered_by="admin") == before + 1


def _get(url, token=None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (a loopback http URL)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_worker_serves_its_metrics_behind_the_same_token(settings):
    settings.METRICS_TOKEN = TOKEN
    server = metrics.serve_in_thread(0, "127.0.0.1")  # port 0: any free one
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        codes = (_get(url), _get(url, "wrong"), _get(url, TOKEN))
    finally:
        server.shutdown()

    assert codes == (403, 403, 200)
