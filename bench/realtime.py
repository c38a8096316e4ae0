"""Benchmark: live updates (marketing_ai/live.py) from a committed batch to 100 open dashboards.

Usage: .venv/bin/python bench/realtime.py [--sockets 100] [--rate 2000] [--seconds 10] [--batch 100]
       [--database-url postgres://postgres@127.0.0.1:5432/mai_live_bench] [--redis-url redis://127.0.0.1:6379/7]

Two processes on PostgreSQL and the Redis channel layer, as in production:
- the app under uvicorn, serving `ws/live/` to `--sockets` websocket clients of one workspace (this process,
  asyncio, `websockets`), each signed in with a real session;
- this process, ingesting GTM events through the pipeline (`batch_ingest`, what the collect endpoint runs)
  in batches of `--batch` at `--rate` events per second for `--seconds`.

Figures: latency = client receive time - commit time of the oldest batch a message announces (p50/p99 over
every message on every socket); messages per second per workspace (what one socket receives); and the
ingest rate with publishing on and off (`LIVE_UPDATES`), unpaced, alternating rounds in the same run.
Aims: p99 < 1 s, <= 5 messages/s per workspace, ingest with publishing within 5% of off.
Prints one JSON document; figures in bench/README.md.
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--rate", type=int, default=2000, help="events per second during the latency phase")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--ingest-rounds", type=int, default=5, help="on/off rounds of the unpaced ingest phase")
    parser.add_argument("--ingest-seconds", type=float, default=3.0)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/mai_live_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(env: dict, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


def start_server(env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "marketing_ai.asgi:application", "--host", "127.0.0.1", "--port",
         str(port), "--lifespan", "off", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the app server did not start")


def raw_batches(count: int, batch: int):
    from integrations import dummy

    items = list(dummy.raw_stream(source_type="gtm", count=count, seed="bench-realtime"))
    for index, item in enumerate(items):  # unique ids: every event is new, none is dropped as a duplicate
        item["eventId"] = f"bench-{index}"
    return [items[i : i + batch] for i in range(0, len(items), batch)]


def ingest(source, batches, *, pace: float | None, seconds: float) -> int:
    """Store batches (paced at one per `pace` seconds, or as fast as possible) for `seconds`; events stored."""
    from django.db import connection

    from integrations.adapters import gtm
    from integrations.pipeline.runner import batch_ingest

    stored, start, index = 0, time.monotonic(), 0
    while time.monotonic() - start < seconds and index < len(batches):
        if pace:
            wait = start + index * pace - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        _result, inserted = batch_ingest(source=source, items=batches[index], mapper=gtm.map_item)
        stored += inserted
        index += 1
    connection.close()
    return stored


async def listen(url: str, headers: dict, sockets: int, ready: asyncio.Event, stop: asyncio.Event) -> list[list]:
    import websockets

    received: list[list] = [[] for _ in range(sockets)]

    async def one(index: int, connected: list):
        async with websockets.connect(url, additional_headers=headers, max_queue=None) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            connected.append(index)
            if len(connected) == sockets:
                ready.set()
            while not stop.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                received[index].append((time.time(), json.loads(frame)))

    connected: list = []
    await asyncio.gather(*(one(i, connected) for i in range(sockets)))
    return received


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    args = parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SETTINGS_MODULE": "marketing_ai.settings",
    }
    os.environ.update({key: env[key] for key in ("DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
    prepare_database(env, args.database_url)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from accounts.services import user_register
    from integrations.models import DataSource

    user = user_register(
        email="bench@live.test", password="Bench-Password-42", first_name="B", last_name="Ench", company_name="Bench"
    )
    source = DataSource.objects.create(workspace=user.current_workspace, name="Bench tag", source_type="gtm")
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value

    latency_events = int(args.rate * args.seconds)
    ingest_events = 400_000
    batches = raw_batches(latency_events + ingest_events, args.batch)
    paced, unpaced = batches[: len(batches) * latency_events // (latency_events + ingest_events)], None
    unpaced = batches[len(paced) :]

    port = free_port()
    server = start_server(env, port)
    try:
        result = {"sockets": args.sockets, "rate": args.rate, "seconds": args.seconds, "batch": args.batch}
        result.update(latency_phase(args, port, cookie, source, paced))
        result.update(ingest_phase(args, source, unpaced, settings))
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:  # open channel-layer receives can hold a graceful shutdown
            server.kill()
            server.wait(timeout=5)
    result["aims"] = {
        "p99Under1s": result["latencyMs"]["p99"] < 1000,
        "atMost5MessagesPerSecond": result["messagesPerSecondPerWorkspace"] <= 5,
        "ingestWithin5Percent": result["ingest"]["ratioOnToOff"] >= 0.95,
    }
    print(json.dumps(result, indent=2))


def latency_phase(args, port: int, cookie: str, source, batches) -> dict:
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"}
    url = f"ws://127.0.0.1:{port}/ws/live/"
    outcome: dict = {}

    async def run():
        ready, stop = asyncio.Event(), asyncio.Event()
        listener = asyncio.create_task(listen(url, headers, args.sockets, ready, stop))
        await asyncio.wait_for(ready.wait(), timeout=60)
        pace = args.batch / args.rate
        started = time.monotonic()
        stored = await asyncio.to_thread(ingest, source, batches, pace=pace, seconds=args.seconds)
        outcome["ingested"] = stored
        outcome["duration"] = time.monotonic() - started
        await asyncio.sleep(2.0)  # the last coalesced message
        stop.set()
        outcome["received"] = await listener

    asyncio.run(run())
    received = outcome["received"]
    latencies, counts, announced = [], [], []
    for frames in received:
        stored = [(at, frame) for at, frame in frames if frame["type"] == "events.stored"]
        counts.append(len(stored))
        announced.append(sum(frame["data"]["count"] for _at, frame in stored))
        latencies.extend(1000 * (at - frame["data"]["committedAt"]) for at, frame in stored)
    return {
        "eventsIngested": outcome["ingested"],
        "eventsPerSecond": round(outcome["ingested"] / outcome["duration"]),
        "eventsAnnouncedPerSocket": {"min": min(announced), "max": max(announced)},
        "messagesPerSecondPerWorkspace": round(statistics.mean(counts) / outcome["duration"], 2),
        "latencyMs": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=0), 1),
            "messages": len(latencies),
        },
    }


def ingest_phase(args, source, batches, settings) -> dict:
    """Unpaced ingest, publishing on and off in alternating rounds (same process, same data sizes)."""
    rates: dict[str, list[float]] = {"on": [], "off": []}
    chunk = len(batches) // (2 * args.ingest_rounds + 1)
    ingest(source, batches[:chunk], pace=None, seconds=args.ingest_seconds)  # warm-up (connections, caches)
    batches = batches[chunk:]
    for round_index in range(args.ingest_rounds):
        for mode in ("off", "on") if round_index % 2 else ("on", "off"):
            settings.LIVE_UPDATES = mode == "on"
            part = batches[:chunk]
            batches = batches[chunk:]
            started = time.monotonic()
            stored = ingest(source, part, pace=None, seconds=args.ingest_seconds)
            rates[mode].append(stored / (time.monotonic() - started))
    settings.LIVE_UPDATES = True
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    pairs = [round(a / b, 3) for a, b in zip(rates["on"], rates["off"], strict=True)]
    return {
        "ingest": {
            "eventsPerSecondOn": round(on),
            "eventsPerSecondOff": round(off),
            "ratioOnToOff": statistics.median(pairs),  # median of the rounds' on/off ratios (adjacent runs)
            "roundRatios": pairs,
            "rounds": {mode: [round(r) for r in values] for mode, values in rates.items()},
        }
    }


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
