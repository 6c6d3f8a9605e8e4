"""Error reports (Sentry, optional) leave without personal data: the before_send hook, and the real
SDK with a transport that keeps envelopes in memory instead of sending them."""

import json

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from loyalty.sentry import before_send, sentry_init

PHONE = "+8613712345678"
EMAIL = "wang.fang@example.com"
NAME = "Wang Fang"
API_KEY = "sk_live_2b7f0c9e4d1a"
PERSONAL = (PHONE, PHONE[3:], EMAIL, NAME, API_KEY)


def _event() -> dict:
    return {
        "event_id": "0123456789abcdef0123456789abcdef",
        "level": "error",
        "request": {
            "method": "POST",
            "url": f"https://loyalty.example.com/api/v1/members/lookup/?phone={PHONE}",
            "query_string": f"phone={PHONE}",
            "headers": {
                "Authorization": f"Api-Key {API_KEY}",
                "Cookie": "sessionid=abc",
                "Content-Type": "application/json",
                "X-Request-ID": "req-1",
            },
            "data": {"phone": PHONE, "email": EMAIL, "name": NAME},
            "cookies": {"sessionid": "abc"},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"id": 7, "email": EMAIL, "ip_address": "203.0.113.9"},
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": f"duplicate key value violates unique constraint: Key (phone)=({PHONE}), mail {EMAIL}",
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {"category": "query", "message": "SELECT ... WHERE phone = %s", "data": {"params": [PHONE]}},
                {"category": "log", "message": f"Authorization: Api-Key {API_KEY}"},
            ]
        },
        "extra": {"member_name": NAME, "customer": {"phone": PHONE}},
        "tags": {"store": "S1"},
    }


def test_before_send_leaves_nothing_personal():
    scrubbed = json.dumps(before_send(_event(), {}))

    for secret in (*PERSONAL, "sessionid", "203.0.113.9"):
        assert secret not in scrubbed


def test_before_send_keeps_what_is_needed_to_debug():
    scrubbed = before_send(_event(), {})

    assert scrubbed["request"] == {
        "method": "POST",
        "url": "https://loyalty.example.com/api/v1/members/lookup/",
        "headers": {"Content-Type": "application/json", "X-Request-ID": "req-1"},
    }
    assert scrubbed["exception"]["values"][0]["type"] == "IntegrityError"
    assert scrubbed["tags"] == {"store": "S1"}


class MemoryTransport(Transport):
    envelopes: list = []

    def capture_envelope(self, envelope):
        MemoryTransport.envelopes.append(envelope)


@pytest.fixture
def sentry_in_memory():
    MemoryTransport.envelopes = []
    sentry_init(dsn="https://public@sentry.example.invalid/1", environment="test", transport=MemoryTransport)
    yield MemoryTransport.envelopes
    sentry_sdk.init()  # no DSN: reporting off again


def _fails_with_personal_data(phone, email):
    name = NAME  # a local variable: never collected (stack frame variables are off)
    raise ValueError(f"could not notify member at {phone} / {email} ({len(name)})")


def test_a_reported_error_leaves_without_personal_data(sentry_in_memory):
    sentry_sdk.add_breadcrumb(category="query", message="UPDATE members_member", data={"params": [PHONE, EMAIL]})
    sentry_sdk.set_user({"email": EMAIL})
    sentry_sdk.set_extra("authorization", f"Api-Key {API_KEY}")
    sentry_sdk.set_extra("member_name", NAME)
    try:
        _fails_with_personal_data(PHONE, EMAIL)
    except ValueError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()

    payload = b"".join(item.get_bytes() for envelope in sentry_in_memory for item in envelope.items).decode()
    assert "ValueError" in payload
    assert "_fails_with_personal_data" in payload
    for secret in PERSONAL:
        assert secret not in payload
