"""One error shape for the whole API: {"code", "detail", "errors"} with a 4xx status."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from loyalty.errors import DomainError


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
        body = error_body("invalid", "The request has invalid fields.", _validation_errors(exc.detail))
    else:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = error_body(exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code, detail)
    return Response(body, status=exc.status_code, headers=headers)


def api_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "No such resource."), status=status.HTTP_404_NOT_FOUND)


def api_server_error(request):
    return JsonResponse(
        error_body("server_error", "Something went wrong on our side; nothing was written."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
