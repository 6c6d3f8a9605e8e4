"""Checks every request gets before any view runs, and the JSON error shape for every answer
under /api/.

Kept to a few string tests per request: it sits in front of the POS hot path.
"""

from http import HTTPStatus
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

from core.api.exceptions import error_body, error_response

API_PREFIX = "/api/"
# Headers of a replaced error page that still tell the client something.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class RequestGuardMiddleware:
    """PostgreSQL refuses NUL in text, so a NUL in a path or query parameter would reach the
    database and fail there as a 500: it is refused here, for the API and the admin alike. Under
    /api/, a body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413, and any error page Django rendered
    (an unknown URL, a server error, DEBUG's technical pages) is replaced by the JSON error shape.
    First in MIDDLEWARE, so it sees what every other layer answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        query = request.META.get("QUERY_STRING", "")
        is_api = path.startswith(API_PREFIX)
        if "\x00" in path or "%00" in query or "\x00" in query:
            return _nul_refused(request, is_api=is_api)
        if is_api and _body_too_large(request):
            return error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        response = self.get_response(request)
        if (
            is_api
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            data = getattr(response, "data", None)
            if isinstance(data, dict) and "code" in data:
                # A DRF view's own error, rendered by a view whose renderer is not JSON (the schema
                # view's): the same error, in JSON.
                replaced = JsonResponse(data, status=response.status_code)
            else:
                replaced = error_response(response.status_code)
            for header in _KEPT_HEADERS:
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response


def _body_too_large(request) -> bool:
    """Django refuses the same bodies when a view reads them, but as an HTML 400 (or DEBUG's
    page), and DRF's parsers read the stream without asking."""
    length = request.META.get("CONTENT_LENGTH")
    if not length:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        return limit is not None and int(length) > limit
    except ValueError:
        return False


def _nul_refused(request, *, is_api: bool):
    message = _("Null characters are not allowed.")
    if not is_api:
        return defaults.bad_request(request, BadRequest(message))
    if "\x00" in request.path_info:
        return JsonResponse(error_body("invalid", _("The URL must not contain null characters.")), status=400)
    names = sorted(
        {
            name
            for name, value in parse_qsl(request.META["QUERY_STRING"], keep_blank_values=True)
            if "\x00" in name or "\x00" in value
        }
    )
    errors = {name.replace("\x00", "") or "non_field_errors": [message] for name in names}
    return JsonResponse(error_body("invalid", _("The request has invalid fields."), errors), status=400)
