"""Target credentials at rest: encrypted with Fernet keys from the environment (MDM_CREDENTIALS_KEYS).

Several comma-separated keys allow rotation: the first encrypts, all decrypt (MultiFernet). Outside
production, an unset variable derives one key from SECRET_KEY, so the demo runs without setup; in
production the variable is required (settings fail loudly).
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.MDM_CREDENTIALS_KEYS.split(",") if key.strip()]
    if not keys:
        derived = base64.urlsafe_b64encode(hashlib.sha256(f"credentials:{settings.SECRET_KEY}".encode()).digest())
        keys = [derived.decode()]
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"MDM_CREDENTIALS_KEYS holds a key that is not a Fernet key: {exc}") from exc


def encrypt_credentials(values: dict[str, str]) -> str:
    """The stored form of a target's credentials."""
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    """A target's credentials; a clear error when the key that encrypted them is gone."""
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "the target's credentials were encrypted with a key that is not in MDM_CREDENTIALS_KEYS"
        ) from exc


def generate_key() -> str:
    """A new key for MDM_CREDENTIALS_KEYS."""
    return Fernet.generate_key().decode()
