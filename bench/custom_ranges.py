"""Benchmark: the overview's custom ranges on an existing `bench/analysis.py` database, with the code of a checkout.

Usage: .venv/bin/python bench/custom_ranges.py CHECKOUT [RUNS] [DATABASE_URL]
       (default database postgres://postgres@127.0.0.1:5432/mai_bench_10m; CHECKOUT is the code timed, e.g. this
       worktree or /work/main, so two versions alternate on the same data in one run)

Times `analysis_overview` of the bench workspace for the last 7, 31, 90 and 365 days, one day and one source's
last 14 days (RUNS runs each, default 3) and prints one JSON line per checkout with each range's times and a hash
of its answer (equal hashes: equal answers). Figures: bench/README.md "Custom ranges at 10M events".
"""

import hashlib
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta


def main() -> None:
    checkout = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    sys.path.insert(0, checkout)
    # Setting up puts the working directory first on the path (Celery's Django fixup): run from the checkout, or a
    # checkout timed from another worktree would import that worktree's code.
    os.chdir(checkout)
    os.environ["DATABASE_URL"] = (
        sys.argv[3] if len(sys.argv) > 3 else "postgres://postgres@127.0.0.1:5432/mai_bench_10m"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "marketing_ai.settings"
    import django

    django.setup()
    from accounts.models import Workspace
    from integrations.analysis.selectors import analysis_overview
    from integrations.models import DataSource

    workspace = Workspace.objects.get(name="Bench analysis")
    sources = list(DataSource.objects.filter(workspace=workspace).order_by("id"))
    to = date.fromisoformat(analysis_overview(workspace=workspace)["range"]["to"])
    ranges = {
        "last7Days": {"date_from": to - timedelta(days=6), "date_to": to},
        "last31Days": {"date_from": to - timedelta(days=30), "date_to": to},
        "last90Days": {"date_from": to - timedelta(days=89), "date_to": to},
        "last365Days": {"date_from": to - timedelta(days=364), "date_to": to},
        "oneDay": {"date_from": to - timedelta(days=3), "date_to": to - timedelta(days=3)},
        "oneSourceLast14Days": {"date_from": to - timedelta(days=13), "date_to": to, "source_id": sources[0].id},
    }
    from integrations.analysis import selectors

    assert selectors.__file__.startswith(os.path.abspath(checkout)), selectors.__file__
    report = {"checkout": checkout, "load": round(os.getloadavg()[0], 2)}
    for name, filters in ranges.items():
        times, answer = [], None
        for _ in range(runs):
            started = time.perf_counter()
            answer = analysis_overview(workspace=workspace, **filters)
            times.append(time.perf_counter() - started)
        report[name] = {
            "ms": [round(1000 * t) for t in times],
            "p50": round(1000 * statistics.median(times)),
            "answer": hashlib.sha1(json.dumps(answer, sort_keys=True, default=str).encode()).hexdigest()[:10],
            "customers": answer["rowCounts"]["customers"],
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
