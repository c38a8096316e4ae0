"""Capacity run: the production recipe on this machine under a mixed load that grows until something saturates.

Usage: .venv/bin/python bench/capacity.py [--steps 1,2,4] [--seconds 20] [--events 100000]
       [--database-url postgres://postgres@127.0.0.1:5432/mai_bench_capacity] [--redis-url redis://127.0.0.1:6379/3]

What runs (docs/scaling.md reads its figures):
- web: gunicorn (gunicorn.conf.py, `--web-processes` workers) for pages, the API, collect and the dashboard's
  data; one ASGI process (`marketing_ai.serve`: uvicorn on uvloop) for the chat websockets; 2 Celery worker
  processes; PostgreSQL and Redis (the machine's); a fake OpenAI-compatible model pacing 20 chunks 20 ms apart
  (bench/chat.py's).
- load (one process on uvloop), per step multiplier m, closed loops with think time: 4m collect clients
  (100-event GA4 batches), 4m API clients (`/api/user/profile`, `/api/events`), 2m dashboard clients
  (`/api/analytics/overview`), 4m chat clients (a question, the whole answer, then the next), and one
  dummy-data job of `--job-events` events per step through the Celery workers (the pipeline).
Per step: requests/s, events/s and p50/p99 per class, errors, the pipeline job's events/s, and the CPU
seconds each process group used (gunicorn, stream, celery, postgres, redis, load generator, model): the group
near its cores' worth first is what saturates. Prints one JSON document.
"""

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def _bench_module(name: str):
    """A sibling benchmark as a module (loaded under another name: `chat` is also the Django app)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_chat, _ingest = _bench_module("chat"), _bench_module("ingest")
STAMP, cpu_seconds, free_port, percentile, wait_for_port = (
    _chat.STAMP,
    _chat.cpu_seconds,
    _chat.free_port,
    _chat.percentile,
    _chat.wait_for_port,
)
HttpConnection, collect_body, database_reset = _ingest.HttpConnection, _ingest.collect_body, _ingest.database_reset

PYTHON = sys.executable
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mai_bench_capacity"
PASSWORD = "Bench-Capacity-2026!"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=100_000, help="events stored before the run")
    parser.add_argument("--job-events", type=int, default=50_000, help="pipeline job size per step")
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"))
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as the load generator (JSON config)
    return parser.parse_args()


# --- setup ------------------------------------------------------------------------------------------


def prepare(env: dict, events: int) -> dict:
    """Migrate, create the owner, a collect source, stored events and chat conversations; returns the handles."""
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = f"""
import json, django
django.setup()
from django.core.management import call_command
from accounts.services import login_session_open, user_register
from chat.services import conversation_create
from integrations.models import DataSource
user = user_register(email="capacity@bench.test", password={PASSWORD!r}, first_name="Cap", last_name="Acity",
                     company_name="Capacity")
workspace = user.current_workspace
source = DataSource.objects.create(workspace=workspace, source_type="gtm", name="site", config={{}})
call_command("generate_dummy_data", workspace=str(workspace.id), source_type="gtm", count={events}, seed=1,
             verbosity=0)
_, tokens = login_session_open(user=user, ip="127.0.0.1", user_agent="capacity")
ids = [conversation_create(user=user, title=f"capacity {{i}}")[0].id for i in range(400)]
print(json.dumps({{"token": tokens.access_token, "writeKey": source.write_key, "conversations": ids}}))
"""
    out = subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class Processes:
    """The recipe's processes, each in its own session so that it and its children stop together."""

    def __init__(self, env: dict, web_processes: int):
        self.env, self.web_processes = env, web_processes
        self.web_port, self.stream_port, self.model_port = free_port(), free_port(), free_port()
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        self.env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{self.model_port}/v1"
        commands = {
            "model": [PYTHON, str(BENCH / "chat.py"), "--fake-model", str(self.model_port)],
            "gunicorn": [PYTHON, "-m", "gunicorn", "marketing_ai.wsgi:application", "--bind",
                         f"127.0.0.1:{self.web_port}", "--workers", str(self.web_processes)],
            "stream": [PYTHON, "-m", "marketing_ai.serve", "-b", "127.0.0.1", "-p", str(self.stream_port),
                       "marketing_ai.asgi:application"],
            "celery": [PYTHON, "-m", "celery", "-A", "marketing_ai", "worker", "-l", "warning", "-c", "2"],
        }  # fmt: skip
        for name, command in commands.items():
            self.procs[name] = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        for port in (self.model_port, self.web_port, self.stream_port):
            wait_for_port(port)
        time.sleep(2)  # celery's pool forks

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _pids_in_session(session_leader: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session_leader:  # field 6 of /proc/<pid>/stat: the session id
                pids.append(int(entry.name))
    return pids


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith(name):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_by_group(procs: Processes, load_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far by each group (children included; PostgreSQL and Redis: every such process)."""

    def total(pids):
        seconds = 0.0
        for pid in pids:
            with contextlib.suppress(OSError):  # a process that ended meanwhile
                seconds += cpu_seconds(pid)
        return seconds

    groups = {name: total(_pids_in_session(proc.pid)) for name, proc in procs.procs.items()}
    groups["postgres"] = total(_pids_named("postgres"))
    groups["redis"] = total(_pids_named("redis-server"))
    if load_pid:
        groups["load"] = total([load_pid])
    return groups


# --- the load generator ----------------------------------------------------------------------------


class Class:
    def __init__(self):
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.errors = 0

    def record(self, started: float, status: int | str) -> None:
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1

    def figures(self, seconds: float, *, per: int = 1) -> dict:
        ok = sum(n for status, n in self.statuses.items() if status.startswith("2"))
        return {
            "requestsPerSecond": round(len(self.latencies) / seconds, 1),
            "okPerSecond": round(ok * per / seconds, 1),
            "p50Ms": percentile(self.latencies, 0.5),
            "p99Ms": percentile(self.latencies, 0.99),
            "statuses": self.statuses,
            "errors": self.errors,
        }


async def http_get(connection: HttpConnection, path: str, token: str) -> int:
    """GET over the keep-alive connection (the POST helper with a GET head)."""
    if connection.writer is None:
        connection.reader, connection.writer = await asyncio.open_connection(connection.host, connection.port)
    head = f"GET {path} HTTP/1.1\r\nHost: {connection.host}\r\nAuthorization: Bearer {token}\r\n\r\n"
    connection.writer.write(head.encode())
    status_line, *lines = (await connection.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    await connection.reader.readexactly(int(headers.get("content-length", 0)))
    if headers.get("connection") == "close":
        connection.close()
    return int(status_line.split()[1])


async def load_main(config: dict) -> dict:
    from websockets.asyncio.client import connect

    m, seconds, token = config["step"], config["seconds"], config["token"]
    web = ("127.0.0.1", config["webPort"])
    deadline = time.perf_counter() + seconds
    classes = {name: Class() for name in ("collect", "api", "dashboard", "chat")}
    chunk_overheads: list[float] = []
    counter = 0

    async def looped(name: str, think: float, call):
        connection = HttpConnection(*web)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                classes[name].record(started, await asyncio.wait_for(call(connection), timeout=30))
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                classes[name].errors += 1
                connection.close()
            await asyncio.sleep(think)
        connection.close()

    async def collect(connection):
        nonlocal counter
        counter += 1
        body = collect_body(tag=f"s{m}", worker=0, counter=counter, batch=100)
        status, _ = await connection.post(f"/api/collect/{config['writeKey']}", body)
        return status

    async def api(connection):
        path = "/api/user/profile" if counter % 2 else "/api/events?page=1"
        return await http_get(connection, path, token)

    async def dashboard(connection):
        return await http_get(connection, "/api/analytics/overview", token)

    async def chat(conversation_id: int):
        url = f"ws://127.0.0.1:{config['streamPort']}/ws/chat/{conversation_id}/?token={token}"
        origin = f"http://127.0.0.1:{config['streamPort']}"
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                async with connect(url, origin=origin, open_timeout=30, ping_interval=None) as ws:
                    await ws.send(json.dumps({"type": "message", "content": "How is my funnel this week?"}))
                    while True:
                        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                        if event["type"] == "chunk":
                            now = time.time()
                            chunk_overheads.extend((now - float(s)) * 1000 for s in STAMP.findall(event["content"]))
                        elif event["type"] == "complete":
                            break
                classes["chat"].record(started, 200)
            except Exception:  # noqa: BLE001 (counted)
                classes["chat"].errors += 1
            await asyncio.sleep(1.0)

    tasks = [looped("collect", 0.2, collect) for _ in range(4 * m)]
    tasks += [looped("api", 0.1, api) for _ in range(4 * m)]
    tasks += [looped("dashboard", 0.5, dashboard) for _ in range(2 * m)]
    tasks += [chat(cid) for cid in config["conversations"][: 4 * m]]
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    result = {name: figures.figures(elapsed) for name, figures in classes.items()}
    result["collect"]["eventsPerSecond"] = round(classes["collect"].statuses.get("202", 0) * 100 / elapsed)
    result["chat"]["chunkOverheadMs"] = {
        "p50": percentile(chunk_overheads, 0.5),
        "p99": percentile(chunk_overheads, 0.99),
    }
    result["seconds"] = round(elapsed, 1)
    return result


# --- one step --------------------------------------------------------------------------------------


def pipeline_job(env: dict, events: int) -> subprocess.Popen:
    """A dummy-data job through the API's service, run by the Celery workers; the child prints its figures."""
    script = f"""
import json, time, django
django.setup()
from accounts.models import User
from integrations.models import SyncJob
from integrations.services import dummy_data_start
user = User.objects.get(email="capacity@bench.test")
job = dummy_data_start(workspace=user.current_workspace, source_type="facebook_pixel", user=user, count={events})
started = time.monotonic()
while True:
    job.refresh_from_db()
    if job.status in ("succeeded", "failed"):
        break
    time.sleep(0.5)
elapsed = time.monotonic() - started
print(json.dumps({{"status": job.status, "events": job.events_count, "seconds": round(elapsed, 1),
                  "eventsPerSecond": round(job.events_count / elapsed)}}))
"""
    return subprocess.Popen([PYTHON, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def step(procs: Processes, env: dict, handles: dict, m: int, args) -> dict:
    config = {"step": m, "seconds": args.seconds, "webPort": procs.web_port, "streamPort": procs.stream_port, **handles}
    load = subprocess.Popen(
        [PYTHON, __file__, "--load", json.dumps(config)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    before, started = cpu_by_group(procs, load.pid), time.monotonic()
    job = pipeline_job(env, args.job_events)
    time.sleep(max(0.0, args.seconds - 1))
    during = cpu_by_group(procs, load.pid)  # the load generator's own share, read before it exits
    figures = json.loads(load.communicate()[0])
    after = cpu_by_group(procs, None)
    wall = time.monotonic() - started
    cpu = {name: round(after.get(name, during.get(name, 0)) - before.get(name, 0), 2) for name in before}
    figures["pipelineJob"] = json.loads(job.communicate(timeout=900)[0])
    figures["cpuSeconds"] = cpu
    figures["coresBusy"] = {name: round(value / wall, 2) for name, value in cpu.items()}
    figures["loadAverage"] = round(os.getloadavg()[0], 2)
    return {"step": m, **figures}


def main() -> None:
    args = parse_args()
    if args.load:
        import uvloop

        print(json.dumps(uvloop.run(load_main(json.loads(args.load)))))
        return
    database_reset(args.database_url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketing_ai.settings",
        "DATABASE_URL": args.database_url,
        "DATABASE_POOL": "1",
        "REDIS_URL": args.redis_url,
        "AI_PROVIDERS": "openai",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_MODEL": "bench-model",
        "AI_RATE_LIMIT_PER_MINUTE": "0",
        "COLLECT_RATE_LIMIT_REQUESTS": "1000000",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    handles = prepare(env, args.events)
    procs = Processes(env, args.web_processes)
    report = {
        "benchmark": "capacity: mixed load on the production recipe",
        "cores": os.cpu_count(),
        "recipe": {"gunicornProcesses": args.web_processes, "asgiProcesses": 1, "celeryWorkerProcesses": 2},
        "storedEvents": args.events,
        "loadAverageAtStart": round(os.getloadavg()[0], 2),
        "steps": [],
    }
    try:
        procs.start()
        for m in (int(s) for s in args.steps.split(",")):
            report["steps"].append(step(procs, env, handles, m, args))
    finally:
        procs.stop()
    report["loadAverageAtEnd"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
