"""Benchmark: the intelligence features on PostgreSQL (issue 12, "Benchmarks"); figures in bench/README.md.

Usage: .venv/bin/python bench/intelligence.py [--sizes 10000,100000] [--stitch-events 200000]
       [--stitch-rounds 2] [--parts recommendations,stitching] [--database-url postgres://.../mai_intel_bench]

1. Recommendations, per size (customers of the dummy-data generator, whose orders follow product bundles):
   the dummy GTM events of that many customers through the real pipeline; each customer with purchases of
   two or more products has its last purchase held out (its events deleted before the refresh, so the model
   never sees them); a full refresh (timed); then hit rate at 10 on the held-out products for the
   co-purchase/co-view recommendations against the most-popular baseline (the 10 best sellers the customer
   has not bought), measured on the same customers in the same run. Then 1% more events and an incremental
   refresh, timed against the full one.
2. Stitching: the same dummy-data job (GTM events: every event carries the browser's client id, a quarter of
   first visits are anonymous until checkout) with identity stitching off and on, interleaved rounds in fresh
   workspaces; events/s of each and the ratio.
Prints one JSON document. Uses its own database (created and migrated; default `mai_intel_bench`).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mai_intel_bench"
EVENTS_PER_CUSTOMER = 6  # the generator's pool is count // 6 customers
EVALUATED_MAX = 3000  # held-out customers scored per size (a sample beyond that)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="customers per recommendations run")
    parser.add_argument("--stitch-events", type=int, default=200_000, help="events per stitching run")
    parser.add_argument("--stitch-rounds", type=int, default=2, help="rounds of (off, on) runs, interleaved")
    parser.add_argument("--parts", default="recommendations,stitching")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    return parser.parse_args()


def database_reset(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
    os.environ.setdefault("LIVE_UPDATES", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.LIVE_UPDATES = False
    call_command("migrate", verbosity=0, interactive=False)


def dummy_job(workspace, *, events: int, seed) -> float:
    """Run one dummy-data job of GTM events to completion in this process; returns its seconds."""
    from integrations.jobs import job_run
    from integrations.models import SyncJob
    from integrations.services import dummy_source_get_or_create

    source = dummy_source_get_or_create(workspace=workspace, source_type="gtm")
    job = SyncJob.objects.create(
        workspace=workspace, source=source, kind="dummy_data", total=events, params={"count": events, "seed": seed}
    )
    started = time.perf_counter()
    job_run(job_id=job.id)
    return time.perf_counter() - started


# --- 1. Recommendations ------------------------------------------------------------------------------------------

HELD_OUT_SQL = """
WITH purchases AS (
    SELECT e.id, e.customer_key, e.occurred_at, item->>'item_id' AS product_id
    FROM integrations_event e CROSS JOIN LATERAL jsonb_array_elements(e.properties->'items') item
    WHERE e.workspace_id = %(workspace)s AND e.event_type = 'purchase' AND e.customer_key <> ''
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY customer_key ORDER BY occurred_at DESC, id DESC) AS n
    FROM purchases
)
SELECT last.id, last.customer_key, last.product_id FROM ranked last
WHERE last.n = 1 AND NOT EXISTS (
    SELECT 1 FROM ranked earlier WHERE earlier.customer_key = last.customer_key AND earlier.n > 1
        AND earlier.product_id = last.product_id
) AND EXISTS (SELECT 1 FROM ranked earlier WHERE earlier.customer_key = last.customer_key AND earlier.n > 1)
"""


def held_out_purchases(workspace) -> list[tuple[int, str, str]]:
    """(event id, customer key, product) of each customer's last purchase of a product not bought before."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(HELD_OUT_SQL, {"workspace": workspace.id})
        return cursor.fetchall()


def popular_baseline(*, workspace_id: int, bought: set[str], ranking: list[str], limit: int = 10) -> list[str]:
    return [product for product in ranking if product not in bought][:limit]


def bench_recommendations(size: int) -> dict:
    import random

    from django.db import connection

    from accounts.models import Workspace
    from integrations.models import Customer, CustomerProduct, Product
    from integrations.recommendations.selectors import recommendations_for_customer
    from integrations.recommendations.services import recommendations_refresh

    workspace = Workspace.objects.create(name=f"Bench recommendations {size}")
    events = size * EVENTS_PER_CUSTOMER
    ingest_seconds = dummy_job(workspace, events=events, seed=f"recs-{size}")
    held = held_out_purchases(workspace)
    with connection.cursor() as cursor:  # the model must not see the held-out purchases
        ids = [event_id for event_id, _key, _product in held]
        for start in range(0, len(ids), 10_000):
            cursor.execute("DELETE FROM integrations_event WHERE id = ANY(%s)", [ids[start : start + 10_000]])
    started = time.perf_counter()
    state = recommendations_refresh(workspace_id=workspace.id, full=True)
    full_seconds = time.perf_counter() - started

    sample = random.Random(size).sample(held, min(len(held), EVALUATED_MAX))
    ranking = list(
        Product.objects.filter(workspace=workspace)
        .order_by("-buyers", "product_id")
        .values_list("product_id", flat=True)
    )
    customers = {
        c.customer_key: c
        for c in Customer.objects.filter(workspace=workspace, customer_key__in=[k for _i, k, _p in sample])
    }
    hits = baseline_hits = 0
    latencies = []
    for _event_id, key, product in sample:
        bought = set(
            CustomerProduct.objects.filter(workspace=workspace, customer_key=key, purchases__gt=0).values_list(
                "product_id", flat=True
            )
        )
        clock = time.perf_counter()
        offered = [r.product_id for r in recommendations_for_customer(customer=customers[key], limit=10)]
        latencies.append(time.perf_counter() - clock)
        hits += product in offered
        baseline_hits += product in popular_baseline(workspace_id=workspace.id, bought=bought, ranking=ranking)

    more = max(1, events // 100)
    dummy_job(workspace, events=more, seed=f"recs-{size}-more")
    started = time.perf_counter()
    incremental = recommendations_refresh(workspace_id=workspace.id)
    incremental_seconds = time.perf_counter() - started
    hit_rate, baseline = hits / len(sample), baseline_hits / len(sample)
    latencies.sort()
    return {
        "customers": Customer.objects.filter(workspace=workspace).count(),
        "events": events,
        "ingest_seconds": round(ingest_seconds, 1),
        "products": state.products,
        "pairs": state.pairs,
        "held_out_customers": len(held),
        "evaluated": len(sample),
        "hit_rate_at_10": round(hit_rate, 4),
        "most_popular_hit_rate_at_10": round(baseline, 4),
        "hit_rate_over_most_popular": round(hit_rate / baseline, 3) if baseline else None,
        "refresh_full_seconds": round(full_seconds, 2),
        "incremental_events": more,
        "refresh_incremental_seconds": round(incremental_seconds, 2),
        "incremental_customers_changed": incremental.customers_changed,
        "incremental_over_full_time": round(incremental_seconds / full_seconds, 3),
        "recommend_one_customer_ms_p50": round(latencies[len(latencies) // 2] * 1000, 1),
        "recommend_one_customer_ms_p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
    }


# --- 2. Stitching ---------------------------------------------------------------------------------------------------


def bench_stitching(events: int, rounds: int) -> dict:
    """The pipeline with identity stitching against the same pipeline without, interleaved in fresh workspaces."""
    from django.conf import settings

    from accounts.models import Workspace
    from integrations.models import Customer, Event, IdentityMerge

    runs: dict[str, list[float]] = {"off": [], "on": []}
    merges = customers = {}
    try:
        for round_number in range(rounds):
            for name in ("off", "on"):
                settings.IDENTITY_STITCHING = name == "on"
                workspace = Workspace.objects.create(name=f"Bench stitching {name} {round_number}")
                seconds = dummy_job(workspace, events=events, seed=f"stitch-{round_number}")
                runs[name].append(round(Event.objects.filter(workspace=workspace).count() / seconds))
                customers = {**customers, name: Customer.objects.filter(workspace=workspace).count()}
                if name == "on":
                    merges = {
                        "anonymous_ids_joined": IdentityMerge.objects.filter(
                            workspace=workspace, kind="anonymous"
                        ).count(),
                        "customer_keys_joined": IdentityMerge.objects.filter(
                            workspace=workspace, kind="customer"
                        ).count(),
                    }
    finally:
        settings.IDENTITY_STITCHING = True
    return {
        "events_per_run": events,
        "events_per_s_stitching_off": runs["off"],
        "events_per_s_stitching_on": runs["on"],
        "on_over_off": round(statistics.median(runs["on"]) / statistics.median(runs["off"]), 3),
        "customers_off_vs_on": customers,
        **merges,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def main() -> None:
    args = parse_args()
    database_reset(args.database_url)
    django_setup(args.database_url)
    parts = set(args.parts.split(","))
    result: dict = {"database": "postgresql"}
    if "recommendations" in parts:
        result["recommendations"] = {}
        for size in (int(s) for s in args.sizes.split(",")):
            started = time.perf_counter()
            result["recommendations"][str(size)] = bench_recommendations(size)
            result["recommendations"][str(size)]["seconds"] = round(time.perf_counter() - started, 1)
            print(json.dumps({"progress": f"recommendations {size}"}), file=sys.stderr, flush=True)
    if "stitching" in parts:
        result["stitching"] = bench_stitching(args.stitch_events, args.stitch_rounds)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
