"""Database tuning for PostgreSQL connections.

Django 5.2 bulk-inserts on PostgreSQL through UNNEST of one array per column. psycopg's text array
dumper escapes every double quote of every element with a regular-expression substitution, and
our rows carry JSON (full of quotes), so on the ingest path that escaping cost more than the
database work itself. `QuotingListDumper` quotes every element with two `bytes.replace` calls
instead: always quoting is valid in PostgreSQL's array input syntax, and it needs no scan to decide.
"""

from typing import Any

from django.db.backends.signals import connection_created
from django.dispatch import receiver

try:
    from psycopg.types.array import ListDumper
except ImportError:  # psycopg is only installed where PostgreSQL is used
    ListDumper = None


if ListDumper is not None:

    class QuotingListDumper(ListDumper):
        """A text-format array dumper for one-dimensional lists that quotes every element."""

        def dump(self, obj: list[Any]) -> bytes | None:
            if any(isinstance(item, list) for item in obj):
                return super().dump(obj)  # nested arrays keep psycopg's own path
            parts = []
            for item in obj:
                data = None if item is None else self._dump_item(item)
                if data is None:
                    parts.append(b"NULL")
                else:
                    escaped = bytes(data).replace(b"\\", b"\\\\").replace(b'"', b'\\"')
                    parts.append(b'"' + escaped + b'"')
            return b"{" + self.delimiter.join(parts) + b"}"


@receiver(connection_created)
def tune_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Install the faster array dumper on every new PostgreSQL connection."""
    if connection.vendor == "postgresql" and ListDumper is not None:
        connection.connection.adapters.register_dumper(list, QuotingListDumper)
