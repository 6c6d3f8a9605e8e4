"""One error shape for the whole API: {"code", "detail", "errors"}, with a 4xx status (a 5xx in the same
shape when the server fails)."""

from http import HTTPStatus

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response

from core.errors import DomainError


def error_body(code: str, detail: str, errors: dict | None = None, **extra) -> dict:
    return {"code": code, "detail": detail, "errors": errors or {}, **extra}


def _validation_errors(data) -> dict:
    if isinstance(data, dict):
        return data
    return {"non_field_errors": data if isinstance(data, list) else [data]}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = error_body(exc.code, exc.detail, exc.errors, **exc.extra)
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _("The request has invalid fields."), _validation_errors(exc.detail))
    else:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = error_body(exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code, detail)
    return Response(body, status=exc.status_code, headers=headers)


def _default_error(status: int) -> tuple[str, str]:
    if status == HTTPStatus.NOT_FOUND:
        return "not_found", _("No such resource.")
    if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        return "too_large", _("The request body is larger than this server accepts.")
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return "server_error", _("Something went wrong on our side; nothing was written.")
    if status == HTTPStatus.BAD_REQUEST:
        return "bad_request", _("The request could not be understood.")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "error", _("The request failed.")
    return phrase.lower().replace(" ", "_").replace("-", "_"), phrase


def error_response(status: int) -> JsonResponse:
    """The JSON error shape for an answer no API view rendered itself (an unknown URL, a server
    error, a request refused before routing)."""
    code, detail = _default_error(status)
    return JsonResponse(error_body(code, detail), status=status)
