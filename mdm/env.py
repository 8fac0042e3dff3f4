"""Typed readers for the environment: settings fail loudly on a bad value instead of guessing."""

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _read(name: str, default: T, parse: Callable[[str], T], kind: str) -> T:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return parse(raw.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a valid {kind}: {exc}") from exc


def env_str(name: str, default: str = "") -> str:
    """A string variable; unset gives the default."""
    return _read(name, default, str, "string")


def env_required(name: str) -> str:
    """A string variable that must be set (production secrets)."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production mode")
    return value


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


def env_bool(name: str, default: bool) -> bool:
    """A boolean variable: 1/0, true/false, yes/no, on/off."""
    return _read(name, default, _parse_bool, "boolean")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer variable, optionally bounded."""

    def parse(raw: str) -> int:
        value = int(raw)
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value

    return _read(name, default, parse, "integer")


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    return _read(name, default, lambda raw: [item.strip() for item in raw.split(",") if item.strip()], "list")


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """A string variable restricted to a set of values."""

    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw

    return _read(name, default, parse, "choice")
