"""Benchmark: the overhead the chat adds between a model's chunk and the browser's websocket frame.

Usage: .venv/bin/python bench/chat.py [--concurrency 1,200] [--layers memory,redis] [--chunks 20] [--pace-ms 20]
       [--redis-url redis://127.0.0.1:6379/5] [--processes 1] [--database-url postgres://...]

The production recipe: `--processes 2 --layers redis --database-url postgres://...` (two ASGI processes sharing
PostgreSQL and the Redis layer, the clients spread over both as the proxy would).

Three kinds of processes, so that no measurement shares an event loop with what it measures:
- a fake OpenAI-compatible model (uvicorn) that streams `--chunks` chunks every `--pace-ms`, each carrying
  the wall-clock time it was emitted;
- the app under `marketing_ai.serve` (uvicorn; SQLite in a temp dir; the in-memory or the Redis channel
  layer), whose router calls the fake through the real `openai` SDK;
- the clients (one process, asyncio, `websockets`): N conversations chat at once over `ws/chat/<id>/`.

Overhead of a chunk = client receive time - model emit time; time-to-first-chunk overhead is that of the
first chunk. The baseline, measured in the same run, is the same clients reading the fake model's stream
directly (no app). Prints one JSON document. Targets: p50 < 20 ms, p99 < 100 ms at 200 chats,
zero errors.
"""

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QUESTION = "How does my funnel look this week?"
STAMP = re.compile(r"<(\d+\.\d+)>")
TARGET_P50_MS, TARGET_P99_MS = 20.0, 100.0


# --- the fake model ---------------------------------------------------------------------------------


def fake_model_app(chunks: int, pace: float):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body or b"{}")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "bench-model"}

        async def emit(obj):
            data = obj if isinstance(obj, str) else json.dumps(obj)
            await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True})

        def delta(content):
            return base | {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}

        if request.get("response_format"):  # intent analysis in JSON mode
            await emit(delta(json.dumps({"intent": "analytics_question", "confidence": 0.9, "entities": {}})))
        else:
            for index in range(chunks):
                if index:
                    await asyncio.sleep(pace)
                await emit(delta(f"<{time.time():.6f}> "))
        await emit(base | {"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": chunks}})
        await emit("[DONE]")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def run_fake_model(port: int, chunks: int, pace: float) -> None:
    import uvicorn

    uvicorn.run(fake_model_app(chunks, pace), host="127.0.0.1", port=port, log_level="warning", lifespan="off")


# --- setup inside the app's database ----------------------------------------------------------------


def setup_conversations(count: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from accounts.models import User
    from accounts.services import login_session_open, user_register
    from chat.services import conversation_create

    user = User.objects.filter(email="bench@chat.test").first() or user_register(
        email="bench@chat.test", password="Bench-Chat-2026!", first_name="Bench", last_name="User", company_name="Bench"
    )
    _, tokens = login_session_open(user=user, ip="127.0.0.1", user_agent="bench")
    ids = [conversation_create(user=user, title=f"bench {i}")[0].id for i in range(count)]
    return {"token": tokens.access_token, "ids": ids}


# --- clients ----------------------------------------------------------------------------------------


async def one_chat(
    url: str, origin: str, conversation_id: int, token: str, start: asyncio.Event, ramp: asyncio.Semaphore
) -> dict:
    from websockets.asyncio.client import connect

    result = {"overheads": [], "first": None, "ttfc": None, "error": None}
    try:
        # Sockets open a few at a time (a connect storm is not what is measured), then all chats start at once.
        async with ramp:
            ws = await connect(
                f"{url}/ws/chat/{conversation_id}/?token={token}", origin=origin, open_timeout=60, ping_interval=None
            )
        async with ws:
            await start.wait()
            sent = time.time()
            await ws.send(json.dumps({"type": "message", "content": QUESTION}))
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), timeout=180))
                now = time.time()
                if event["type"] == "chunk":
                    for stamp in STAMP.findall(event["content"]):
                        overhead = (now - float(stamp)) * 1000
                        result["overheads"].append(overhead)
                        if result["first"] is None:
                            result["first"], result["ttfc"] = overhead, (now - sent) * 1000
                elif event["type"] == "error":
                    result["error"] = event.get("message", "error event")
                elif event["type"] == "complete":
                    break
    except Exception as exc:  # counted, reported
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


async def one_direct(base_url: str, client, start: asyncio.Event) -> dict:
    result = {"overheads": [], "first": None, "ttfc": None, "error": None}
    await start.wait()
    sent = time.time()
    body = {"model": "bench-model", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    try:
        async with client.stream("POST", f"{base_url}/v1/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                now = time.time()
                for stamp in STAMP.findall(line):
                    overhead = (now - float(stamp)) * 1000
                    result["overheads"].append(overhead)
                    if result["first"] is None:
                        result["first"], result["ttfc"] = overhead, (now - sent) * 1000
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


async def run_clients(args) -> dict:
    start = asyncio.Event()
    if args.direct:
        import httpx

        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=args.n + 10)) as client:
            tasks = [asyncio.create_task(one_direct(args.url, client, start)) for _ in range(args.n)]
            await asyncio.sleep(0.5)
            start.set()
            results = await asyncio.gather(*tasks)
    else:
        ids = [int(i) for i in args.ids.split(",")]
        urls = args.url.split(",")  # one per server process: chats spread over them, as behind the proxy
        ramp = asyncio.Semaphore(10)
        tasks = [
            asyncio.create_task(
                one_chat(url := urls[n % len(urls)], url.replace("ws://", "http://"), cid, args.token, start, ramp)
            )
            for n, cid in enumerate(ids)
        ]
        await asyncio.sleep(0.5)
        async with ramp:  # wait for the connects queued before us
            pass
        for _ in range(10):  # and for the last ones in flight
            await ramp.acquire()
        start.set()
        results = await asyncio.gather(*tasks)
    return summarize(results, expected_chunks=args.chunks) | {
        "clientCpuSeconds": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 2)
    }


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


def summarize(results: list[dict], *, expected_chunks: int) -> dict:
    overheads = [o for r in results for o in r["overheads"]]
    firsts = [r["first"] for r in results if r["first"] is not None]
    ttfc = [r["ttfc"] for r in results if r["ttfc"] is not None]
    errors = [r["error"] for r in results if r["error"]]
    short = sum(1 for r in results if not r["error"] and len(r["overheads"]) != expected_chunks)
    return {
        "chats": len(results),
        "chunksReceived": len(overheads),
        "chunkOverheadMs": {"p50": percentile(overheads, 0.5), "p99": percentile(overheads, 0.99)},
        "firstChunkOverheadMs": {"p50": percentile(firsts, 0.5), "p99": percentile(firsts, 0.99)},
        "timeToFirstChunkMs": {"p50": percentile(ttfc, 0.5), "p99": percentile(ttfc, 0.99)},
        "errors": len(errors) + short,
        "errorSamples": sorted(set(errors))[:3],
        "meanChunkOverheadMs": round(statistics.fmean(overheads), 2) if overheads else None,
    }


# --- orchestration ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_recreated(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def this_script(*extra: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, __file__, *extra], env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=900
    )


def scenario(*, env: dict, model_pid: int, concurrency: int, chunks: int, processes: int = 1) -> dict:
    """Serve the app with `processes` stream processes, warm them up, then run `concurrency` chats at once from a client
    process (the chats spread over the processes)."""
    ports = [free_port() for _ in range(processes)]
    server_log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in the finally below)
    servers = [
        subprocess.Popen(
            [PYTHON, "-m", "marketing_ai.serve", "-b", "127.0.0.1", "-p", str(port), "marketing_ai.asgi:application"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=server_log,  # a file: an undrained pipe would stall the server once its buffer filled
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for_port(port)
        urls = ",".join(f"ws://127.0.0.1:{port}" for port in ports)
        for count, label in ((processes, "warmup"), (concurrency, "run")):
            setup = json.loads(this_script("--setup", str(count), env=env).stdout)
            ids = ",".join(str(i) for i in setup["ids"])
            cpu_before = sum(cpu_seconds(server.pid) for server in servers)
            model_cpu_before = cpu_seconds(model_pid)
            out = this_script(
                "--clients", "--url", urls, "--token", setup["token"], "--ids", ids, "--chunks", str(chunks), env=env
            )
            if label == "run":
                # Where the time goes: the app's CPU per chat (setup, provider calls, rows) and per chunk.
                server_cpu = sum(cpu_seconds(server.pid) for server in servers) - cpu_before
                model_cpu = cpu_seconds(model_pid) - model_cpu_before
                server_log.seek(0)
                tracebacks = server_log.read().count("Traceback (most recent call last)")
                return {
                    **json.loads(out.stdout),
                    "serverProcesses": processes,
                    "serverCpuSeconds": round(server_cpu, 2),
                    # The two cores are shared with the model and the clients: their CPU time, for context.
                    "modelCpuSeconds": round(model_cpu, 2),
                    "serverTracebacks": tracebacks,
                }
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        server_log.close()
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", default="1,200")
    parser.add_argument("--layers", default="memory,redis")
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--pace-ms", type=float, default=20.0)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    parser.add_argument("--processes", type=int, default=1, help="ASGI server processes (the recipe: 2)")
    parser.add_argument("--database-url", default="", help="PostgreSQL (recreated); default SQLite in a temp dir")
    # internal modes (child processes)
    parser.add_argument("--fake-model", type=int)
    parser.add_argument("--setup", type=int)
    parser.add_argument("--clients", action="store_true")
    parser.add_argument("--direct", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--ids")
    parser.add_argument("--n", type=int, default=1)
    args = parser.parse_args()

    if args.fake_model:
        return run_fake_model(args.fake_model, args.chunks, args.pace_ms / 1000)
    if args.setup is not None:
        print(json.dumps(setup_conversations(args.setup)))
        return
    if args.clients:
        # The measuring clients (for the baseline and the app alike) on uvloop, so that they add less of
        # their own delay to what they measure.
        import uvloop

        print(json.dumps(uvloop.run(run_clients(args))))
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    model_port = free_port()
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketing_ai.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'db.sqlite3'}",
        "DATABASE_POOL": "1" if args.database_url else "0",
        "AI_PROVIDERS": "openai",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{model_port}/v1",
        "OPENAI_MODEL": "bench-model",
        "AI_RATE_LIMIT_PER_MINUTE": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
    }
    base_env.pop("REDIS_URL", None)
    model = subprocess.Popen(
        [
            PYTHON,
            __file__,
            "--fake-model",
            str(model_port),
            "--chunks",
            str(args.chunks),
            "--pace-ms",
            str(args.pace_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    report = {
        "benchmark": "chat streaming overhead (model emit -> websocket frame received)",
        "chunksPerAnswer": args.chunks,
        "paceMs": args.pace_ms,
        "targets": {"p50Ms": TARGET_P50_MS, "p99Ms": TARGET_P99_MS, "at": "200 chats", "errors": 0},
        "results": [],
    }
    try:
        wait_for_port(model_port)
        if args.database_url:
            database_recreated(args.database_url)
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env=base_env, cwd=ROOT, check=True)
        levels = [int(c) for c in args.concurrency.split(",")]
        for level in levels:
            direct = this_script(
                "--clients",
                "--direct",
                "--url",
                f"http://127.0.0.1:{model_port}",
                "--n",
                str(level),
                "--chunks",
                str(args.chunks),
                env=base_env,
            )
            report["results"].append(
                {"layer": "none (baseline: model read directly)", "concurrency": level, **json.loads(direct.stdout)}
            )
        for layer in args.layers.split(","):
            env = dict(base_env)
            if layer == "redis":
                env["REDIS_URL"] = args.redis_url
            for level in levels:
                result = scenario(
                    env=env, model_pid=model.pid, concurrency=level, chunks=args.chunks, processes=args.processes
                )
                report["results"].append({"layer": layer, "concurrency": level, **result})
        at_max = [r for r in report["results"] if r["concurrency"] == max(levels) and not r["layer"].startswith("none")]
        report["targetsMet"] = {
            r["layer"]: bool(
                r["chunkOverheadMs"]["p50"] is not None
                and r["chunkOverheadMs"]["p50"] < TARGET_P50_MS
                and r["chunkOverheadMs"]["p99"] < TARGET_P99_MS
                and r["errors"] == 0
            )
            for r in at_max
        }
    finally:
        model.terminate()
        model.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
