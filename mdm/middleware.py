"""Request middleware: the correlation ID that ties a request to its history rows, events and logs."""

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from mdm.context import MAX_CORRELATION_ID_LENGTH, correlation

HEADER = "X-Correlation-ID"
# Accept what common gateways send (UUIDs, trace IDs) but nothing that could corrupt a log line.
_VALID = re.compile(rf"^[A-Za-z0-9._:\-]{{1,{MAX_CORRELATION_ID_LENGTH}}}$")


class CorrelationIdMiddleware:
    """Accepts a caller's X-Correlation-ID (or makes one), scopes the request to it and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get(HEADER, "").strip()
        with correlation(supplied if _VALID.match(supplied) else None) as correlation_id:
            request.correlation_id = correlation_id  # type: ignore[attr-defined]  # read by views and logs
            response = self.get_response(request)
        response[HEADER] = correlation_id
        return response
