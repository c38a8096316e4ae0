"""Benchmark: what survives a kill -9 of the web server and of the worker, and Redis going away.

Usage: .venv/bin/python bench/faults.py [--collect-seconds 12] [--concurrency 8] [--job-events 100000]
       [--redis-down-seconds 8] [--database-url postgres://postgres@127.0.0.1:5432/mai_faults_bench]

Everything runs on this machine: its own PostgreSQL database (created and migrated), its own redis-server on a
free port (so it can be stopped without touching anyone else's), a uvicorn web server, Celery workers and beat.

1. Web server killed: clients post batches of 50 GA4 events (unique event ids) to the collect endpoint for
   `--collect-seconds`; halfway the server gets SIGKILL and is started again. Every event of an acknowledged
   (202) batch must be stored; then every batch is sent again and each event must be stored exactly once.
2. Worker killed: a dummy-data job of `--job-events` runs to completion (the baseline), then another whose worker
   gets SIGKILL at about a third; beat's recovery task must finish it on a new worker with exact counts.
3. Redis down: the redis-server gets SIGKILL; collect batches and logins (right and wrong passwords) go on for
   `--redis-down-seconds` and must all be answered without a 5xx; a job start must answer 503 at once. Redis
   comes back and everything must work again.
4. Contract: Schemathesis (tests/contract.py, the suite's settings) against this server, signed in as a third
   workspace's owner, with `--schemathesis-examples` cases per operation: requests, server errors, violations.
Prints one JSON document; figures and how to read them: bench/README.md.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import database_reset  # noqa: E402 (bench/ is a package once ROOT is on the path)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mai_faults_bench"
PASSWORD = "Bench-Faults-Passw0rd!"
BATCH = 50


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collect-seconds", type=float, default=12.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--job-events", type=int, default=100_000)
    parser.add_argument("--redis-down-seconds", type=float, default=8.0)
    parser.add_argument("--schemathesis-examples", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, seconds: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {seconds} s")


class Processes:
    """The bench's own processes, each in its own process group so SIGKILL takes its children too."""

    def __init__(self, env: dict):
        self.env, self.running = env, []

    def start(self, *command: str) -> subprocess.Popen:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.running:
            self.kill(process)


def redis_start(processes: Processes, port: int) -> subprocess.Popen:
    redis = processes.start(
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"
    )
    wait_port(port)
    return redis


def web_start(processes: Processes, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "marketing_ai.asgi:application", "--port", str(port)]
    return processes.start(*command, "--lifespan", "off", "--log-level", "critical", "--no-access-log")


def worker_start(processes: Processes) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "marketing_ai", "worker", "--concurrency", "1"]
    return processes.start(*command, "--loglevel", "critical", "--without-gossip", "--without-mingle")


def batch_body(batch: int) -> dict:
    events = [{"name": "page_view", "params": {"event_id": f"b{batch}-{n}"}} for n in range(BATCH)]
    return {"client_id": f"555.{batch}", "user_id": f"u{batch % 500}", "events": events}


def event_ids(batch: int) -> set[str]:
    return {f"page_view:b{batch}-{n}" for n in range(BATCH)}


async def collect_load(base: str, write_key: str, *, seconds: float, concurrency: int) -> dict:
    """Post new batches for `seconds`; {batch: status or exception name} for every batch sent."""
    outcome: dict[int, str] = {}
    next_batch = [0]
    deadline = time.monotonic() + seconds

    async def client():
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            while time.monotonic() < deadline:
                batch = next_batch[0]
                next_batch[0] += 1
                try:
                    response = await http.post(f"/api/collect/{write_key}", json=batch_body(batch))
                    outcome[batch] = str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome[batch] = type(exc).__name__
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return outcome


async def resend(base: str, write_key: str, batches: list[int], concurrency: int) -> Counter:
    queue = list(batches)
    statuses: Counter = Counter()

    async def client():
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while queue:
                batch, answer = queue.pop(), "unanswered"
                for _ in range(20):
                    try:
                        response = await http.post(f"/api/collect/{write_key}", json=batch_body(batch))
                    except httpx.HTTPError as exc:
                        answer = type(exc).__name__
                        await asyncio.sleep(0.2)
                        continue
                    answer = str(response.status_code)
                    if response.status_code == 202:
                        break
                    await asyncio.sleep(float(response.headers.get("Retry-After", "0.2")))
                statuses[answer] += 1

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return statuses


def stored_ids(source) -> tuple[set[str], int]:
    from integrations.models import Event

    ids = list(Event.objects.filter(source=source).values_list("external_id", flat=True))
    return set(ids), len(ids)


def phase_web_kill(processes, web, base, port, source, args) -> dict:
    restart = {}

    async def kill_and_restart():
        await asyncio.sleep(args.collect_seconds / 2)
        processes.kill(web)
        killed = time.monotonic()
        web_start(processes, port)
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.05)
        restart["back_after_s"] = round(time.monotonic() - killed, 2)

    async def run():
        load = collect_load(base, source.write_key, seconds=args.collect_seconds, concurrency=args.concurrency)
        outcome, _ = await asyncio.gather(load, kill_and_restart())
        return outcome

    outcome = asyncio.run(run())
    acknowledged = [batch for batch, status in outcome.items() if status == "202"]
    acked_ids = set().union(*(event_ids(batch) for batch in acknowledged))
    stored, _rows = stored_ids(source)
    resent = asyncio.run(resend(base, source.write_key, sorted(outcome), args.concurrency))
    all_ids = set().union(*(event_ids(batch) for batch in outcome))
    stored_after, rows_after = stored_ids(source)
    return {
        "batches_sent": len(outcome),
        "batch_answers": dict(Counter(outcome.values())),
        "server_back_after_s": restart.get("back_after_s"),
        "events_acknowledged": len(acked_ids),
        "events_stored_before_resend": len(stored),
        "acknowledged_events_lost": len(acked_ids - stored),
        "stored_but_not_acknowledged": len(stored - acked_ids),
        "resend_answers": {str(key): value for key, value in resent.items()},
        "events_sent": len(all_ids),
        "events_stored_after_resend": len(stored_after),
        "events_missing_after_resend": len(all_ids - stored_after),
        "duplicate_rows": rows_after - len(stored_after),
    }


def wait_job(job, *, seconds: float, every: float = 0.25, until=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if (until or (lambda j: j.status in ("succeeded", "failed", "cancelled")))(job):
            return job
        time.sleep(every)
    raise RuntimeError(f"job {job.id} still {job.status} after {seconds} s")


def job_start(http: httpx.Client, count: int, seed: int) -> tuple[int, dict]:
    response = http.post("/api/data-sources/dummy-data/bulk/gtm", json={"count": count, "seed": seed})
    return response.status_code, response.json()


def job_figures(job) -> dict:
    from django.db.models import Count, Sum

    from integrations.models import Customer, Event

    events = Event.objects.filter(source=job.source_id).aggregate(
        rows=Count("id"), ids=Count("external_id", distinct=True)
    )
    return {
        "status": job.status,
        "events_count": job.events_count,
        "rows_stored": events["rows"],
        "distinct_ids": events["ids"],
        "customer_event_total": Customer.objects.filter(workspace_id=job.workspace_id).aggregate(n=Sum("event_count"))[
            "n"
        ],
        "attempts": job.attempts,
        "recoveries": job.recoveries,
    }


def phase_worker_kill(processes, http, args) -> dict:
    from integrations.models import Event, SyncJob

    worker = worker_start(processes)
    started = time.monotonic()
    status, body = job_start(http, args.job_events, seed=1)
    baseline = wait_job(SyncJob.objects.get(id=body["job"]["id"]), seconds=900)
    baseline_seconds = time.monotonic() - started
    baseline_figures = job_figures(baseline)
    Event.objects.filter(source_id=baseline.source_id).delete()  # the second job starts from an empty source
    from integrations.models import Customer

    Customer.objects.filter(workspace_id=baseline.workspace_id).delete()

    started = time.monotonic()
    status, body = job_start(http, args.job_events, seed=2)
    job = SyncJob.objects.get(id=body["job"]["id"])
    wait_job(job, seconds=900, every=0.05, until=lambda j: j.checkpoint.get("events", 0) >= args.job_events // 3)
    processes.kill(worker)
    job.refresh_from_db()
    killed_at = {"status": job.status, "events_count": job.events_count}
    worker_start(processes)
    job = wait_job(job, seconds=900)
    return {
        "baseline_job_seconds": round(baseline_seconds, 2),
        "baseline_job": baseline_figures,
        "killed_job_seconds": round(time.monotonic() - started, 2),
        "killed_job_ratio_to_baseline": round((time.monotonic() - started) / baseline_seconds, 2),
        "worker_killed_at": killed_at,
        "killed_job": job_figures(job),
        "job_events": args.job_events,
    }


def phase_redis_down(processes, redis, redis_port, base, http, source, users, args) -> dict:
    processes.kill(redis)

    async def logins_and_collect():
        answers = {"collect": Counter(), "login_correct": Counter(), "login_wrong": Counter()}
        deadline = time.monotonic() + args.redis_down_seconds
        next_batch = [10_000_000]

        async def collector(http_async):
            while time.monotonic() < deadline:
                batch = next_batch[0]
                next_batch[0] += 1
                try:
                    response = await http_async.post(f"/api/collect/{source.write_key}", json=batch_body(batch))
                    answers["collect"][str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    answers["collect"][type(exc).__name__] += 1

        async def login(http_async, index):
            while time.monotonic() < deadline:
                wrong = index % 2 == 1
                email = users[index % len(users)]
                password = "wrong-password" if wrong else PASSWORD
                kind = "login_wrong" if wrong else "login_correct"
                try:
                    response = await http_async.post("/api/auth/login", json={"email": email, "password": password})
                    answers[kind][str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    answers[kind][type(exc).__name__] += 1
                await asyncio.sleep(0.2)

        async with httpx.AsyncClient(base_url=base, timeout=15) as http_async:
            tasks = [collector(http_async) for _ in range(max(1, args.concurrency // 2))]
            tasks += [login(http_async, index) for index in range(2)]
            await asyncio.gather(*tasks)
        return answers

    answers = asyncio.run(logins_and_collect())
    started = time.monotonic()
    job_status, job_body = job_start(http, 100, seed=3)
    job_answer_seconds = time.monotonic() - started
    processes.running.remove(redis)
    redis_start(processes, redis_port)
    time.sleep(2)
    after = {
        "collect": http.post(f"/api/collect/{source.write_key}", json=batch_body(20_000_000)).status_code,
        "login": http.post("/api/auth/login", json={"email": users[0], "password": PASSWORD}).status_code,
    }
    job_after_status, job_after = job_start(http, 100, seed=4)
    from integrations.models import SyncJob

    job_after_final = (
        wait_job(SyncJob.objects.get(id=job_after["job"]["id"]), seconds=120) if job_after_status == 202 else None
    )

    def without_5xx(counter: Counter) -> float:
        total = sum(counter.values())
        bad = sum(n for key, n in counter.items() if not key.isdigit() or key.startswith("5"))
        return round(100 * (total - bad) / total, 2) if total else None

    return {
        "answers": {kind: dict(counter) for kind, counter in answers.items()},
        "collect_answered_without_5xx_pct": without_5xx(answers["collect"]),
        "login_answered_without_5xx_pct": without_5xx(answers["login_correct"] + answers["login_wrong"]),
        "correct_logins_signed_in_pct": round(
            100 * answers["login_correct"]["200"] / max(1, sum(answers["login_correct"].values())), 2
        ),
        "job_start_while_down": {"status": job_status, "seconds": round(job_answer_seconds, 2), "body": job_body},
        "after_redis_is_back": {
            **after,
            "job_start": job_after_status,
            "job": job_after_final.status if job_after_final else None,
        },
    }


def phase_contract(base: str, email: str, args) -> dict:
    from tests.contract import contract_run

    with httpx.Client(base_url=base, timeout=60) as http:
        tokens = http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["tokens"]
    started = time.monotonic()
    run = contract_run(base_url=base, access_token=tokens["accessToken"], max_examples=args.schemathesis_examples)
    return {**run.figures(), "seconds": round(time.monotonic() - started, 1), "failures": run.failures}


def main():
    args = parse_args()
    database_reset(args.database_url)
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DEBUG": "0",
        "SECRET_KEY": "bench-faults-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_STALE_SECONDS": "6",
        "COLLECT_RATE_LIMIT_REQUESTS": "1000000",
        "LOGIN_FAILURE_LIMIT": "1000",
        "LOGIN_IP_FAILURE_LIMIT": "1000",
        "DJANGO_SETTINGS_MODULE": "marketing_ai.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from accounts.services import user_register
    from integrations.models import DataSource

    users = [f"bench{n}@faults.test" for n in range(3)]
    owner = user_register(email=users[0], password=PASSWORD, first_name="B", last_name="F", company_name="Faults")
    user_register(email=users[1], password=PASSWORD, first_name="C", last_name="F", company_name="Faults 2")
    user_register(email=users[2], password=PASSWORD, first_name="D", last_name="F", company_name="Faults 3")
    source = DataSource.objects.create(workspace=owner.current_workspace, source_type="gtm", name="Bench site")

    processes = Processes(env)
    result = {"load_before": os.getloadavg()}
    try:
        redis = redis_start(processes, redis_port)
        base = f"http://127.0.0.1:{web_port}"
        web = web_start(processes, web_port)
        wait_port(web_port)
        processes.start(sys.executable, "-m", "celery", "-A", "marketing_ai", "beat", "--loglevel", "critical")
        result["web_server_killed"] = phase_web_kill(processes, web, base, web_port, source, args)
        with httpx.Client(base_url=base, timeout=60) as http:
            # the jobs run in the second user's workspace, apart from the collected events
            token = http.post("/api/auth/login", json={"email": users[1], "password": PASSWORD}).json()
            http.headers["Authorization"] = f"Bearer {token['tokens']['accessToken']}"
            result["worker_killed"] = phase_worker_kill(processes, http, args)
            result["redis_down"] = phase_redis_down(processes, redis, redis_port, base, http, source, users, args)
        result["contract"] = phase_contract(base, users[2], args)
    finally:
        processes.stop_all()
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
