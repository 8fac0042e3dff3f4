"""One JSON error shape for every failure: {"error": {"status", "code", "message", "fields": [{field, message}]}}."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mdm.contracts import flatten_errors

logger = logging.getLogger(__name__)


def error_body(status_code: int, code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The error envelope."""
    body: dict[str, Any] = {"status": status_code, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped so every client parses one format."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "not found")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = [error.as_dict() for error in flatten_errors(exc.detail)]
        response.data = error_body(400, "invalid", "the request has invalid fields", fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(response.status_code, str(code), str(detail))
    return response


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Not found, as JSON for API paths; Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(404, "not_found", f"no such endpoint: {request.path}"), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def json_500(request: HttpRequest) -> JsonResponse:
    """Server error, as JSON for API paths (the correlation ID in the header finds the log line)."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(500, "server_error", "the hub failed to handle this request; quote the X-Correlation-ID"),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    from django.views.defaults import server_error

    return server_error(request)  # type: ignore[return-value]
