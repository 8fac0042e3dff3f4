"""API-key authentication: systems present `Authorization: Api-Key <key>` (or `X-API-Key: <key>`)."""

import hmac
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from mdm.models import ApiKey
from mdm.models.systems import hash_api_key_secret

_LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyPrincipal:
    """The authenticated caller behind an API key (request.user for key-authenticated requests)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.username = f"api-key:{key.prefix}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


_KEPT: dict[str, tuple[float, ApiKey]] = {}  # prefix -> (until, key): settings.MDM_API_KEY_CACHE_SECONDS
_KEPT_MAX = 10_000


def _key_with_prefix(prefix: str) -> ApiKey | None:
    """The key with this public prefix (unique). Every API request makes this read: it is one fixed statement (the
    ORM's compiler cost more than the database's answer), and a process keeps what it read for
    MDM_API_KEY_CACHE_SECONDS."""
    keep = settings.MDM_API_KEY_CACHE_SECONDS
    now = time.monotonic()
    if keep:
        kept = _KEPT.get(prefix)
        if kept is not None and kept[0] > now:
            return kept[1]
    table = ApiKey._meta.db_table
    key = next(iter(ApiKey.objects.raw(f"SELECT * FROM {table} WHERE prefix = %s", [prefix])), None)  # noqa: S608
    if keep and key is not None:
        if len(_KEPT) >= _KEPT_MAX:
            _KEPT.clear()
        _KEPT[prefix] = (now + keep, key)
    return key


@receiver([post_save, post_delete], sender=ApiKey)
def _forget_changed_key(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    """A key revoked, edited or deleted here is read again on its next use."""
    _KEPT.pop(instance.prefix, None)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Looks the key up by its public prefix and compares hashes in constant time."""

    keyword = "Api-Key"

    def authenticate(self, request: HttpRequest) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        raw = self._credential(request)
        if raw is None:
            return None
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != "mdm" or not parts[1].isalnum():
            raise exceptions.AuthenticationFailed("malformed API key")
        key = _key_with_prefix(parts[1])
        if key is None or not hmac.compare_digest(key.key_hash, hash_api_key_secret(raw)):
            raise exceptions.AuthenticationFailed("unknown API key")
        if not key.is_usable:
            raise exceptions.AuthenticationFailed("this API key is revoked or expired")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)  # not tracked: usage is not a change
            key.last_used_at = now  # the kept copy too, so it is not written again on every request
        return ApiKeyPrincipal(key), key

    def _credential(self, request: HttpRequest) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == self.keyword.lower():
                return value.strip() or self._missing()
            return None
        value = request.META.get("HTTP_X_API_KEY")
        if value is not None:
            return value.strip() or self._missing()
        return None

    @staticmethod
    def _missing() -> str:
        raise exceptions.AuthenticationFailed("empty API key")

    def authenticate_header(self, request: HttpRequest) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describes API-key authentication in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key mdm_<prefix>_<secret>` (or the header `X-API-Key: <key>`).",
        }
