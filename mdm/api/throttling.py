"""Throttling per API key, at the key's own rate or the default."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from mdm.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """One bucket per key; stewards' sessions are not throttled."""

    scope = "api_key"

    def allow_request(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiKey) and request.auth.rate:
            self.rate = request.auth.rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            return f"throttle:api_key:{request.auth.prefix}"
        return None
