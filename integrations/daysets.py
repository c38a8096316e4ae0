"""Day sets: per (workspace, source, day), the customers that had each event type that day, as compressed bitmaps
(Roaring), plus that day's purchasing customers with their purchase counts and value. A derived cache of the
customer-day rollups (`CustomerDayRollup`): a custom range's per-customer summary comes from unions and
intersections of its days' sets instead of grouping every customer-day row of the range (figures: bench/README.md
"Custom ranges at 10M events from customer day sets").

Maintenance: whatever changes a day's customer-day rows deletes that (source, day)'s set in its transaction (the
PostgreSQL store's statement, `rollups_add`, identity moves, `rollups_recompute`, retention; a deleted source's
go with it), and `daysets_build` (a job's end, beat) builds the missing ones under the workspace's exclusive
rollup lock, so no store commits between the read of a day's rows and its set. The overview only reads: it
builds the few missing days' sets in memory (`daysets_read`). Customer ids must fit in 32 bits.
"""

import struct
from collections.abc import Callable, Iterable
from datetime import date

import numpy as np
from django.db import connection, transaction
from pyroaring import BitMap

from integrations.models import CustomerDayRollup, CustomerDaySet, EventRollup
from integrations.rollups import TYPE_BITS, rollup_lock_sql

TYPE_POSITIONS = {event_type: bit.bit_length() - 1 for event_type, bit in TYPE_BITS.items()}
_TYPES = len(TYPE_BITS)
_HEADER = struct.Struct(f"<{_TYPES}I")


def dayset_encode(customer_ids, type_masks, purchases, purchase_cents) -> tuple[bytes, bytes]:
    """One (source, day)'s customer-day rows as (type sets, purchases): numpy-compatible columns."""
    ids = np.asarray(customer_ids, dtype=np.int64)
    masks = np.asarray(type_masks, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= 1 << 32):
        raise OverflowError("customer ids past 32 bits")
    ids32 = ids.astype(np.uint32)
    parts = []
    for position in range(_TYPES):
        selected = ids32[(masks >> position) & 1 == 1]
        parts.append(BitMap(selected).serialize() if selected.size else b"")
    types = _HEADER.pack(*(len(p) for p in parts)) + b"".join(parts)
    bought = np.asarray(purchases, dtype=np.int64) > 0
    order = np.argsort(ids32[bought], kind="stable")
    rows = (
        ids32[bought][order].tobytes()
        + np.asarray(purchases, dtype=np.int32)[bought][order].tobytes()
        + np.asarray(purchase_cents, dtype=np.int64)[bought][order].tobytes()
    )
    return types, rows


def dayset_types(data: bytes) -> list[BitMap | None]:
    sizes = _HEADER.unpack_from(data)
    offset, out = _HEADER.size, []
    for size in sizes:
        out.append(BitMap.deserialize(data[offset : offset + size]) if size else None)
        offset += size
    return out


def dayset_purchases(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(data) // 16
    ids = np.frombuffer(data, dtype=np.uint32, count=n)
    counts = np.frombuffer(data, dtype=np.int32, count=n, offset=4 * n)
    cents = np.frombuffer(data, dtype=np.int64, count=n, offset=8 * n)
    return ids, counts, cents


def _type_unions(days: list[bytes]) -> list[BitMap]:
    """Per event type, the customers that had it on any of the days."""
    per_type: list[list[BitMap]] = [[] for _ in range(_TYPES)]
    for data in days:
        for position, bitmap in enumerate(dayset_types(data)):
            if bitmap is not None:
                per_type[position].append(bitmap)
    return [BitMap.union(*bitmaps) if bitmaps else BitMap() for bitmaps in per_type]


def _purchase_sums(days: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Per purchasing customer of the days: (purchases, purchase cents) summed, in customer order."""
    parts = [dayset_purchases(data) for data in days]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ids = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts]).astype(np.int64)
    cents = np.concatenate([p[2] for p in parts])
    inverse = np.unique(ids, return_inverse=True)[1]
    return _int_sums(inverse, counts), _int_sums(inverse, cents)


def _int_sums(inverse: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Exact int64 sums per group (bincount's float weights would round past 2**53 cents)."""
    sums = np.zeros(int(inverse.max()) + 1 if inverse.size else 0, dtype=np.int64)
    np.add.at(sums, inverse, values)
    return sums


def daysets_summary(
    current: list[bytes], purchases: list[bytes], previous: list[bytes] | None, *, threshold_cents: int
) -> tuple[dict, dict]:
    """`customer_summary_aggregate`'s answer from the day sets of the period (`current`: type sets, `purchases`:
    purchase rows) and of the previous period (type sets; None: it has no customers)."""
    unions = _type_unions(current)
    u = {event_type: unions[position] for event_type, position in TYPE_POSITIONS.items()}
    active = BitMap.union(*unions)
    # Bit-sliced counters: customers with at least one, two, three event types.
    one, two, three = BitMap(), BitMap(), BitMap()
    for bitmap in unions:
        three |= two & bitmap
        two |= one & bitmap
        one |= bitmap
    others = BitMap.union(*(b for t, b in u.items() if t != "page_view"))
    bought = u["purchase"]
    counts, cents = _purchase_sums(purchases)
    high = int((cents > threshold_cents).sum())
    if threshold_cents < 0:  # a customer without purchases has 0 cents, above a negative threshold
        high += len(active) - len(bought)
    summary = {
        "customers": len(active),
        "step_view": u["page_view"].union_cardinality(u["view_item"]),
        "step_add_to_cart": len(u["add_to_cart"]),
        "step_begin_checkout": len(u["begin_checkout"]),
        "step_purchase": len(bought),
        "segment_cart_abandoners": u["add_to_cart"].difference_cardinality(bought),
        "segment_potential_customers": (u["add_to_cart"] | u["begin_checkout"]).difference_cardinality(bought),
        "segment_high_value_customers": high,
        "segment_new_visitors": u["page_view"].difference_cardinality(others),
        "segment_engaged_users": len(three),
        "segment_repeat_customers": int((counts > 1).sum()),
    }
    types = sum(len(b) for b in unions)
    summary["avg_types"] = types / summary["customers"] if summary["customers"] else None
    before = {"step_view": 0, "step_add_to_cart": 0, "step_begin_checkout": 0, "step_purchase": 0}
    if previous:
        p = dict(zip(TYPE_POSITIONS, _type_unions(previous), strict=True))
        before = {
            "step_view": p["page_view"].union_cardinality(p["view_item"]),
            "step_add_to_cart": len(p["add_to_cart"]),
            "step_begin_checkout": len(p["begin_checkout"]),
            "step_purchase": len(p["purchase"]),
        }
    return summary, before


# --- Reading ----------------------------------------------------------------------------------------------------


def daysets_read(
    *, workspace_id: int, pairs: set[tuple[date, int]], missing_days_max: int
) -> dict[tuple[date, int], tuple[bytes, bytes]] | None:
    """The day sets of the (day, source) pairs: the stored ones, and those missing built from their customer-day
    rows in memory (read-only); None when more than `missing_days_max` days miss some (then grouping the rows
    in the database is cheaper). Pairs without customers are empty sets."""
    if not pairs:
        return {}
    days = sorted({day for day, _source in pairs})
    sources = sorted({source for _day, source in pairs})
    stored = CustomerDaySet.objects.filter(
        workspace_id=workspace_id, day__gte=days[0], day__lte=days[-1], source_id__in=sources
    ).values_list("day", "source_id", "type_sets", "purchase_rows")
    found = {(day, source): (bytes(t), bytes(r)) for day, source, t, r in stored if (day, source) in pairs}
    missing = pairs - found.keys()
    if len({day for day, _source in missing}) > missing_days_max:
        return None
    if missing:
        found |= _daysets_from_rows(workspace_id=workspace_id, pairs=missing)
    return found


def _daysets_from_rows(*, workspace_id: int, pairs: Iterable[tuple[date, int]]) -> dict:
    """Day sets of the pairs built from their customer-day rows (pairs without rows get empty sets): one plain
    query per day, its rows straight into numpy (model instances or per-row tuples would double the time)."""
    by_day: dict[date, list[int]] = {}
    for day, source in sorted(pairs):
        by_day.setdefault(day, []).append(source)
    built = {}
    with connection.cursor() as cursor:
        for day, sources in by_day.items():
            cursor.execute(  # only the sources asked for: another source's set of that day may be stored already
                f"SELECT source_id, customer_id, type_mask, purchases, purchase_cents "
                f"FROM {CustomerDayRollup._meta.db_table} WHERE workspace_id = %s AND day = %s "
                f"AND source_id IN ({', '.join(['%s'] * len(sources))})",
                [workspace_id, connection.ops.adapt_datefield_value(day), *sources],
            )
            table = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 5)
            for source in sources:
                rows = table[table[:, 0] == source]
                built[(day, source)] = dayset_encode(rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4])
    return built


# --- Maintenance ----------------------------------------------------------------------------------------------


def _table() -> str:
    return CustomerDaySet._meta.db_table


def daysets_forget_sql(pairs_sql: str) -> str:
    """The statement deleting the day sets of the workspace (`%(workspace)s`) at the (day, source_id) pairs
    `pairs_sql` selects."""
    return f"DELETE FROM {_table()} WHERE workspace_id = %(workspace)s AND (day, source_id) IN ({pairs_sql})"


def daysets_forget_of_customers(cursor, *, customers_sql: str, params: dict) -> None:
    """Delete the day sets of every (day, source) the customers (`customers_sql`: a SELECT of ids; `params` with
    `workspace`) have day rollups on; in the caller's transaction, before and after their rows change."""
    customer_days = (
        f"SELECT day, source_id FROM {CustomerDayRollup._meta.db_table} "
        f"WHERE workspace_id = %(workspace)s AND customer_id IN ({customers_sql})"
    )
    cursor.execute(daysets_forget_sql(customer_days), params)


def daysets_forget(*, workspace_id: int, source_id: int | None = None, days: Iterable[date] | None = None) -> None:
    """Delete the workspace's day sets (of one source, of some days); in the caller's transaction."""
    rows = CustomerDaySet.objects.filter(workspace_id=workspace_id)
    if source_id is not None:
        rows = rows.filter(source_id=source_id)
    if days is not None:
        rows = rows.filter(day__in=list(days))
    rows.delete()


def daysets_missing(*, workspace_id: int | None = None) -> dict[int, dict[date, list[int]]]:
    """{workspace: {day: [sources]}} of the (day, source)s with identified events and no day set."""
    identified, sets = EventRollup.objects.filter(identified_events__gt=0), CustomerDaySet.objects.all()
    if workspace_id is not None:
        identified, sets = identified.filter(workspace_id=workspace_id), sets.filter(workspace_id=workspace_id)
    stored = set(sets.values_list("workspace_id", "day", "source_id"))
    missing: dict[int, dict[date, list[int]]] = {}
    for key in identified.values_list("workspace_id", "day", "source_id").distinct().order_by():
        if key not in stored:
            workspace, day, source = key
            missing.setdefault(workspace, {}).setdefault(day, []).append(source)
    return missing


def daysets_build(*, workspace_id: int | None = None, before_day: Callable[[], None] | None = None) -> int:
    """Build the missing day sets (of one workspace, or all); returns how many were built. One transaction per
    day, holding the workspace's rollup lock exclusively (PostgreSQL), so no store changes the day between the
    read of its rows and the set's commit: a store deletes the sets of the days it adds to. `before_day` runs
    before each day's transaction (a job's heartbeat)."""
    built = 0
    for workspace, days in daysets_missing(workspace_id=workspace_id).items():
        for day, sources in sorted(days.items()):
            if before_day is not None:
                before_day()
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute(rollup_lock_sql(workspace, exclusive=True))
                try:
                    sets = _daysets_from_rows(workspace_id=workspace, pairs=[(day, source) for source in sources])
                except OverflowError:  # customer ids past 32 bits: the overview groups the rows instead
                    continue
                CustomerDaySet.objects.filter(workspace_id=workspace, day=day, source_id__in=sources).delete()
                CustomerDaySet.objects.bulk_create(
                    CustomerDaySet(
                        workspace_id=workspace, source_id=source, day=day, type_sets=types, purchase_rows=rows
                    )
                    for (day, source), (types, rows) in sets.items()
                )
                built += len(sets)
    return built
