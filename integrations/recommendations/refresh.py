"""Refresh of the product recommendations' tables from the event history, in SQL (DESIGN §10).

`CustomerProduct` holds what each customer (by key) bought and viewed, read from the items of their purchase,
view_item and add_to_cart events (`properties.items[].item_id`, or the pixel's `content_ids`); `ProductPair`
counts the customers who bought (viewed) both products of a pair; `Product` the customers who bought (viewed)
each. Incremental: only the customers changed since the previous refresh are read again (keys of newer events,
keys touched by identity merges or their undo); their old pairs are subtracted and their new ones added, so a
refresh costs what changed, not the history. The first refresh, and any after events were deleted, is full.
"""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from integrations.models import (
    CustomerProduct,
    DataSource,
    Event,
    IdentityMerge,
    Product,
    ProductPair,
    RecommendationState,
)

PRODUCT_EVENTS = ("purchase", "view_item", "add_to_cart")
VIEW_EVENTS = ("view_item", "add_to_cart")
# Identity merges committed while the previous refresh ran are read again: this much before its start.
MERGE_OVERLAP_SECONDS = 300
KEYS_TABLE = "CREATE TEMP TABLE IF NOT EXISTS rec_keys (customer_key text PRIMARY KEY)"


def _tables() -> dict[str, str]:
    return {
        "event": Event._meta.db_table,
        "merge": IdentityMerge._meta.db_table,
        "customer_product": CustomerProduct._meta.db_table,
        "pair": ProductPair._meta.db_table,
        "product": Product._meta.db_table,
    }


def _items_sql(subset: str) -> str:
    """(customer_key, product_id, name, event_type, occurred_at) of every item of the customers' product events."""
    table = _tables()["event"]
    types = ", ".join(f"'{event_type}'" for event_type in PRODUCT_EVENTS)
    where = f"e.workspace_id = %(workspace)s AND e.customer_key <> '' AND e.event_type IN ({types}) {subset}"
    if connection.vendor == "postgresql":
        return f"""
        SELECT e.customer_key, item->>'item_id' AS product_id, coalesce(item->>'item_name', '') AS name,
            e.event_type, e.occurred_at
        FROM {table} e CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(e.properties->'items') = 'array' THEN e.properties->'items' ELSE '[]' END
        ) item
        WHERE {where} AND jsonb_typeof(item) = 'object'
        UNION ALL
        SELECT e.customer_key, content.value, '', e.event_type, e.occurred_at
        FROM {table} e CROSS JOIN LATERAL jsonb_array_elements_text(
            CASE WHEN jsonb_typeof(e.properties->'content_ids') = 'array' THEN e.properties->'content_ids'
            ELSE '[]' END
        ) content
        WHERE {where} AND NOT e.properties ? 'items'
        """
    return f"""
    SELECT e.customer_key, CAST(json_extract(item.value, '$.item_id') AS TEXT) AS product_id,
        coalesce(json_extract(item.value, '$.item_name'), '') AS name, e.event_type, e.occurred_at
    FROM {table} e, json_each(e.properties, '$.items') item
    WHERE {where} AND item.type = 'object'
    UNION ALL
    SELECT e.customer_key, CAST(content.value AS TEXT), '', e.event_type, e.occurred_at
    FROM {table} e, json_each(e.properties, '$.content_ids') content
    WHERE {where} AND json_type(e.properties, '$.items') IS NULL
    """


def _customer_products_sql(subset: str) -> str:
    views = ", ".join(f"'{event_type}'" for event_type in VIEW_EVENTS)
    return f"""
    INSERT INTO {_tables()["customer_product"]} (workspace_id, customer_key, product_id, purchases, views, last_at)
    SELECT %(workspace)s, customer_key, product_id, count(CASE WHEN event_type = 'purchase' THEN 1 END),
        count(CASE WHEN event_type IN ({views}) THEN 1 END), max(occurred_at)
    FROM ({_items_sql(subset)}) items
    WHERE product_id IS NOT NULL AND product_id <> ''
    GROUP BY customer_key, product_id
    """


def _pairs_of_sql(column: str, subset: str) -> str:
    """Pairs of products both bought (`purchases`) or viewed (`views`) by the customers, and how many did."""
    table = _tables()["customer_product"]
    return f"""
    SELECT a.product_id, b.product_id AS other_id, count(*) AS customers
    FROM {table} a JOIN {table} b ON b.workspace_id = a.workspace_id AND b.customer_key = a.customer_key
        AND b.product_id <> a.product_id
    WHERE a.workspace_id = %(workspace)s AND a.{column} > 0 AND b.{column} > 0 {subset}
    GROUP BY a.product_id, b.product_id
    """


PAIR_KINDS = ((ProductPair.Kind.PURCHASE.value, "purchases"), (ProductPair.Kind.VIEW.value, "views"))


def _pairs_add(cursor, *, workspace_id: int, subset: str) -> None:
    pair = _tables()["pair"]
    for kind, column in PAIR_KINDS:
        cursor.execute(
            f"""
            INSERT INTO {pair} AS p (workspace_id, kind, product_id, other_id, customers)
            SELECT %(workspace)s, '{kind}', product_id, other_id, customers FROM ({_pairs_of_sql(column, subset)}) x
            WHERE true
            ON CONFLICT (workspace_id, kind, product_id, other_id) DO UPDATE SET
                customers = p.customers + excluded.customers
            """,
            {"workspace": workspace_id},
        )


def _pairs_subtract(cursor, *, workspace_id: int, subset: str) -> None:
    pair = _tables()["pair"]
    for kind, column in PAIR_KINDS:
        cursor.execute(
            f"""
            UPDATE {pair} SET customers = {pair}.customers - x.customers
            FROM ({_pairs_of_sql(column, subset)}) x
            WHERE {pair}.workspace_id = %(workspace)s AND {pair}.kind = '{kind}'
                AND {pair}.product_id = x.product_id AND {pair}.other_id = x.other_id
            """,
            {"workspace": workspace_id},
        )
    cursor.execute(
        f"DELETE FROM {pair} WHERE workspace_id = %(workspace)s AND customers <= 0", {"workspace": workspace_id}
    )


def _products_rebuild(cursor, *, workspace_id: int) -> None:
    """Buyers and viewers of every product, and its name as the events last gave it."""
    table = _tables()
    params = {"workspace": workspace_id}
    cursor.execute(
        f"""
        INSERT INTO {table["product"]} AS p (workspace_id, product_id, name, buyers, viewers)
        SELECT %(workspace)s, product_id, '', count(CASE WHEN purchases > 0 THEN 1 END),
            count(CASE WHEN views > 0 THEN 1 END)
        FROM {table["customer_product"]} WHERE workspace_id = %(workspace)s
        GROUP BY product_id
        ON CONFLICT (workspace_id, product_id) DO UPDATE SET buyers = excluded.buyers, viewers = excluded.viewers
        """,
        params,
    )
    cursor.execute(
        f"""
        DELETE FROM {table["product"]} WHERE workspace_id = %(workspace)s AND NOT EXISTS (
            SELECT 1 FROM {table["customer_product"]} cp
            WHERE cp.workspace_id = %(workspace)s AND cp.product_id = {table["product"]}.product_id
        )
        """,
        params,
    )


def _names_update(cursor, *, workspace_id: int, subset: str) -> None:
    product = _tables()["product"]
    cursor.execute(
        f"""
        UPDATE {product} SET name = x.name
        FROM (
            SELECT product_id, max(name) AS name FROM ({_items_sql(subset)}) items
            WHERE name <> '' AND product_id IS NOT NULL GROUP BY product_id
        ) x
        WHERE {product}.workspace_id = %(workspace)s AND {product}.product_id = x.product_id
        """,
        {"workspace": workspace_id},
    )


def _changed_keys(cursor, *, state: RecommendationState) -> int:
    """Fill `rec_keys` with the customers to read again; returns how many."""
    table = _tables()
    since = (state.refreshed_at or timezone.now()) - timedelta(seconds=MERGE_OVERLAP_SECONDS)
    cursor.execute(KEYS_TABLE)
    cursor.execute("DELETE FROM rec_keys")
    cursor.execute(
        f"""
        INSERT INTO rec_keys (customer_key)
        SELECT customer_key FROM {table["event"]}
        WHERE id > %(watermark)s AND workspace_id = %(workspace)s AND customer_key <> ''
        UNION SELECT customer_key FROM {table["merge"]}
        WHERE workspace_id = %(workspace)s AND (created_at >= %(since)s OR undone_at >= %(since)s)
        UNION SELECT value FROM {table["merge"]}
        WHERE workspace_id = %(workspace)s AND kind = 'customer' AND (created_at >= %(since)s OR undone_at >= %(since)s)
        """,
        {"workspace": state.workspace_id, "watermark": state.previous_watermark, "since": since},
    )
    if connection.vendor == "postgresql":  # autovacuum never sees temporary tables: without this the planner
        cursor.execute("ANALYZE rec_keys")  # guesses their size and hashes all of the workspace's events
    cursor.execute("SELECT count(*) FROM rec_keys")
    return cursor.fetchone()[0]


def _keyed(alias: str, full: bool) -> str:
    """The SQL condition limiting a query to the customers being read again (none in a full refresh)."""
    return "" if full else f"AND {alias}.customer_key IN (SELECT k.customer_key FROM rec_keys k)"


def tables_refresh(*, state: RecommendationState, full: bool) -> None:
    """Bring the workspace's recommendation tables up to date with its events; the caller holds `state` locked
    in its transaction and saves the figures set on it."""
    workspace_id = state.workspace_id
    watermark = Event.objects.aggregate(top=Max("id"))["top"] or 0  # global: one index read
    full = full or not state.refreshed_at or not state.event_watermark
    params = {"workspace": workspace_id}
    with transaction.atomic(), connection.cursor() as cursor:
        if full:
            CustomerProduct.objects.filter(workspace_id=workspace_id).delete()
            ProductPair.objects.filter(workspace_id=workspace_id).delete()
            changed = None
        else:
            changed = _changed_keys(cursor, state=state)
            _pairs_subtract(cursor, workspace_id=workspace_id, subset=_keyed("a", full))
            cursor.execute(
                f"DELETE FROM {_tables()['customer_product']} WHERE workspace_id = %(workspace)s "
                "AND customer_key IN (SELECT k.customer_key FROM rec_keys k)",
                params,
            )
        if changed != 0:
            cursor.execute(_customer_products_sql(_keyed("e", full)), params)
            if full and connection.vendor == "postgresql":
                # The statistics may predate this workspace's rows (a first refresh after an import): the planner
                # then expects one row and pairs them in a nested loop, quadratic in the workspace's customers.
                cursor.execute(f"ANALYZE {_tables()['customer_product']}")
            _pairs_add(cursor, workspace_id=workspace_id, subset=_keyed("a", full))
            _products_rebuild(cursor, workspace_id=workspace_id)
            _names_update(cursor, workspace_id=workspace_id, subset=_keyed("e", full))
    customers = CustomerProduct.objects.filter(workspace_id=workspace_id)
    state.mode = "full" if full else "incremental"
    state.customers_changed = customers.values("customer_key").distinct().count() if full else changed
    state.previous_watermark = watermark if full else state.event_watermark
    state.event_watermark = watermark
    state.products = Product.objects.filter(workspace_id=workspace_id).count()
    state.pairs = ProductPair.objects.filter(workspace_id=workspace_id).count()
    state.buyers = customers.filter(purchases__gt=0).values("customer_key").distinct().count()
    state.viewers = customers.filter(views__gt=0).values("customer_key").distinct().count()


def workspaces_due() -> list[int]:
    """Workspaces whose sources received events since their last refresh (or never refreshed)."""
    latest = (
        DataSource.objects.filter(last_event_at__isnull=False)
        .values("workspace_id")
        .annotate(latest=Max("last_event_at"))
    )
    refreshed = dict(RecommendationState.objects.values_list("workspace_id", "refreshed_at"))
    return sorted(
        row["workspace_id"]
        for row in latest
        if refreshed.get(row["workspace_id"]) is None or row["latest"] > refreshed[row["workspace_id"]]
    )
