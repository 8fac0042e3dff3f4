"""Throttling per API key, at the key's own rate or the default.

DRF's SimpleRateThrottle keeps every request's timestamp of the last period in the cache and reads and writes the
whole list on each request: at 6,000/min that is a list of up to 6,000 floats pickled twice per request, the
dearest part of a golden-ID lookup. This throttle keeps one number per key instead (the generic cell rate algorithm,
GCRA: the moment the key's allowance is next due), with the same meaning: at most N requests in any period, N of
them at once after a quiet period. On Redis (production) the read and the write are one atomic script (mdm/cache.py);
on the in-process cache of development they are two calls.
"""

import time
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from mdm.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """One allowance per key; stewards' sessions are not throttled."""

    scope = "api_key"

    def allow_request(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiKey) and request.auth.rate:
            self.rate = request.auth.rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        interval = self.duration / self.num_requests  # each request spends this much of the allowance
        tolerance = self.duration - interval  # a full period's requests may come at once
        now = time.time()
        atomic = getattr(self.cache, "throttle", None)  # the Redis cache (mdm/cache.py): one atomic round trip
        if atomic is not None:
            self._wait = atomic(self.key, now=now, interval=interval, tolerance=tolerance, period=self.duration)
            return self._wait is None
        due = max(float(self.cache.get(self.key) or 0.0), now)
        if due - now > tolerance:
            self._wait = due - now - tolerance
            return False
        self.cache.set(self.key, due + interval, self.duration)
        return True

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            return f"throttle:gcra:api_key:{request.auth.prefix}"
        return None
