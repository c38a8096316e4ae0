"""Benchmark: file analysis with flat memory — a 50 MB CSV against a 5 MB one, a 200-page PDF against a 20-page one.

Usage: .venv/bin/python bench/files.py [--csv-mb 50] [--baseline-csv-mb 5] [--pdf-pages 200] [--baseline-pdf-pages 20]

Each file is analysed in a fresh process (`--child`), the way the analysis job reads it: `file_extract` streaming
from the stored file (CSV row by row into the scratch SQLite table and profiled there in SQL; PDF page by page
with pypdf), then the offline analysis of the profile and passages. The process reports its resident memory
before reading and its peak (ru_maxrss), so the growth with a 10x larger file shows whether memory stays flat.
Rows/s and pages/s are wall-clock figures on the shared machine. Prints one JSON document; figures in
bench/README.md.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGIONS = ["North", "South", "East", "West", "Central"]
CHANNELS = ["email", "search", "social", "display", "referral", "direct"]
PRODUCTS = [f"SKU-{n:04d}" for n in range(400)]


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def csv_write(path: Path, megabytes: float, seed: int = 7) -> int:
    """A realistic order export of about `megabytes` MB; returns its row count."""
    rng = random.Random(seed)
    target = int(megabytes * 1024 * 1024)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("order_id,date,region,channel,product,units,unit_price,revenue,email,coupon\n")
        written = 0
        while written < target:
            units = rng.randint(1, 5)
            price = rng.choice([9.99, 19.5, 24.0, 49.95, 99.0, 129.99])
            line = (
                f"{100000 + rows},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.choice(REGIONS)},"
                f"{rng.choice(CHANNELS)},{rng.choice(PRODUCTS)},{units},{price},{units * price:.2f},"
                f"{'' if rng.random() < 0.1 else f'c{rng.randint(1, 60000)}@shop.test'},"
                f"{rng.choice(['', '', '', 'SPRING10', 'VIP'])}\n"
            )
            out.write(line)
            written += len(line)
            rows += 1
    return rows


def pdf_write(path: Path, pages: int) -> None:
    from tests.ai.files_helpers import pdf_bytes

    body = [
        "\n".join(
            f"Page {page} line {line}: revenue grew {page % 17 + line}% in region {REGIONS[line % 5]}, "
            f"orders {1000 + page * 7 + line}; we should test the {CHANNELS[line % 6]} offer next month."
            for line in range(40)
        )
        for page in range(1, pages + 1)
    ]
    path.write_bytes(pdf_bytes(body))


def child(kind: str, path: str) -> dict:
    """Analyse one file in this process and report time and memory."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
    import django

    django.setup()
    from ai.files.analysis import analysis_context
    from ai.files.extraction import file_extract
    from ai.providers.local_files import file_analysis_compose

    size = os.path.getsize(path)
    before = _rss_mb()
    started = time.perf_counter()
    with open(path, "rb") as stream:
        extracted = file_extract(stream=stream, kind=kind, name=Path(path).name, size=size, on_progress=lambda f: None)
    read_seconds = time.perf_counter() - started
    analysis = file_analysis_compose(
        analysis_context(name=Path(path).name, kind=kind, profile=extracted.profile, passages=extracted.passages)
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "kind": kind,
        "megabytes": round(size / 1024 / 1024, 1),
        "seconds": round(seconds, 2),
        "readSeconds": round(read_seconds, 2),
        "rssBeforeMb": round(before, 1),
        "peakRssMb": round(peak, 1),
        "grewMb": round(peak - before, 1),
        "passages": len(extracted.passages),
        "facts": len(analysis["facts"]),
    }
    if kind == "csv":
        rows = extracted.profile["rowCount"]
        result |= {"rows": rows, "rowsPerSecond": round(rows / read_seconds)}
    else:
        pages = extracted.profile["pageCount"]
        result |= {"pages": pages, "pagesPerSecond": round(pages / read_seconds, 1)}
    return result


def run_child(kind: str, path: Path) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _compared(baseline: dict, large: dict, *, size: str, speed: str) -> dict:
    """The large file's run against the baseline's: how much bigger, and the ratios of peak memory and speed."""
    return {
        "baseline": baseline,
        "large": large,
        "sizeRatio": round(large[size] / baseline[size], 1),
        "peakRssRatio": round(large["peakRssMb"] / baseline["peakRssMb"], 2),
        "speedRatio": round(large[speed] / baseline[speed], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-mb", type=float, default=50)
    parser.add_argument("--baseline-csv-mb", type=float, default=5)
    parser.add_argument("--pdf-pages", type=int, default=200)
    parser.add_argument("--baseline-pdf-pages", type=int, default=20)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-files-") as folder:
        folder = Path(folder)
        csv_write(folder / "small.csv", args.baseline_csv_mb)
        csv_write(folder / "large.csv", args.csv_mb)
        pdf_write(folder / "small.pdf", args.baseline_pdf_pages)
        pdf_write(folder / "large.pdf", args.pdf_pages)
        runs = {name: run_child(name.split(".")[1], folder / name) for name in ("small.csv", "large.csv")}
        runs |= {name: run_child("pdf", folder / name) for name in ("small.pdf", "large.pdf")}
    csv_small, csv_large, pdf_small, pdf_large = (runs[n] for n in ("small.csv", "large.csv", "small.pdf", "large.pdf"))
    report = {
        "loadavg": os.getloadavg(),
        "csv": _compared(csv_small, csv_large, size="megabytes", speed="rowsPerSecond"),
        "pdf": _compared(pdf_small, pdf_large, size="pages", speed="pagesPerSecond"),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
