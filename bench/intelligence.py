"""Benchmark: the intelligence features on PostgreSQL; figures in bench/README.md.

Usage: .venv/bin/python bench/intelligence.py [--sizes 10000,100000] [--stitch-events 200000]
       [--stitch-rounds 2] [--parts recommendations,stitching] [--database-url postgres://.../mai_intel_bench]
       [--parts predictions --prediction-sizes 1000,10000,100000 --rescores 300 --baseline-checkout PATH]

1. Recommendations, per size (customers of the dummy-data generator, whose orders follow product bundles):
   the dummy GTM events of that many customers through the real pipeline; each customer with purchases of
   two or more products has its last purchase held out (its events deleted before the refresh, so the model
   never sees them); a full refresh (timed); then hit rate at 10 on the held-out products for the
   co-purchase/co-view recommendations against the most-popular baseline (the 10 best sellers the customer
   has not bought), measured on the same customers in the same run. The tables are then ANALYZEd (as autovacuum
   would after a load). Then 1% more events and an incremental
   refresh, timed against the full one; then 1% more again after dating the load's identity merges an hour back
   (steady state: only the customers of new events and merges are read again), timed against the full one too.
2. Stitching: the same dummy-data jobs (GTM events: every event carries the browser's client id, a quarter of
   first visits are anonymous until checkout) with identity stitching off and on, interleaved rounds in fresh
   workspaces. Each run is two jobs: the first meets every visitor for the first time (each batch joins new
   anonymous ids and moves some history), the second brings new events of the same customers (their ids are
   known: the steady state). Events/s of each job, the on/off ratio per round and of the medians, and the
   statements per 1,000 events (the store's COPY not counted).
3. Predictions, per size (`--prediction-sizes`, default 1000,10000,100000 customers): a fresh workspace whose
   customers' day rollups (what the features read) are written directly for 120 days of simulated behaviour
   (regular buyers with their own cadence, customers who fade out, browsers who never buy); the real training job
   (`prediction_model_train_run`: features in SQL, the time split, fit, held-out metrics, refit, scoring every
   customer), timed; held-out AUC against the recency-only baseline on the same customers; then the rescoring of
   one customer after new events (`predictions_score_customers`, what the pipeline's hook runs) timed
   `--rescores` times; resident memory before and after training and across the rescoring loop. With
   `--baseline-checkout PATH` (a worktree at an older commit), that checkout's rescoring runs in a second process on
   the same customers, in rounds alternating with this checkout's, and the ratios of the two are printed.
   The 90-day value's held-out measure (`value30d`): the value model's next-30-day spend against last quarter's
   spend per month, on the same customers (errors, rank correlation, totals).
Prints one JSON document. Uses its own database (created and migrated; default `mai_intel_bench`).
"""

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import database_reset  # noqa: E402 (bench/ is a package once ROOT is on the path)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mai_intel_bench"
EVENTS_PER_CUSTOMER = 6  # the generator's pool is count // 6 customers
EVALUATED_MAX = 3000  # held-out customers scored per size (a sample beyond that)
DAYS = 120  # of simulated behaviour behind the predictions part
BATCH = 5000  # customers and rollup rows written per bulk insert


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="customers per recommendations run")
    parser.add_argument("--stitch-events", type=int, default=200_000, help="events per stitching run")
    parser.add_argument("--stitch-rounds", type=int, default=2, help="rounds of (off, on) runs, interleaved")
    parser.add_argument("--parts", default="recommendations,stitching,predictions")
    parser.add_argument("--prediction-sizes", default="1000,10000,100000", help="customers per predictions run")
    parser.add_argument("--rescores", type=int, default=300, help="one-customer rescorings timed per size")
    parser.add_argument(
        "--baseline-checkout",
        default="",
        help="another checkout (e.g. a worktree at an older commit) whose predictions_score_customers is timed on "
        "the same customers in alternating rounds, in a second process on this checkout's virtualenv",
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    return parser.parse_args()


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
    from django.db.models import F

    from accounts.models import Workspace
    from integrations.models import Customer, CustomerProduct, IdentityMerge, Product
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
    with connection.cursor() as cursor:  # what autovacuum does after a bulk load (it is off on the shared machine)
        for table in ("event", "customerproduct", "productpair", "identitymerge"):
            cursor.execute(f"ANALYZE integrations_{table}")

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
    # Steady state: the load's identity merges dated an hour back (older than the refresh's overlap for merges), as
    # on a workspace loaded earlier, so only the customers of new events and new merges are read again.
    IdentityMerge.objects.filter(workspace=workspace).update(created_at=F("created_at") - timedelta(hours=1))
    dummy_job(workspace, events=more, seed=f"recs-{size}-steady")
    started = time.perf_counter()
    steady = recommendations_refresh(workspace_id=workspace.id)
    steady_seconds = time.perf_counter() - started
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
        "refresh_incremental_steady_seconds": round(steady_seconds, 2),
        "incremental_steady_customers_changed": steady.customers_changed,
        "incremental_steady_over_full_time": round(steady_seconds / full_seconds, 3),
        "recommend_one_customer_ms_p50": round(latencies[len(latencies) // 2] * 1000, 1),
        "recommend_one_customer_ms_p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
    }


# --- 2. Stitching ---------------------------------------------------------------------------------------------------


def bench_stitching(events: int, rounds: int) -> dict:
    """The pipeline with identity stitching against the same pipeline without, interleaved in fresh workspaces:
    a first job of new visitors, then a second of the same customers, whose ids are known."""
    from django.conf import settings
    from django.db import connection

    from accounts.models import Workspace
    from integrations.models import Customer, Event, IdentityMerge

    jobs = ("first", "known")
    rates: dict = {(name, job): [] for name in ("off", "on") for job in jobs}
    statements: dict = {}
    merges = customers = {}
    load_before = [round(x, 1) for x in os.getloadavg()]
    try:
        for round_number in range(rounds):
            for name in ("off", "on"):
                settings.IDENTITY_STITCHING = name == "on"
                workspace = Workspace.objects.create(name=f"Bench stitching {name} {round_number}")
                for job in jobs:
                    stored = Event.objects.filter(workspace=workspace).count()
                    counted = [0]

                    def count(execute, sql, params, many, context, counted=counted):
                        counted[0] += 1
                        return execute(sql, params, many, context)

                    with connection.execute_wrapper(count):
                        seconds = dummy_job(workspace, events=events, seed=f"stitch-{round_number}-{job}")
                    added = Event.objects.filter(workspace=workspace).count() - stored
                    rates[name, job].append(round(added / seconds))
                    statements[f"{name}_{job}"] = round(1000 * counted[0] / added, 1)
                customers = {**customers, name: Customer.objects.filter(workspace=workspace).count()}
                if name == "on":
                    joined = IdentityMerge.objects.filter(workspace=workspace)
                    merges = {
                        "anonymous_ids_joined": joined.filter(kind="anonymous").count(),
                        "customer_keys_joined": joined.filter(kind="customer").count(),
                    }
    finally:
        settings.IDENTITY_STITCHING = True
    result: dict = {"events_per_job": events}
    for job in jobs:
        off, on = rates["off", job], rates["on", job]
        result[job] = {
            "events_per_s_stitching_off": off,
            "events_per_s_stitching_on": on,
            "on_over_off_per_round": [round(b / a, 3) for a, b in zip(off, on, strict=True)],
            "on_over_off": round(statistics.median(on) / statistics.median(off), 3),
        }
    return {
        **result,
        "statements_per_1000_events": statements,
        "customers_off_vs_on": customers,
        **merges,
        "load_average_before": load_before,
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
    }


def rss_mb() -> float:
    """Current resident memory of this process (Linux), in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


ROLLUP_COPY = """COPY integrations_customerdayrollup (workspace_id, customer_id, day, source_id, events, type_mask,
    purchases, purchase_cents, page_views, add_to_cart, begin_checkout, cart_cents, first_at, last_at,
    last_add_to_cart_at, last_purchase_at) FROM STDIN"""


def customers_simulate(workspace, size: int, seed: int) -> int:
    """`size` customers and their day rollups over the last DAYS days; returns the rollup rows written."""
    from django.db import connection
    from django.utils import timezone

    from integrations.models import Customer, DataSource

    rng = random.Random(seed)
    source = DataSource.objects.create(workspace=workspace, source_type="shopify", name="Bench store")
    now = timezone.now()
    today = timezone.localdate()
    rows, written = [], 0
    for start in range(0, size, BATCH):
        chunk = []
        histories = []
        for number in range(start, min(start + BATCH, size)):
            days = _visits(rng)
            if not days:
                days = [(rng.randint(0, DAYS - 1), False, 0)]
            first, last = max(d for d, _, _ in days), min(d for d, _, _ in days)
            chunk.append(
                Customer(
                    workspace=workspace,
                    customer_key=f"c{number:07d}",
                    first_seen_at=now - timedelta(days=first),
                    last_seen_at=now - timedelta(days=last),
                    event_count=len(days) * 2,
                    purchase_count=sum(1 for _, bought, _ in days if bought),
                )
            )
            histories.append(days)
        created = Customer.objects.bulk_create(chunk, batch_size=BATCH)
        for customer, days in zip(created, histories, strict=True):
            for age, bought, cents in days:
                moment = now - timedelta(days=age)
                events = 3 if bought else 1 + rng.randint(0, 2)
                add_to_cart = 1 if bought else int(rng.random() < 0.2)
                rows.append(
                    (workspace.id, customer.id, today - timedelta(days=age), source.id, events)
                    + (0b1 | (0b10000000 if bought else 0), 1 if bought else 0, cents, 1, add_to_cart, 0, 0)
                    + (moment, moment, None, moment if bought else None)
                )
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(ROLLUP_COPY) as copy,
        ):  # COPY: the ORM spent most of a large generation
            for row in rows:
                copy.write_row(row)
        written += len(rows)
        rows = []
    return written


def _visits(rng: random.Random) -> list[tuple[int, bool, int]]:
    """Days ago of one customer's visits, whether each bought, and the order value in cents."""
    kind = rng.random()
    start = rng.uniform(0.5, 1.0) * DAYS
    cadence = rng.uniform(4, 30)
    stop = rng.uniform(0, start) if kind < 0.35 else 0  # fading customers stop at some point
    buys = kind > 0.15  # browsers never buy
    appetite = rng.uniform(0.2, 0.7)
    visits, age, seen = [], start, set()
    while age > stop:
        day = int(age)
        if day not in seen:
            seen.add(day)
            bought = buys and rng.random() < appetite
            visits.append((day, bought, rng.randint(1500, 15000) if bought else 0))
        age -= rng.expovariate(1 / cadence)
    return visits


# The baseline checkout's rescoring, in its own process: one line of customer ids in, their timings (ms) out.
BASELINE_RESCORER = """
import json, os, sys, time
sys.path.insert(0, os.getcwd())
import django
django.setup()
from ai.predictions.jobs import predictions_score_customers
workspace_id = int(sys.argv[1])
for line in sys.stdin:
    timings = []
    for customer_id in json.loads(line):
        tick = time.perf_counter()
        predictions_score_customers(workspace_id=workspace_id, customer_ids=[customer_id])
        timings.append((time.perf_counter() - tick) * 1000)
    print(json.dumps(timings), flush=True)
"""
ROUNDS = 3  # alternating rounds of rescoring, this checkout's then the baseline's


def baseline_rescorer(checkout: str, workspace_id: int):
    """The baseline checkout's rescoring process, on this run's database (DATABASE_URL is in the environment)."""
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-c", BASELINE_RESCORER, str(workspace_id)],
        cwd=checkout,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def percentiles(latencies: list[float]) -> dict:
    latencies = sorted(latencies)
    return {
        "p50": round(statistics.median(latencies), 2),
        "p99": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
        "max": round(latencies[-1], 2),
        "runs": len(latencies),
    }


def predictions_part(sizes: list[int], rescores: int, baseline_checkout: str = "") -> dict:
    from django.db.models import Count

    from accounts.models import Workspace
    from ai.predictions.jobs import prediction_model_train_run, predictions_score_customers
    from ai.predictions.models import CustomerPrediction, PredictionModel
    from integrations.models import Customer

    results = []
    for index, size in enumerate(sizes):
        workspace = Workspace.objects.create(name=f"Bench predictions {size}")
        started = time.perf_counter()
        rollup_rows = customers_simulate(workspace, size, seed=index + 1)
        generated = time.perf_counter() - started
        rss_before = rss_mb()
        model = PredictionModel.objects.create(workspace=workspace, version=1)
        started = time.perf_counter()
        prediction_model_train_run(model_id=model.id)
        job_seconds = time.perf_counter() - started
        model.refresh_from_db()
        rss_after_training = rss_mb()
        ids = list(Customer.objects.filter(workspace=workspace).values_list("id", flat=True))
        rng = random.Random(size)
        chosen = [rng.choice(ids) for _ in range(rescores)]
        rounds = [chosen[i::ROUNDS] for i in range(ROUNDS)]
        baseline = baseline_rescorer(baseline_checkout, workspace.id) if baseline_checkout else None
        if baseline:  # warm up: its imports and the model's first unpickling are not a rescoring
            baseline.stdin.write(json.dumps(chosen[:3]) + "\n")
            baseline.stdin.flush()
            baseline.stdout.readline()
        latencies, baseline_latencies = [], []
        rss_loop_start = rss_mb()
        for customers in rounds:
            for customer_id in customers:
                tick = time.perf_counter()
                predictions_score_customers(workspace_id=workspace.id, customer_ids=[customer_id])
                latencies.append((time.perf_counter() - tick) * 1000)
            if baseline:
                baseline.stdin.write(json.dumps(customers) + "\n")
                baseline.stdin.flush()
                baseline_latencies += json.loads(baseline.stdout.readline())
        if baseline:
            baseline.stdin.close()
            baseline.wait()
        value = model.metrics.get("value30d") or {}
        head = model.metrics.get("purchase30d", {})
        churn = model.metrics.get("churnRisk", {})
        results.append(
            {
                "customers": size,
                "rollupRows": rollup_rows,
                "generateSeconds": round(generated, 1),
                "status": model.status,
                "message": model.message,
                "algorithm": model.algorithm,
                "trainSeconds": model.training_seconds,  # features, split, fit, held-out metrics, refit
                "jobSeconds": round(job_seconds, 2),  # the whole job: training plus scoring every customer
                "scored": model.scored_customers,
                "confidence": dict(
                    CustomerPrediction.objects.filter(workspace=workspace)
                    .order_by()
                    .values_list("confidence")
                    .annotate(n=Count("customer"))
                ),
                "heldOut": {
                    "auc": head.get("auc"),
                    "recencyBaselineAuc": head.get("baselineAuc"),
                    "aucVsBaseline": head.get("aucLift"),
                    "customers": head.get("customers"),
                    "buyers": head.get("positives"),
                    "brier": (head.get("calibration") or {}).get("brier"),
                    "ece": (head.get("calibration") or {}).get("ece"),
                    "churnAuc": churn.get("auc"),
                    "churnRecencyBaselineAuc": churn.get("baselineAuc"),
                },
                "value30d": value,  # the value model against last quarter's spend per month, same customers
                "rescoreOneCustomerMs": percentiles(latencies),
                **(
                    {
                        "baselineRescoreOneCustomerMs": percentiles(baseline_latencies),
                        "baselineOverCurrentP50": round(
                            statistics.median(baseline_latencies) / statistics.median(latencies), 2
                        ),
                        "baselineOverCurrentP99": round(
                            percentiles(baseline_latencies)["p99"] / percentiles(latencies)["p99"], 2
                        ),
                    }
                    if baseline
                    else {}
                ),
                "loadAverage": [round(x, 1) for x in os.getloadavg()],
                "rssMb": {
                    "beforeTraining": rss_before,
                    "afterTraining": rss_after_training,
                    "rescoreLoopStart": rss_loop_start,
                    "rescoreLoopEnd": rss_mb(),
                },
            }
        )
    return {
        "sizes": results,
        "peakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
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
            progress = {"progress": f"recommendations {size}", **result["recommendations"][str(size)]}
            print(json.dumps(progress), file=sys.stderr, flush=True)  # kept if a later size is stopped
    if "stitching" in parts:
        result["stitching"] = bench_stitching(args.stitch_events, args.stitch_rounds)
    if "predictions" in parts:
        sizes = [int(s) for s in args.prediction_sizes.split(",")]
        result["predictions"] = predictions_part(sizes, args.rescores, args.baseline_checkout)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
