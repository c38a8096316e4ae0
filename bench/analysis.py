"""Benchmark: analysis_overview from the rollups against the same overview computed from the raw events.

Usage: .venv/bin/python bench/analysis.py [--sizes 1000000,10000000] [--runs 20] [--raw-runs 3] [--custom-runs 5]
       [--database-url postgres://postgres@127.0.0.1:5432/mai_bench_analysis] [--drop] [--explain]
       .venv/bin/python bench/analysis.py --ingest-compare 200000 [--rounds 6]

Uses its own PostgreSQL database (created and migrated when missing; default `mai_bench_analysis`, or
BENCH_DATABASE_URL). Events come from a realistic customer pool and funnel (~20 events per customer, 15%
anonymous, two sources, the last 33 days) and are imported the way data arrives: through the pipeline's job
runner (`job_batches_run`: COPY, event insert, customer upsert and rollups in one statement per batch of 5,000).
Each size adds events to the previous one. At each size the overview is timed twice: right after the import
(and its job end: the customer-day rollups vacuumed and the day sets built, but no ANALYZE: what a user sees when
a large import just finished) and after VACUUM ANALYZE. Timed:
the dashboard's default range (the last 30 days, all sources; p50/p95), custom ranges (p95), and the raw-event
overview (tests/integrations/raw_overview.py) on the default range in the same run, whose answer must be
identical. The workspace's default-range window (integrations/window.py) is built while it is empty, as a job's
end or beat builds it for a workspace in use, and the import keeps it; the default range is also timed with the
window dropped (the exact customer-day aggregation every other range uses, whose answer must be identical too),
then the window's rebuild. Called outside a transaction, as an API request calls it. `--ingest-compare N`
instead imports N events into a workspace with the window and into one without, each batch into both (the
order swapped every batch), for the maintenance's cost on ingest (the summed times' ratio and the median of the
per-batch ratios). `--store single_table` runs it all on the single events table the partitioned store replaced
(bench/single_table.py), the baseline of the partitioned store's figures. Prints one JSON document; figures and
their reading are in bench/README.md.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mai_bench_analysis"
DAYS = 33  # the default range (30 days) plus a few days of the previous period
EVENTS_PER_CUSTOMER = 20
ANONYMOUS_SHARE = 0.15
BATCH = 5000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated event counts, ascending")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of the default range (p50/p95)")
    parser.add_argument("--custom-runs", type=int, default=5, help="timed runs of each custom range")
    parser.add_argument("--raw-runs", type=int, default=3, help="timed runs of the raw-event overview")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--drop", action="store_true", help="drop the benchmark database at the end")
    parser.add_argument("--explain", action="store_true", help="include EXPLAIN ANALYZE of the overview's queries")
    parser.add_argument(
        "--ingest-compare",
        type=int,
        default=0,
        help="instead: import this many events into a workspace with the default window and one without, each "
        "batch into both, and compare the store times (the window's maintenance cost on ingest)",
    )
    parser.add_argument("--rounds", type=int, default=6, help="rounds (seeds) of --ingest-compare's events")
    parser.add_argument(
        "--store",
        default="partitioned",
        choices=("partitioned", "single_table"),
        help="the month-partitioned event store, or the single table it replaced (bench/single_table.py)",
    )
    return parser.parse_args()


def database_ensure(url: str, *, fresh: bool) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def workspace_make(*, window: bool = True):
    """A workspace with two sources; with `window`, its (empty) default window built, as a job's end or beat
    builds it for a workspace in use, so the import keeps it up to date."""
    from accounts.models import Workspace
    from integrations.models import DataSource
    from integrations.window import window_rebuild

    workspace = Workspace.objects.create(name="Bench analysis")
    site = DataSource.objects.create(workspace=workspace, name="Site", source_type="gtm")
    shop = DataSource.objects.create(workspace=workspace, name="Shop", source_type="shopify")
    if window:
        window_rebuild(workspace_id=workspace.id)
    return workspace, [site, shop]


def ingest_compare(args) -> dict:
    """Import the same events into a workspace whose window is kept on ingest and into one without a window (its
    store finds no window state and skips the window's step), batch by batch: each batch (one transaction, both
    sources) is stored into one workspace then the other, the order swapped every batch, so a change of the
    machine's load weighs on both alike; the ratio of the summed times is the maintenance cost."""
    kept, without = workspace_make(window=True), workspace_make(window=False)
    per_round = args.ingest_compare // args.rounds
    seconds = {"withWindow": 0.0, "withoutWindow": 0.0}
    order = [("withWindow", kept[1]), ("withoutWindow", without[1])]
    batch_ratios = []  # per batch: less swayed than the sums by one batch's stall in one workspace
    n = 0
    for r in range(args.rounds):
        for batch in batches_generate(count=per_round, offset=r * per_round, seed=r):
            taken = {}
            for name, sources in order if n % 2 == 0 else reversed(order):
                taken[name] = batch_store(sources, batch)
                seconds[name] += taken[name]
            batch_ratios.append(taken["withWindow"] / taken["withoutWindow"])
            n += 1
    events = per_round * args.rounds
    return {
        "events": events,
        "rounds": args.rounds,
        "seconds": {name: round(value, 1) for name, value in seconds.items()},
        "eventsPerSecond": {name: round(events / value) for name, value in seconds.items()},
        "withOverWithout": round(seconds["withWindow"] / seconds["withoutWindow"], 3),
        "batchRatioMedian": round(statistics.median(batch_ratios), 3),
    }


def journeys(rng: random.Random, customers: int, today: datetime):
    """Yield (source index, customer_key, event_type, value, moment) along a realistic funnel, one source per
    visit: browsing on the site, a third of the visits on the shop."""
    while True:
        anonymous = rng.random() < ANONYMOUS_SHARE
        key = "" if anonymous else f"cust-{rng.randrange(customers)}"
        source = 1 if rng.random() < 0.33 else 0
        moment = today - timedelta(days=rng.randrange(DAYS), seconds=rng.randrange(86400))
        for _ in range(1 + int(rng.expovariate(0.6))):
            yield source, key, "page_view", None, moment
        if rng.random() < 0.05:
            yield source, key, "search", None, moment
        if rng.random() < 0.55:
            price = Decimal(rng.choice((9, 19, 29, 49, 79, 129, 199))) + Decimal("0.99")
            yield source, key, "view_item", price, moment + timedelta(seconds=10)
            if rng.random() < 0.35:
                yield source, key, "add_to_cart", price, moment + timedelta(seconds=20)
                if rng.random() < 0.5:
                    yield source, key, "begin_checkout", price, moment + timedelta(seconds=30)
                    if rng.random() < 0.6:
                        yield source, key, "purchase", price * rng.randint(1, 3), moment + timedelta(seconds=40)


def batches_generate(*, count: int, offset: int, seed: int):
    """`count` generated events as the job runner's batches of 5,000 (both sources' parts, each with its COPY
    text), generated and staged in the prefetch thread while the caller stores the current batch."""
    from integrations.pipeline.runner import prefetch
    from integrations.pipeline.schema import EventRecord
    from integrations.pipeline.store import stage_text

    rng = random.Random(seed)
    today = datetime.now(UTC).replace(microsecond=0)
    customers = max((offset + count) // EVENTS_PER_CUSTOMER, 1)

    def batches():
        parts: list[list] = [[], []]
        for n, (source, key, event_type, value, moment) in enumerate(journeys(rng, customers, today), start=offset):
            if n >= offset + count:
                break
            currency = "EUR" if value is not None else ""
            record = EventRecord(
                f"ev-{n}", event_type, min(moment, today), event_type, key, value=value, currency=currency
            )
            parts[source].append(record)
            if (n + 1 - offset) % BATCH == 0:
                yield [(part, stage_text(part)) for part in parts]
                parts = [[], []]
        yield [(part, stage_text(part)) for part in parts]

    return prefetch(batches())


def batch_store(sources, batch) -> float:
    """Store one batch in one transaction, as the job runner does; returns the seconds taken."""
    from django.db import transaction

    from integrations.pipeline.store import events_store

    started = time.perf_counter()
    with transaction.atomic():
        for source, (records, staged) in zip(sources, batch, strict=True):
            events_store(source=source, records=records, staged=staged)
    return time.perf_counter() - started


def events_import(*, sources, count: int, offset: int, seed: int) -> dict:
    """Import `count` generated events the way the job runner stores a job's batches (the next batch generated
    and staged in the prefetch thread, one transaction per batch of 5,000, both sources' parts in it)."""
    started = time.perf_counter()
    for batch in batches_generate(count=count, offset=offset, seed=seed):
        batch_store(sources, batch)
    return {"seconds": round(time.perf_counter() - started, 1)}


def job_end(workspace) -> dict:
    """What a job's end does after its batches for the custom ranges (integrations/jobs.py): vacuum the
    customer-day rollups, then build the day sets the import left missing (integrations/daysets.py)."""
    from integrations.daysets import daysets_build
    from integrations.rollups import customer_days_vacuum

    started = time.perf_counter()
    customer_days_vacuum()
    vacuumed = time.perf_counter()
    days = daysets_build(workspace_id=workspace.id)
    built = time.perf_counter()
    return {
        "jobEndVacuumSeconds": round(vacuumed - started, 1),
        "jobEndDaySetsSeconds": round(built - vacuumed, 1),
        "daySetsBuilt": days,
    }


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(function, runs: int) -> tuple[dict, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    figures = {
        "p50Ms": round(1000 * statistics.median(times), 1),
        "p95Ms": round(1000 * percentile(times, 0.95), 1),
        "maxMs": round(1000 * max(times), 1),
        "runs": runs,
    }
    return figures, result


def answers_same(ours: dict, theirs: dict, what: str) -> None:
    if ours != theirs:
        diff = {key: (ours[key], theirs[key]) for key in ours if ours[key] != theirs[key]}
        raise SystemExit(json.dumps({"error": f"{what} answers differ", "diff": diff}, default=str)[:4000])


def measure(workspace, sources, args) -> dict:
    from integrations.analysis.selectors import analysis_overview
    from integrations.window import window_forget, window_rebuild, window_stale
    from tests.integrations.raw_overview import raw_overview

    today = analysis_overview(workspace=workspace)["range"]["to"]
    to = datetime.fromisoformat(today).date()
    analysis_overview(workspace=workspace)  # warm the process (imports, connection) once, as a live server is
    from_window = not window_stale(workspace_id=workspace.id)
    default, ours = timed(lambda: analysis_overview(workspace=workspace), args.runs)
    raw, theirs = timed(lambda: raw_overview(workspace=workspace), args.raw_runs)
    answers_same(ours, theirs, "rollup and raw-event")
    # The same range while the window is stale: the exact customer-day aggregation custom ranges use.
    window_forget(workspace_id=workspace.id)
    day_rollups, exact = timed(lambda: analysis_overview(workspace=workspace), args.custom_runs)
    answers_same(exact, theirs, "day-rollup and raw-event")
    started = time.perf_counter()
    window_rebuild(workspace_id=workspace.id)
    rebuild_seconds = round(time.perf_counter() - started, 2)
    custom_ranges = {
        "last7Days": {"date_from": to - timedelta(days=6), "date_to": to},
        "last90Days": {"date_from": to - timedelta(days=89), "date_to": to},
        "last365Days": {"date_from": to - timedelta(days=364), "date_to": to},
        "oneSourceLast30Days": {"source_id": sources[0].id},
        "oneDay": {"date_from": to - timedelta(days=3), "date_to": to - timedelta(days=3)},
    }
    custom = {
        name: timed(lambda filters=filters: analysis_overview(workspace=workspace, **filters), args.custom_runs)[0]
        for name, filters in custom_ranges.items()
    }
    return {
        "defaultRangeFromWindow": from_window,
        "defaultRange": default,
        "defaultRangeFromDayRollups": day_rollups,
        "windowRebuildSeconds": rebuild_seconds,
        "rawEventsDefaultRange": raw,
        "rawOverRollupsP50": round(raw["p50Ms"] / default["p50Ms"], 1),
        "dayRollupsOverWindowP50": round(day_rollups["p50Ms"] / default["p50Ms"], 1),
        "customRanges": custom,
        "customRangesWorstP95Ms": max(figures["p95Ms"] for figures in custom.values()),
        "eventsInDefaultRange": ours["rowCounts"]["events"],
        "customersInDefaultRange": ours["rowCounts"]["customers"],
        "answersIdentical": True,
    }


def store_use(store: str, url: str) -> None:
    """Set Django up on the single table as before partitioning, or on the partitioned store (migrating an empty
    database creates the partitions of the last months, which hold the imported days)."""
    if store == "single_table":
        from bench.single_table import single_table_use

        single_table_use(url)
        return
    django_setup(url)


def table_sizes() -> dict:
    from django.db import connection

    tables = [
        "integrations_event",
        "integrations_eventkey",
        "integrations_customer",
        "integrations_eventrollup",
        "integrations_customerdayrollup",
        "integrations_purchaserollup",
        "integrations_customerwindow",
        "integrations_windowsignature",
    ]
    sizes = {}
    with connection.cursor() as cursor:
        for name in tables:  # a partitioned table counts its partitions (pg_partition_tree)
            cursor.execute(
                "SELECT greatest(sum(c.reltuples), 0)::bigint, sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relkind <> 'p' AND (c.oid = to_regclass(%s) "
                "OR c.oid IN (SELECT relid FROM pg_partition_tree(to_regclass(%s))))",
                [name, name],
            )
            rows, size = cursor.fetchone()
            if size is not None:
                sizes[name] = {"rowsEstimate": rows, "mb": round(int(size) / 1e6)}
    return sizes


def vacuum_analyze() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return round(time.perf_counter() - started, 1)


def explain(workspace) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of every rollup query of the overview, under the settings it runs them with."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from integrations.analysis.selectors import analysis_overview

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        analysis_overview(workspace=workspace)
    lines = []
    with transaction.atomic(), connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if sql.startswith(("SET ", "SELECT set_config")):
                cursor.execute(sql)
            elif "rollup" in sql or "windowsignature" in sql:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                lines += [row[0] for row in cursor.fetchall()] + [""]
    return lines


def main() -> None:
    args = parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    database_ensure(args.database_url, fresh=True)
    store_use(args.store, args.database_url)
    from django.db import connection

    workspace, sources = workspace_make()
    report = {
        "benchmark": "analysis_overview",
        "database": connection.vendor + " " + connection.cursor().connection.info.parameter_status("server_version"),
        "store": args.store,
        "results": [],
    }
    if args.ingest_compare:
        report["loadAverageBefore"] = [round(x, 1) for x in os.getloadavg()]
        report["ingest"] = ingest_compare(args)
        report["loadAverageAfter"] = [round(x, 1) for x in os.getloadavg()]
        print(json.dumps(report, indent=2))
        if args.drop:
            database_drop(args.database_url)
        return
    loaded = 0
    for size in sizes:
        imported = events_import(sources=sources, count=size - loaded, offset=loaded, seed=size)
        loaded = size
        entry = {"eventsInTable": size, "importSeconds": imported["seconds"]}
        entry |= job_end(workspace)
        entry["loadAverageBefore"] = [round(x, 1) for x in os.getloadavg()]
        entry["afterImport"] = measure(workspace, sources, args)
        entry["vacuumAnalyzeSeconds"] = vacuum_analyze()
        entry["afterVacuumAnalyze"] = measure(workspace, sources, args)
        entry["loadAverageAfter"] = [round(x, 1) for x in os.getloadavg()]
        entry["tables"] = table_sizes()
        if args.explain:
            entry["explain"] = explain(workspace)
        report["results"].append(entry)
        print(json.dumps({k: v for k, v in entry.items() if k != "explain"}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))
    if args.drop:
        database_drop(args.database_url)


if __name__ == "__main__":
    main()
