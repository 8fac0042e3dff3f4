"""Bulk writes that keep history: the only way batch paths may create or update tracked models.

On PostgreSQL the history rows are copied inside the database (`INSERT … SELECT` from the rows just
written) instead of being built as Python objects and sent back: on the ingest path simple-history's
Python-side copy was the largest single cost. Elsewhere simple-history's own bulk helpers are used.
Either way every row gets the current actor, reason and correlation ID.
"""

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from django.db import connection, models
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from mdm.context import current_actor, current_correlation_id, current_reason
from mdm.db import bulk_update_unnest, column_field

M = TypeVar("M", bound=models.Model)


def _provenance() -> dict[str, object]:
    return {
        "default_user": current_actor(),
        "default_change_reason": current_reason() or None,
        "custom_historical_attrs": {"correlation_id": current_correlation_id()},
    }


def _copy_history_in_database(objs: Sequence[models.Model], model: type[models.Model], history_type: str) -> None:
    _copy_history_of(model, [obj.pk for obj in objs], history_type)


def _copy_history_of(model: type[models.Model], pks: Sequence[int], history_type: str) -> None:
    history_model = cast(Any, model).history.model
    quote = connection.ops.quote_name
    columns = [field.column for field in history_model.tracked_fields]
    extra = ["history_date", "history_change_reason", "history_type", "history_user_id", "correlation_id"]
    actor = current_actor()
    params = [
        timezone.now(),
        current_reason() or None,
        history_type,
        actor.pk if actor else None,
        current_correlation_id(),
    ]
    # Only quoted table and column names from model metadata are interpolated; values are parameters.
    target, source = quote(history_model._meta.db_table), quote(model._meta.db_table)
    copied = ", ".join(quote(column) for column in columns)
    stamped = ", ".join(quote(column) for column in extra)
    pk = quote(model._meta.pk.column)
    select = f"SELECT {copied}, %s, %s, %s, %s, %s FROM {source} WHERE {pk} = ANY(%s)"  # noqa: S608
    sql = f"INSERT INTO {target} ({copied}, {stamped}) {select}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, list(pks)])


def bulk_create_tracked(objs: Sequence[M], model: type[M], *, batch_size: int = 500) -> list[M]:
    """bulk_create with one history row per object, attributed to the current actor and correlation ID."""
    if not objs:
        return []
    if connection.vendor == "postgresql":
        created = model._default_manager.bulk_create(list(objs), batch_size=batch_size)
        _copy_history_in_database(created, model, "+")
        return created
    return bulk_create_with_history(list(objs), model, batch_size=batch_size, **_provenance())


def bulk_update_tracked(objs: Sequence[M], model: type[M], fields: list[str], *, batch_size: int = 500) -> None:
    """bulk_update with one history row per object, attributed to the current actor and correlation ID."""
    if not objs:
        return
    if connection.vendor == "postgresql":
        bulk_update_unnest(list(objs), fields, batch_size=batch_size)
        _copy_history_in_database(objs, model, "~")
        return
    bulk_update_with_history(list(objs), model, fields, batch_size=batch_size, **_provenance())


def move_tracked(model: type[M], field_name: str, moves: dict[int, int]) -> dict[int, list[int]]:
    """Point every row whose foreign key `field_name` holds a key of `moves` at the key's value, with a history row
    each; returns the moved rows' pks by old value (in pk order). Rows are locked in pk order first, as everywhere.

    On PostgreSQL no row is loaded into Python: one locking SELECT of the pks, one UPDATE … FROM UNNEST, one
    INSERT … SELECT of the history (source records carry their payloads: loading them cost more than the move).
    """
    moved: dict[int, list[int]] = {}
    if not moves:
        return moved
    field = column_field(model, field_name)
    if connection.vendor != "postgresql":
        rows = list(
            model._default_manager.select_for_update().filter(**{f"{field.attname}__in": list(moves)}).order_by("pk")
        )
        for row in rows:
            old = getattr(row, field.attname)
            moved.setdefault(old, []).append(row.pk)
            setattr(row, field.attname, moves[old])
        bulk_update_tracked(rows, model, [field_name])
        return moved
    quote = connection.ops.quote_name
    table, column, pk = quote(model._meta.db_table), quote(field.column), quote(model._meta.pk.column)
    # Only quoted names from model metadata are interpolated; the moves are parameters.
    lock = f"SELECT {pk}, {column} FROM {table} WHERE {column} = ANY(%s) ORDER BY {pk} FOR UPDATE"  # noqa: S608
    update = (
        f"UPDATE {table} SET {column} = m.new FROM UNNEST(%s::bigint[], %s::bigint[]) AS m(old, new)"  # noqa: S608
        f" WHERE {table}.{column} = m.old"
    )
    with connection.cursor() as cursor:
        cursor.execute(lock, [list(moves)])
        rows = cursor.fetchall()
        if not rows:
            return moved
        cursor.execute(update, [list(moves), list(moves.values())])
    for row_pk, old in rows:
        moved.setdefault(old, []).append(row_pk)
    _copy_history_of(model, [row_pk for row_pk, _ in rows], "~")
    return moved
