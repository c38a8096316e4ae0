"""Benchmark: the nightly usage aggregation (one GROUP BY upsert in PostgreSQL) vs a Python loop over the same rows.

Usage: .venv/bin/python bench/usage.py [--rows 1000000] [--runs 3] [--python-runs 1]
       [--database-url postgres://postgres@127.0.0.1:5432/mai_bench_usage]

Uses its own PostgreSQL database (created and migrated when missing; default `mai_bench_usage`, or
BENCH_DATABASE_URL / DATABASE_URL when they name a `mai_bench*` database, since the tables are emptied).
ProviderCall rows are loaded with COPY and ANALYZEd. Both methods write the same UsageDailySummary rows;
the script checks that they agree to the cent and prints one JSON document.
"""

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mai_bench_usage"
DAY_FROM = date(2026, 10, 1)
DAYS = 30
WORKSPACES = 20
PROVIDERS = [
    ("openai", "gpt-4o-mini", "chat"),
    ("groq", "llama-3.1-8b", "chat"),
    ("gemini", "gemini-1.5-flash", "intent"),
    ("claude", "claude-3-haiku", "content"),
    ("local", "local-analyst-1", "chat"),
    ("freepik", "", "image"),
    ("local-image", "pillow", "image"),
    ("meta-insights", "", "platform"),
]
STATUSES = ["ok"] * 90 + ["error"] * 4 + ["timeout"] * 3 + ["rate_limited"] * 3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="SQL runs (median reported)")
    parser.add_argument("--python-runs", type=int, default=1, help="Python-loop runs (median reported)")
    env_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    parser.add_argument("--database-url", default=env_url if "/mai_bench" in env_url else DEFAULT_URL)
    return parser.parse_args()


def database_ensure(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    if not name.startswith("mai_bench"):
        raise SystemExit(f"Refusing to empty tables in {name!r}: use a mai_bench* database.")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load(rows: int, seed: int = 7) -> tuple[list[int], float]:
    """Empty the tables, create the workspaces and COPY `rows` ProviderCall rows; returns (workspace ids, seconds)."""
    from django.db import connection

    from accounts.models import Workspace

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE ai_usagedailysummary, ai_providercall")
    Workspace.objects.filter(name__startswith="Bench usage ").delete()
    workspaces = Workspace.objects.bulk_create([Workspace(name=f"Bench usage {i}") for i in range(WORKSPACES)])
    ids = [w.pk for w in workspaces]
    rng = random.Random(seed)
    start = datetime.combine(DAY_FROM, datetime.min.time(), tzinfo=UTC)
    span = DAYS * 86400
    raw = connection.connection  # the psycopg connection under Django's
    copy_sql = (
        "COPY ai_providercall (workspace_id, provider, model, purpose, status, tokens_in, tokens_out, cost, "
        "latency_ms, error, created_at) FROM STDIN"
    )
    with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
        buffer = io.StringIO()
        for index in range(rows):
            provider, model, purpose = PROVIDERS[rng.randrange(len(PROVIDERS))]
            status = STATUSES[rng.randrange(100)]
            tokens_in = rng.randrange(0, 2000) if purpose in ("chat", "intent", "content") else 0
            tokens_out = rng.randrange(0, 800) if tokens_in else 0
            cost = (tokens_in * 15 + tokens_out * 60) / 100_000_000 if status == "ok" else 0
            when = start + timedelta(seconds=rng.randrange(span))
            buffer.write(
                f"{ids[rng.randrange(WORKSPACES)]}\t{provider}\t{model}\t{purpose}\t{status}\t{tokens_in}\t"
                f"{tokens_out}\t{cost:.6f}\t{rng.randrange(20, 4000)}\t\t{when.isoformat()}\n"
            )
            if index % 50_000 == 49_999:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    raw.commit() if not raw.autocommit else None
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ai_providercall")
    return ids, time.perf_counter() - started


def sql_aggregate() -> tuple[float, int]:
    from ai.usage import usage_aggregate

    started = time.perf_counter()
    written = usage_aggregate(start=DAY_FROM, end=DAY_FROM + timedelta(days=DAYS - 1))
    return time.perf_counter() - started, written


def python_aggregate() -> tuple[float, int]:
    """The baseline: read every row into Python, group in a dict, upsert the summaries with bulk_create."""
    from django.db import connection, transaction
    from django.utils import timezone

    from ai.models import UsageDailySummary

    started = time.perf_counter()
    low = datetime.combine(DAY_FROM, datetime.min.time(), tzinfo=UTC)
    high = low + timedelta(days=DAYS)
    groups: dict[tuple, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT workspace_id, provider, created_at, status, tokens_in, tokens_out, cost, latency_ms "
            "FROM ai_providercall WHERE workspace_id IS NOT NULL AND created_at >= %s AND created_at < %s",
            [low, high],
        )
        while batch := cursor.fetchmany(50_000):
            for workspace_id, provider, created_at, status, tokens_in, tokens_out, cost, latency in batch:
                key = (workspace_id, provider, created_at.astimezone(UTC).date())
                group = groups.get(key)
                if group is None:
                    group = groups[key] = [0, 0, 0, 0, Decimal("0"), 0]
                group[0] += 1
                group[1] += status == "ok"
                group[2] += tokens_in
                group[3] += tokens_out
                group[4] += cost
                group[5] += latency
    now = timezone.now()
    summaries = [
        UsageDailySummary(
            workspace_id=ws,
            provider=provider,
            day=day,
            requests=g[0],
            successes=g[1],
            tokens_in=g[2],
            tokens_out=g[3],
            cost=g[4],
            avg_latency_ms=g[5] / g[0],
            updated_at=now,
        )
        for (ws, provider, day), g in groups.items()
    ]
    with transaction.atomic():
        UsageDailySummary.objects.bulk_create(
            summaries,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["workspace", "provider", "day"],
            update_fields=["requests", "successes", "tokens_in", "tokens_out", "cost", "avg_latency_ms", "updated_at"],
        )
    return time.perf_counter() - started, len(summaries)


def snapshot() -> dict:
    from ai.models import UsageDailySummary

    return {
        (row.workspace_id, row.provider, row.day): (
            row.requests,
            row.successes,
            row.tokens_in,
            row.tokens_out,
            row.cost,
            round(row.avg_latency_ms, 6),
        )
        for row in UsageDailySummary.objects.all()
    }


def totals(snap: dict) -> dict:
    values = list(snap.values())
    return {
        "groups": len(values),
        "requests": sum(v[0] for v in values),
        "successes": sum(v[1] for v in values),
        "tokensIn": sum(v[2] for v in values),
        "tokensOut": sum(v[3] for v in values),
        "cost": str(sum((v[4] for v in values), Decimal("0"))),
    }


def main() -> None:
    args = parse_args()
    database_ensure(args.database_url)
    django_setup(args.database_url)
    from django.db import connection

    _, load_seconds = load(args.rows)
    sql_times, writes = [], []
    for _ in range(args.runs):
        seconds, written = sql_aggregate()
        sql_times.append(seconds)
        writes.append(written)
    sql_snapshot = snapshot()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE ai_usagedailysummary")
    python_times = []
    for _ in range(args.python_runs):
        seconds, _ = python_aggregate()
        python_times.append(seconds)
    python_snapshot = snapshot()
    sql_median, python_median = statistics.median(sql_times), statistics.median(python_times)
    print(
        json.dumps(
            {
                "benchmark": "usage daily aggregation (ProviderCall -> UsageDailySummary)",
                "database": f"postgresql {connection.pg_version // 10000}",
                "rows": args.rows,
                "days": DAYS,
                "workspaces": WORKSPACES,
                "providers": len(PROVIDERS),
                "load_seconds_copy": round(load_seconds, 2),
                "sql_upsert_seconds_median": round(sql_median, 3),
                "sql_runs": [round(t, 3) for t in sql_times],
                "python_loop_seconds_median": round(python_median, 3),
                "python_runs": [round(t, 3) for t in python_times],
                "speedup": round(python_median / sql_median, 1),
                "rows_per_second_sql": int(args.rows / sql_median),
                "summary_rows_written_per_run": writes,
                "same_result": sql_snapshot == python_snapshot,
                "totals_sql": totals(sql_snapshot),
                "totals_python": totals(python_snapshot),
                # The first run writes every summary; reruns over the same calls find nothing to rewrite.
                "rerun_idempotent": writes[0] == len(sql_snapshot) and not any(writes[1:]),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
