"""Database work for long-lived async code (websocket consumers, running answers).

Channels' `database_sync_to_async` closes the thread's connection before and after every call (the
CONN_MAX_AGE=0 rule), so a chat answer reconnected for each of its database steps. These calls run on
asgiref's one shared thread for thread-sensitive work, which keeps its connection: it is closed only when
an error left it unusable, as Django's own request cycle would.
"""

from collections.abc import Sequence

from asgiref.sync import sync_to_async
from django.db import DEFAULT_DB_ALIAS, connections


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
