"""Run one read-only query of the analysis on a second PostgreSQL connection, on the main transaction's snapshot.

The overview's per-customer aggregate and its totals read different indexes and take similar time. Side by side,
each on its own connection, they finish sooner than one after the other even with parallel query, whose
workers coordinate (Gather Merge, one leaf page at a time). Both transactions see exactly the same data: the
main one is REPEATABLE READ and exports its snapshot (`pg_export_snapshot()`), which the side transaction
imports before its first query, the way `pg_dump --jobs` reads one consistent database from several connections.
"""

import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection, transaction
from django.utils import timezone

# A few threads per process; each opens its own connection for a call and closes it after.
_SIDE_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="analysis-side")
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")  # e.g. 00000003-0000001B-1


def snapshot_share(cursor) -> str:
    """Make the current (fresh) transaction REPEATABLE READ and return its exported snapshot id.

    Must run before any query of the transaction; the snapshot stays importable while the transaction is open.
    """
    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    cursor.execute("SELECT pg_export_snapshot()")
    return cursor.fetchone()[0]


def in_snapshot(snapshot: str, setup: Callable, function: Callable, /, **kwargs) -> Future:
    """Run `function(**kwargs)` in a thread on its own connection, in a transaction on `snapshot`.

    `setup(cursor)` runs first in that transaction (the same SET LOCALs as the main one). The caller must keep
    its transaction open until the future is done. The caller's current time zone applies in the thread too.
    """
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"Not a snapshot id: {snapshot!r}")
    return _SIDE_THREADS.submit(_run, snapshot, timezone.get_current_timezone(), setup, function, kwargs)


def _run(snapshot: str, zone, setup: Callable, function: Callable, kwargs: dict):
    try:
        with timezone.override(zone), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # checked format; SET takes no parameters
            setup(cursor)
            return function(**kwargs)
    finally:
        # The thread's own connection is not kept between calls (Django's CONN_MAX_AGE=0 rule; with the
        # psycopg pool it goes back to the pool), so no idle connection outlives the call.
        connection.close()
