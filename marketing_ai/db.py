"""Database work for long-lived async code (websocket consumers, running answers).

Channels' `database_sync_to_async` closes the thread's connection before and after every call (the
CONN_MAX_AGE=0 rule), so a chat answer reconnected for each of its database steps. These calls run on
asgiref's one shared thread for thread-sensitive work, which keeps its connection: it is closed only when
an error left it unusable, as Django's own request cycle would.
"""

import functools
from collections.abc import Sequence

from asgiref.sync import sync_to_async
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


def _connections_checked() -> None:
    for connection in connections.all(initialized_only=True):
        # Inside a transaction (a caller's atomic block on this same thread) the connection is the caller's.
        if connection.connection is None or connection.in_atomic_block:
            continue
        if connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()


def db_sync_to_async(function):
    """`function` as a coroutine run on the shared database thread, keeping its connection between calls."""

    def call(*args, **kwargs):
        _connections_checked()
        return function(*args, **kwargs)

    return sync_to_async(call, thread_sensitive=True)


def rows_fetched(sql: str, params: Sequence = ()) -> list[tuple]:
    """The rows of one plain SQL read on the default database.

    For the few reads on a chat answer's hot path: building and compiling an ORM query costs several times
    what running the same SQL does (figures: bench/README.md, "bench/hot_paths.py"), and that Python runs on
    the shared database thread, holding the GIL the event loop needs to relay other chats' chunks.
    """
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _insert_sql(model: type[Model], rows: int, unless_sql: str = "") -> tuple[str, list]:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    placeholders = ", ".join(["%s"] * len(fields))
    if unless_sql:  # one row, inserted only when that SELECT finds nothing
        values = f"SELECT {placeholders} WHERE NOT EXISTS ({unless_sql})"
    else:
        values = "VALUES " + ", ".join([f"({placeholders})"] * rows)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) {values} "
        f"RETURNING {quote(model._meta.pk.column)}"
    )
    return sql, fields


def _insert_params(instances: Sequence[Model], fields: list) -> list:
    connection = connections[DEFAULT_DB_ALIAS]
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in instances for field in fields]


def _keys_given(instances: Sequence[Model], rows: list[tuple]) -> None:
    for obj, (pk,) in zip(instances, rows, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS


def rows_inserted(instances: Sequence[Model]) -> None:
    """Store new instances of one model in one plain SQL INSERT and give them their primary keys.

    What `Model.objects.bulk_create` does (no `save()`, no signals; `auto_now`/`auto_now_add` fields filled in),
    for the few inserts on a chat answer's path, where the ORM's query building would cost more than the
    statement (see `rows_fetched`).
    """
    if not instances:
        return
    sql, fields = _insert_sql(type(instances[0]), len(instances))
    _keys_given(instances, rows_fetched(sql, _insert_params(instances, fields)))


def row_inserted_unless(instance: Model, *, unless_sql: str, unless_params: Sequence = ()) -> bool:
    """Store a new instance (as `rows_inserted`) unless `unless_sql`, a SELECT, finds a row; whether it was stored.

    The check and the insert are one statement: the check sees what was committed before the statement started
    (so a row lock taken earlier in the transaction serializes the writers it guards against), and the
    transaction makes no round trip of its own for it.
    """
    sql, fields = _insert_sql(type(instance), 1, unless_sql)
    rows = rows_fetched(sql, [*_insert_params([instance], fields), *unless_params])
    if rows:
        _keys_given([instance], rows)
    return bool(rows)


def rows_updated(model: type[Model], values: dict, **where) -> int:
    """`model.objects.filter(**where).update(**values)` in plain SQL, for `where` of equalities on the model's own
    fields; the number of rows changed. For the updates on a chat answer's path (see `rows_inserted`)."""
    connection = connections[DEFAULT_DB_ALIAS]
    quote, meta = connection.ops.quote_name, model._meta
    assignments, conditions, params = [], [], []
    for name, value in values.items():
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    for name, value in where.items():
        field = meta.get_field(name)
        conditions.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_value(value, connection))
    sql = f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} WHERE {' AND '.join(conditions)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
