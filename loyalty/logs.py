"""Structured logs: JSON lines carrying the request id, store and member of what is being done.

The context lives in contextvars, set by `RequestContextMiddleware` (request id, store), by
`bind()` where a member becomes known, and by the Celery task base class (the request id travels
with the task message), and is stamped on every record by `ContextFilter`. What goes into a log
line is chosen here, never the request itself: no query strings, bodies or headers, so no raw API
keys, one-time codes or personal data (phone, email, name) reach the logs.
"""

import contextvars
import logging
import re
import time
import uuid
from contextlib import contextmanager

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_FIELDS = ("request_id", "store_id", "member", "task")
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("log_context", default={})  # noqa: B039 (never mutated)
# A request id given by the caller is echoed only when it is a plain token: it ends up in logs and
# headers, where anything else could forge lines or smuggle data.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
logger = logging.getLogger("loyalty.request")


def current(name: str):
    return _context.get().get(name)


def bind(**values) -> contextvars.Token:
    """Add values (request_id, store_id, member, task) to the log context of what runs from here on."""
    return _context.set({**_context.get(), **{k: v for k, v in values.items() if v is not None}})


def reset(token: contextvars.Token) -> None:
    _context.reset(token)


@contextmanager
def bound(**values):
    token = bind(**values)
    try:
        yield
    finally:
        reset(token)


def new_request_id(given: str | None = None) -> str:
    if given and _VALID_REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Stamps the log context on every record that passes through a handler."""

    def filter(self, record):
        context = _context.get()
        for name in _FIELDS:
            if name in context and not hasattr(record, name):
                setattr(record, name, context[name])
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, the context, and any `extra`, but
    never a request object (Django's django.request lines carry one: its text holds the query
    string, where a phone number can be) or a socket (django.server)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request", "server_time", "socket"])
        super().__init__(*args, **kwargs)


class RequestContextMiddleware:
    """Gives every request an id (the caller's `X-Request-ID`, or a new one), returns it in the
    response header, and writes one line per request: method, route, status, duration, store."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = bind(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            match = request.resolver_match
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": match.route if match else None,
                    "view": match.view_name if match else None,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    # Bound by the API key authentication, once the view knows the caller.
                    "store_id": current("store_id"),
                },
            )
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            reset(token)
