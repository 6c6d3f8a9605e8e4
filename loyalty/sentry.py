"""Optional error reporting through Sentry, with personal data scrubbed before anything leaves.

`send_default_pii=False` keeps the SDK from adding users, cookies and IPs; local variables and
request bodies are not collected at all; and `before_send` removes what remains: request headers
but a few harmless ones, query strings, the user, values under personal or secret keys, and
anything in the remaining text that looks like an email address, a phone or card number, or a key.
Free text can still name a person (an exception message built from a member's name): no pattern
finds a name, so messages here name members by public id, never by name.
"""

import re

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

FILTERED = "[Filtered]"
_SAFE_HEADERS = {"content-type", "content-length", "x-request-id", "idempotent-replayed"}
_SECRET_KEY_PARTS = ("phone", "email", "password", "secret", "token", "api_key", "apikey", "authorization", "cookie")
_SECRET_KEYS = {"name", "first_name", "last_name", "full_name", "key", "raw_key", "code", "otp", "card_number"}
_SECRET_KEYS |= {"address", "birthday", "data", "body", "query_string", "cookies", "user", "ip_address"}
_KEEP = {"request", "event_id", "timestamp", "start_timestamp", "level", "platform", "release", "environment"}
_SDK_DESCRIPTIONS = {"sdk", "contexts", "modules"}
_PATTERNS = [
    (re.compile(r"\b(Api-Key|Bearer|Basic|Token)\s+\S+", re.IGNORECASE), r"\1 " + FILTERED),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), FILTERED),
    # Phone and card numbers: 7+ digits, possibly with a leading + and separators.
    (re.compile(r"\+?\d[\d\s().-]{5,}\d"), FILTERED),
]


# Keys ending in "_name" are a person's name (member_name, first_name) unless they name a thing.
_TECHNICAL_NAMES = {"server_name", "file_name", "func_name", "module_name", "task_name", "view_name", "logger_name"}
_TECHNICAL_NAMES |= {"route_name", "url_name", "app_name", "model_name", "db_name", "table_name", "class_name"}


def _is_secret_key(key) -> bool:
    lowered = str(key).lower()
    if lowered.endswith("_name") and lowered not in _TECHNICAL_NAMES:
        return True
    return lowered in _SECRET_KEYS or any(part in lowered for part in _SECRET_KEY_PARTS)


def scrub_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value, by_key: bool = True):
    if isinstance(value, dict):
        return {k: FILTERED if by_key and _is_secret_key(k) else _scrub(v, by_key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, by_key) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def _scrub_request(request: dict) -> dict:
    headers = request.get("headers") or {}
    url = (request.get("url") or "").split("?", 1)[0]
    return {
        "method": request.get("method"),
        "url": scrub_text(url),
        "headers": {k: scrub_text(str(v)) for k, v in headers.items() if k.lower() in _SAFE_HEADERS},
    }


def before_send(event: dict, hint=None) -> dict:
    """Runs on every event before it leaves the process."""
    event = dict(event)
    event.pop("user", None)
    if isinstance(event.get("request"), dict):
        event["request"] = _scrub_request(event["request"])
    # Everything else (exception values, breadcrumbs with SQL and log lines, extra, tags) by key
    # and by text; the SDK's own descriptions (runtime, os, sdk: their "name" is no person's) by text.
    return {
        key: value if key in _KEEP else _scrub(value, by_key=key not in _SDK_DESCRIPTIONS)
        for key, value in event.items()
    }


def sentry_init(*, dsn: str, environment: str, **options) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Deprecated in favour of data_collection in sentry-sdk 2.75 (which derives its defaults
        # from it), still honoured; before_send is what the tests prove in any case.
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=before_send,
        **options,
    )
