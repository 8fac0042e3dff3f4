"""The one exception standardisers raise."""


class StandardisationError(ValueError):
    """A value that cannot be standardised; message is human-readable, for API error bodies."""


def quoted(value: str, *, limit: int = 80) -> str:
    """A value quoted for an error message, shortened so one bad cell cannot bloat an API error body."""
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(shown)
