"""The Redis cache with one client per connection pool, and the API throttle's allowance kept in one round trip.

Django's RedisCache builds a new `redis.Redis` client for every cache call (its constructor sets up some eighty
response callbacks), which cost more than the round trip itself on the API's throttle, called on every request.
redis-py clients are thread-safe and share their pool, so this backend builds each one once. `throttle` reads and
advances a key's allowance (mdm/api/throttling.py) in one Lua script: one round trip instead of two, and atomic, so
processes racing at the limit cannot let extra requests through.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django: Any = self  # RedisCacheClient's private helpers, which the stubs do not declare
        index = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = django._client(connection_pool=django._get_connection_pool(write))
        return client


# KEYS[1]: the allowance's key. ARGV: now, interval, tolerance (seconds), expiry (whole seconds). Answers -1 when the
# request may go (and spends its interval), else the seconds to wait.
_ALLOWANCE = """
local now, interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local due = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') or 0, now)
if due - now > tolerance then return tostring(due - now - tolerance) end
redis.call('SET', KEYS[1], tostring(due + interval), 'EX', ARGV[4])
return '-1'
"""


class RedisCache(DjangoRedisCache):
    """django.core.cache.backends.redis.RedisCache, building each Redis client once."""

    @cached_property
    def _cache(self) -> RedisCacheClient:
        django: Any = self  # RedisCache's private settings, which the stubs do not declare
        return _ReusingClient(django._servers, **django._options)

    @cached_property
    def _allowance(self) -> Any:
        return self._cache.get_client(write=True).register_script(_ALLOWANCE)

    def throttle(self, key: str, *, now: float, interval: float, tolerance: float, period: float) -> float | None:
        """Spend one request of a key's allowance (the generic cell rate algorithm): None if it may go, else the
        seconds until it may."""
        wait = float(
            self._allowance(keys=[self.make_and_validate_key(key)], args=[now, interval, tolerance, int(period) + 1])
        )
        return None if wait < 0 else wait
