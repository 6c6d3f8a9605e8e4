"""Structured logs: JSON lines with a request id, store and member, and nothing personal or secret."""

import io
import json
import logging
import uuid

import pytest
from kombu import Queue

from loyalty import logs
from loyalty.celery import app
from members.models import Member
from messaging.models import OutboxMessage
from messaging.tasks import send_due_messages
from tests.api.helpers import post, purchase_body

pytestmark = pytest.mark.django_db
PHONE = "+8613987654321"
EMAIL = "mei.lin@example.com"
NAME = "Lin Meiling"


@pytest.fixture
def log_output():
    """What the console handler of production writes: JSON lines, with the context stamped on."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def _lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_purchase_logs_its_request_id_and_nothing_personal(api, log_output):
    request_id = f"till-{uuid.uuid4().hex}"
    enrolled = post(api, "/api/v1/members/", {"phone": PHONE, "email": EMAIL, "name": NAME}, HTTP_X_REQUEST_ID="e1")
    member_id = enrolled.json()["id"]
    api.get("/api/v1/members/lookup/", {"phone": "+8613900000000"})  # unknown: Django logs the 404
    response = post(
        api, "/api/v1/purchases/", purchase_body(Member.objects.get(public_id=member_id)), HTTP_X_REQUEST_ID=request_id
    )

    assert response.status_code == 201
    output = log_output.getvalue()
    for secret in (PHONE, PHONE[3:], "13900000000", EMAIL, NAME, _raw_key(api)):
        assert secret not in output
    purchase_line = next(line for line in _lines(log_output) if line.get("request_id") == request_id)
    assert purchase_line["message"] == "request"
    assert (purchase_line["route"], purchase_line["status"]) == ("api/v1/purchases/", 201)
    assert (purchase_line["store_id"], purchase_line["member"]) == (api.store.pk, member_id)


def _raw_key(api) -> str:
    return api._credentials["HTTP_AUTHORIZATION"].removeprefix("Api-Key ")


def test_the_request_id_is_returned_or_made_up(api, member):
    given = api.get(f"/api/v1/members/{member.public_id}/", HTTP_X_REQUEST_ID="pos-42")
    made = api.get(f"/api/v1/members/{member.public_id}/")
    forged = api.get(f"/api/v1/members/{member.public_id}/", HTTP_X_REQUEST_ID='x"\n{"level": "fake"}')

    assert given["X-Request-ID"] == "pos-42"
    assert len(made["X-Request-ID"]) == 32
    assert forged["X-Request-ID"] not in ("", 'x"\n{"level": "fake"}')


def test_a_task_queued_during_a_request_carries_its_request_id():
    queue = Queue(f"test-{uuid.uuid4().hex}", routing_key=f"test-{uuid.uuid4().hex}")
    with app.connection_for_write() as connection:
        queue(connection.default_channel).declare()
        try:
            with logs.bound(request_id="req-123"):
                send_due_messages.apply_async(queue=queue, connection=connection)
            message = connection.SimpleQueue(queue).get(timeout=5)
            message.ack()
        finally:
            queue(connection.default_channel).delete()

    assert message.headers["request_id"] == "req-123"
    assert message.headers["task"] == "messaging.send_due"


def test_a_task_logs_under_the_request_id_it_was_queued_with(member, log_output):
    OutboxMessage.objects.create(member=member, kind="t", channel="sms", subject="s", body="b", dedupe_key="k")

    send_due_messages.apply(headers={"request_id": "req-456"})

    sms_line = next(line for line in _lines(log_output) if line["logger"] == "messaging.backends")
    assert (sms_line["request_id"], sms_line["task"]) == ("req-456", "messaging.send_due")
    assert member.phone not in log_output.getvalue()
