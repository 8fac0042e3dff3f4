"""Golden IDs: prefixed by entity type, opaque, immutable and never reused.

Format: ``CUS-7KQ2M9XH4TBW``: a type prefix, 11 random Crockford base32 symbols (55 bits) and one
Luhn mod 32 check symbol, so a mistyped ID (one wrong symbol, most swaps of neighbours) is told apart
from an unknown one without a database lookup. Every symbol is URL-safe. IDs are never reused
because golden records are never deleted: a merged-away record is retired and keeps its ID.
"""

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_BASE = len(ALPHABET)
PREFIXES = {"customer": "CUS", "product": "PRD"}
ENTITY_BY_PREFIX = {prefix: entity for entity, prefix in PREFIXES.items()}
_BODY_LENGTH = 11
PATTERN = re.compile(rf"^(CUS|PRD)-([0-9A-HJKMNP-TV-Z]{{{_BODY_LENGTH + 1}}})$")


def _check_symbol(body: str) -> str:
    """Luhn mod N over the base32 alphabet."""
    factor, total = 2, 0
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        total += addend // _BASE + addend % _BASE
        factor = 1 if factor == 2 else 2
    return ALPHABET[(_BASE - total % _BASE) % _BASE]


def new_golden_id(entity_type: str) -> str:
    """A fresh golden ID for an entity type."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(_BODY_LENGTH))
    return f"{PREFIXES[entity_type]}-{body}{_check_symbol(body)}"


def parse_golden_id(value: str) -> str | None:
    """The entity type of a well-formed golden ID (case-insensitive), or None if it is not one."""
    match = PATTERN.match(value.strip().upper())
    if match is None or _check_symbol(match.group(2)[:-1]) != match.group(2)[-1]:
        return None
    return ENTITY_BY_PREFIX[match.group(1)]


def normalise_golden_id(value: str) -> str:
    """The canonical spelling of a golden ID typed by a person (upper case, trimmed)."""
    return value.strip().upper()
