"""Database tuning for PostgreSQL connections.

Django 5.2 bulk-inserts on PostgreSQL through UNNEST of one array per column. psycopg's text array
dumper escapes every double quote of every element with a regular-expression substitution, and
our rows carry JSON (full of quotes), so on the ingest path that escaping cost more than the
database work itself. `QuotingListDumper` quotes every element with two `bytes.replace` calls
instead: always quoting is valid in PostgreSQL's array input syntax, and it needs no scan to decide.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import Field, Model
from django.dispatch import receiver

try:
    from psycopg.types.array import ListDumper
except ImportError:  # psycopg is only installed where PostgreSQL is used
    ListDumper = None  # type: ignore[assignment, misc]


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


def bulk_update_unnest(objs: Sequence[Model], fields: Sequence[str], *, batch_size: int = 1000) -> None:
    """Update these fields of these rows in one statement per batch (PostgreSQL): UPDATE … FROM UNNEST.

    Django's bulk_update builds a CASE WHEN per field with a branch per row, which for a 30-column
    golden customer row cost more than the rest of an ingest batch. This sends one array per column,
    as Django's own bulk insert does on PostgreSQL. Values are prepared by each field, as save() would.
    `updated_at` style auto_now fields are set by the caller, not here.
    """
    if not objs:
        return
    from django.db import connection

    model = type(objs[0])
    meta = model._meta
    pk = meta.pk
    concrete = [column_field(model, name) for name in fields]
    quote = connection.ops.quote_name
    columns = [pk, *concrete]
    # Parameters are stripped from db_type so no value is truncated ("varchar(255)[]" -> "varchar[]").
    arrays = ", ".join(f"%s::{(field.db_type(connection) or '').split('(')[0]}[]" for field in columns)
    names = ", ".join(f"c{index}" for index in range(len(columns)))
    assignments = ", ".join(f"{quote(field.column)} = v.c{index}" for index, field in enumerate(concrete, start=1))
    table = quote(meta.db_table)
    # Only quoted names from model metadata are interpolated; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {assignments} FROM UNNEST({arrays}) AS v({names}) WHERE {table}.{quote(pk.column)} = v.c0"  # noqa: S608
    )
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            chunk = objs[start : start + batch_size]
            params = [
                [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in chunk] for field in columns
            ]
            cursor.execute(sql, params)


def reassign(model: type[Model], column: str, moves: Mapping[int, int]) -> None:
    """Point every row whose `column` holds a key of `moves` at the key's value (derived rows following a merge).

    One UPDATE … FROM UNNEST on PostgreSQL; elsewhere one UPDATE per new value.
    """
    if not moves:
        return
    from django.db import connection

    field = column_field(model, column)
    if connection.vendor != "postgresql":
        by_new: dict[int, list[int]] = {}
        for old, new in moves.items():
            by_new.setdefault(new, []).append(old)
        for new, olds in by_new.items():
            model._default_manager.filter(**{f"{field.attname}__in": olds}).update(**{field.attname: new})
        return
    quote = connection.ops.quote_name
    table, name = quote(model._meta.db_table), quote(field.column)
    # Only quoted names from model metadata are interpolated; the moves are parameters.
    sql = (
        f"UPDATE {table} SET {name} = m.new FROM UNNEST(%s::bigint[], %s::bigint[]) AS m(old, new)"  # noqa: S608
        f" WHERE {table}.{name} = m.old"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(moves), list(moves.values())])


def column_field(model: type[Model], name: str) -> Field:
    """A model's field that is a column of its table (not a reverse relation or a generic foreign key)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field
