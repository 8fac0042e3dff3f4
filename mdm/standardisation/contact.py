"""Email addresses and website domains: contact details that also hint at which organisation a record is."""

import re
from urllib.parse import urlsplit

from mdm.standardisation.errors import StandardisationError, quoted

# A plausibility check, not RFC 5322: one "@", no whitespace or control characters, a dotted domain.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f-\x9f]+@(?:[^@\s\x00-\x1f\x7f-\x9f.]+\.)+[^@\s\x00-\x1f\x7f-\x9f.]+")
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
# "www.", "www2." and the like name a web server, not the organisation, so they are not part of the domain.
_WWW = re.compile(r"www\d*\.")
# A DNS label; \w lets internationalised domains through without punycode.
_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")
_MAX_HOSTNAME = 253


def normalise_email(raw: str | None) -> str | None:
    """An email address trimmed and lower-cased, since the hub treats addresses case-insensitively."""
    if raw is None:
        return None
    email = raw.strip().lower()
    if not email:
        return None
    if not _EMAIL.fullmatch(email):
        raise StandardisationError(f"invalid email address {quoted(raw.strip())}")
    return email


def email_domain(email: str | None) -> str | None:
    """The domain of an email address ("acme.com"), or None when there is no plausible address."""
    try:
        normalised = normalise_email(email)
    except StandardisationError:
        return None
    return normalised.rpartition("@")[2] if normalised else None


def _hostname(text: str) -> str:
    """The host part of a URL or bare domain, lower-cased; empty when there is none."""
    url = text if _SCHEME.match(text) else "http://" + text.lstrip("/")
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:  # malformed IPv6 brackets, or characters NFKC turns into URL delimiters
        return ""


def website_domain(raw: str | None) -> str | None:
    """The domain a website lives on ("https://www.Acme.com/about" -> "acme.com"): no port, path or www."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    host = _hostname(text)
    labels = host.split(".")
    # The last label must hold a letter: an IP address names a machine, not an organisation.
    if (
        len(labels) < 2
        or len(host) > _MAX_HOSTNAME
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not any(char.isalpha() for char in labels[-1])
    ):
        raise StandardisationError(f"invalid website {quoted(text)}")
    while (www := _WWW.match(host)) and host.count(".") > 1:
        host = host[www.end() :]
    return host
