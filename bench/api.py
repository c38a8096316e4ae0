"""API benchmark: authenticated profile vs a bare view, login cost, bad-login flood. Prints JSON.

Serves the real app the ways the README documents, side by side in one run: the production recipe's WSGI
server for the REST API (gunicorn with `gunicorn.conf.py`), the ASGI app on uvicorn with one worker per core,
and the stream process `marketing_ai.serve` (what `make run` serves), on PostgreSQL when DATABASE_URL is set
(with the psycopg pool) else on a throwaway SQLite file. Load comes from `wrk` when installed (apt-get install
wrk), else from a small asyncio keep-alive client.
Usage: .venv/bin/python bench/api.py [--seconds 10] [--concurrency 32]
[--servers gunicorn,uvicorn,stream] [--no-flood]

A server is `gunicorn`, `uvicorn` or `stream`; `gunicorn:sync:3` or `gunicorn:gthread:2x4` overrides the worker
class, processes and threads of `gunicorn.conf.py` (to compare layouts), and `...@/path/to/checkout` serves that
checkout's code instead of this one (before/after in one run). All listed servers are started together and
measured in alternation (ping and profile of each, round after round), so every figure shares the same noise.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.servers: the servers' processes and their connections
BIN = Path(sys.executable).parent
PASSWORD = "Bench-Password-2025"
CORES = os.cpu_count() or 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY=env.get("SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if env.get("DATABASE_URL", "").startswith("postgres"):
        env.setdefault("DATABASE_POOL", "1")
    env.update(extra)
    return env


def server_command(kind: str, port: int) -> list[str]:
    kind = kind.split("@", 1)[0]
    if kind.startswith("gunicorn"):  # workers, worker class and the rest from gunicorn.conf.py, unless given
        command = [str(BIN / "gunicorn"), "marketing_ai.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        if kind != "gunicorn":
            _, worker_class, layout = kind.split(":")
            processes, _, threads = layout.partition("x")
            command += ["--worker-class", worker_class, "--workers", processes, "--threads", threads or "1"]
        return command
    if kind == "stream":
        return [
            str(BIN / "python"),
            "-m",
            "marketing_ai.serve",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "marketing_ai.asgi:application",
        ]
    return [
        str(BIN / "uvicorn"),
        "marketing_ai.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(CORES),
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


class Server:
    def __init__(self, kind: str, env: dict):
        self.kind, self.port, self.env = kind, free_port(), env
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = Path(kind.split("@", 1)[1]) if "@" in kind else ROOT

    def __enter__(self):
        self.proc = subprocess.Popen(
            server_command(self.kind, self.port),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/api/ping", timeout=2) as response:
                    if response.status == 200:
                        time.sleep(1)  # let every worker finish booting
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"{self.kind} did not start")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's processes (its session: master and workers)."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            if int(fields[3]) == self.proc.pid:  # session id
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def workers_connections(self) -> list[int]:
        """How many of the load's connections each worker process holds, most first (the master holds none)."""
        from tests.servers import children_of, connections_per_process

        return sorted(connections_per_process(children_of(self.proc.pid), self.port).values(), reverse=True)

    def measured(self, path: str, **options) -> dict:
        """A load run's figures, with the server CPU it cost per request (unlike the rates and latencies, this
        does not depend on what else the shared machine runs meanwhile) and, half-way, how its connections are
        spread over the worker processes (kept-alive connections stay where they were accepted)."""
        before = self.cpu_seconds()
        spread: list[int] = []
        sampler = threading.Timer(options["seconds"] / 2, lambda: spread.extend(self.workers_connections()))
        sampler.start()
        figures = load(self.url + path, **options)()
        sampler.join()
        requests = figures["requestsPerSecond"] * options["seconds"]
        figures["serverCpuMsPerRequest"] = round((self.cpu_seconds() - before) * 1000 / max(requests, 1), 3)
        figures["connectionsPerWorker"] = spread
        return figures

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def post_json(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# Load generation


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return round(float(number) * _UNITS[unit], 2)


def wrk_command(url: str, *, seconds: int, concurrency: int, headers: dict, script: str | None = None) -> list[str]:
    command = [
        "wrk",
        "-t",
        str(min(2, concurrency)),
        "-c",
        str(concurrency),
        "-d",
        f"{seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    if script:
        command += ["-s", script]
    return [*command, url]


# Counts answers per status across wrk's threads (each thread has its own Lua state).
WRK_STATUS_COUNTER = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("STATUS %d %d\\n", status, n)) end
end
"""


def wrk_parse(output: str) -> dict:
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.M))
    if "99" not in latency:
        raise RuntimeError(f"wrk completed no request:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requestsPerSecond": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "p50Ms": _ms(latency["50"]),
        "p99Ms": _ms(latency["99"]),
        "non2xx": int(errors.group(1)) if errors else 0,
        **({"socketErrors": socket_errors.group(1)} if socket_errors else {}),
        **({"byStatus": statuses} if (statuses := dict(re.findall(r"^STATUS (\d+) (\d+)$", output, re.M))) else {}),
    }


async def _python_load(url: str, *, seconds: int, concurrency: int, headers: dict, body: bytes | None) -> dict:
    host, port, path = re.match(r"http://([^:/]+):(\d+)(/.*)", url).groups()
    method = "POST" if body is not None else "GET"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"] + [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines += [f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    latencies, non2xx = [], 0
    stop_at = time.monotonic() + seconds

    async def worker():
        nonlocal non2xx
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if not head.startswith(b"HTTP/1.1 2"):
                non2xx += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requestsPerSecond": round(len(latencies) / elapsed, 1),
        "p50Ms": round(statistics.median(latencies), 2),
        "p99Ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "non2xx": non2xx,
    }


def load(url: str, *, seconds: int, concurrency: int, headers: dict | None = None, body: dict | None = None):
    """Start a load run; returns a callable that waits for it and gives its figures."""
    headers = dict(headers or {})
    if shutil.which("wrk"):
        script = None
        if body is not None:
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script_file:
                script_file.write(f"wrk.method = 'POST'\nwrk.body = [[{json.dumps(body)}]]\n")
                script_file.write("wrk.headers['Content-Type'] = 'application/json'\n" + WRK_STATUS_COUNTER)
            script = script_file.name
        proc = subprocess.Popen(
            wrk_command(url, seconds=seconds, concurrency=concurrency, headers=headers, script=script),
            stdout=subprocess.PIPE,
            text=True,
        )
        return lambda: wrk_parse(proc.communicate()[0])
    payload = json.dumps(body).encode() if body is not None else None
    if payload is not None:
        headers["Content-Type"] = "application/json"
    result = {}

    def run():
        result.update(
            asyncio.run(_python_load(url, seconds=seconds, concurrency=concurrency, headers=headers, body=payload))
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return lambda: (thread.join(), result)[1]


def alternate(runs: dict, *, rounds: int) -> dict:
    """Run each measurement `rounds` times, interleaved (A B A B ...), and keep the median of each figure.

    Interleaving spreads background noise of a shared machine evenly over the compared runs.
    """
    results = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return {name: _median_figures(figures) for name, figures in results.items()}


def _median_figures(figures: list[dict]) -> dict:
    merged = {}
    for key, value in figures[0].items():
        values = [figure[key] for figure in figures]
        if key in ("non2xx",):
            merged[key] = sum(values)
        elif key == "byStatus":
            totals: dict = {}
            for counts in values:
                for status, count in counts.items():
                    totals[status] = totals.get(status, 0) + int(count)
            merged[key] = totals
        elif key == "connectionsPerWorker":  # each round's own spread
            merged[key] = values
        elif isinstance(value, int | float):
            merged[key] = round(statistics.median(values), 2)
        elif isinstance(value, dict):
            merged[key] = _median_figures(values)
        else:
            merged[key] = value
    if len(figures) > 1 and "p99Ms" in merged:  # a median hides how much the tail moved between rounds
        merged["p99MsByRound"] = [figure["p99Ms"] for figure in figures]
        merged["requestsPerSecondByRound"] = [figure["requestsPerSecond"] for figure in figures]
    return merged


def access_token(server: Server, email: str) -> str:
    """A JWT for the bench's user (registered on first use; the servers share one database)."""
    status, body = post_json(
        server.url + "/api/auth/register", {"email": email, "password": PASSWORD, "companyName": "Bench"}
    )
    if status == 409:
        status, body = post_json(server.url + "/api/auth/login", {"email": email, "password": PASSWORD})
    return body["tokens"]["accessToken"]


def login_ms(server: Server, email: str, rounds: int = 8) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        status, _ = post_json(server.url + "/api/auth/login", {"email": email, "password": PASSWORD})
        timings.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    return round(statistics.median(timings), 1)


HASH_PROBE = """
import statistics, time
import django
django.setup()
from django.contrib.auth.hashers import check_password, make_password
encoded, timings = make_password("x" * 16), []
for _ in range(5):
    started = time.perf_counter()
    check_password("y" * 16, encoded)
    timings.append(time.perf_counter() - started)
print(round(statistics.median(timings) * 1000, 1))
"""


def hash_ms(env: dict) -> float:
    """One Argon2 check with the project's hasher settings, in a fresh process (no HTTP)."""
    out = subprocess.run(
        [sys.executable, "-c", HASH_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def request_metrics_cost(env: dict, email: str, *, step: int, concurrency: int, rounds: int) -> dict:
    """The authenticated profile on gunicorn with per-request metrics off (the baseline) and on, alternated."""
    with (
        Server("gunicorn", {**env, "REQUEST_METRICS": "0"}) as off,
        Server("gunicorn", {**env, "REQUEST_METRICS": "1"}) as on,
    ):
        status, body = post_json(off.url + "/api/auth/register", {"email": email, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {body['tokens']['accessToken']}"}
        for server in (off, on):
            load(server.url + "/api/user/profile", seconds=2, concurrency=concurrency, headers=auth)()  # warm-up
        figures = alternate(
            {
                name: lambda url=server.url: load(
                    url + "/api/user/profile", seconds=step, concurrency=concurrency, headers=auth
                )()
                for name, server in (("off", off), ("on", on))
            },
            rounds=rounds,
        )
    return {
        "profileMetricsOff": figures["off"],
        "profileMetricsOn": figures["on"],
        "ratioOnToOff": round(figures["on"]["requestsPerSecond"] / figures["off"]["requestsPerSecond"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--servers", default="gunicorn,uvicorn,stream")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per comparison (medians reported)")
    parser.add_argument("--no-flood", action="store_true", help="skip the login cost and bad-login flood part")
    parser.add_argument(
        "--metrics-only",
        action="store_true",
        help="only the cost of per-request metrics: the authenticated profile on gunicorn, REQUEST_METRICS off vs on",
    )
    args = parser.parse_args()
    seconds, concurrency = args.seconds, args.concurrency
    step = max(2, round(seconds / args.rounds))

    tmp = None
    if not os.environ.get("DATABASE_URL"):
        tmp = tempfile.TemporaryDirectory()
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    env = base_env(DJANGO_SETTINGS_MODULE="marketing_ai.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)

    email = f"bench-{secrets.token_hex(4)}@bench.test"
    report = {
        "database": "postgresql" if env["DATABASE_URL"].startswith("postgres") else "sqlite",
        "databasePool": env.get("DATABASE_POOL") == "1",
        "cache": "redis" if env.get("REDIS_URL") else "locmem",
        "loadGenerator": "wrk" if shutil.which("wrk") else "python-asyncio",
        "cores": CORES,
        "loadAverageAtStart": round(os.getloadavg()[0], 2),  # other work on the machine skews every figure
        "concurrency": concurrency,
        "secondsPerMeasurement": step * args.rounds,
        "rounds": args.rounds,
        "servers": {},
    }

    if args.metrics_only:
        report["requestMetrics"] = request_metrics_cost(
            env, email, step=step, concurrency=concurrency, rounds=args.rounds
        )
        print(json.dumps(report, indent=2))
        return

    kinds = args.servers.split(",")
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(Server(kind, env)) for kind in kinds]
        auth = {"Authorization": f"Bearer {access_token(servers[0], email)}"}
        runs = {}
        for server in servers:
            load(server.url + "/api/ping", seconds=2, concurrency=concurrency)()  # warm-up
            load(server.url + "/api/user/profile", seconds=1, concurrency=concurrency, headers=auth)()
            for endpoint, headers in (("ping", {}), ("user/profile", auth)):
                runs[(server.kind, endpoint)] = lambda server=server, path="/api/" + endpoint, headers=headers: (
                    server.measured(path, seconds=step, concurrency=concurrency, headers=headers)
                )
        figures = alternate(runs, rounds=args.rounds)
    for kind in kinds:
        ping, profile = figures[(kind, "ping")], figures[(kind, "user/profile")]
        report["servers"][kind] = {
            "command": " ".join(server_command(kind, 8000)).replace(str(BIN) + "/", ""),
            **({"checkout": kind.split("@", 1)[1]} if "@" in kind else {}),
            "ping": ping,
            "profile": profile,
            "ratioProfileToPing": round(profile["requestsPerSecond"] / ping["requestsPerSecond"], 3),
        }

    best = max(report["servers"], key=lambda kind: report["servers"][kind]["profile"]["requestsPerSecond"])
    report["best"] = best
    report["aims"] = {"profileRequestsPerSecond": 1200, "profileP99Ms": 50, "ratioProfileToPing": 0.6}
    report["meets"] = {
        kind: {
            "profileRequestsPerSecond": figures["profile"]["requestsPerSecond"] >= 1200,
            "profileP99Ms": figures["profile"]["p99Ms"] <= 50,
            "ratioProfileToPing": figures["ratioProfileToPing"] >= 0.6,
        }
        for kind, figures in report["servers"].items()
    }

    if not args.no_flood:  # password hashing: its cost, and whether a flood of bad logins hurts other requests
        report.update(login_figures(best, email, env, step=step, concurrency=concurrency, rounds=args.rounds))
    report["loadAverageAtEnd"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2))
    if tmp:
        tmp.cleanup()


def login_figures(best: str, email: str, env: dict, *, step: int, concurrency: int, rounds: int) -> dict:
    """One login's and one Argon2 check's cost, and the bare view's latency during a flood of bad logins."""
    # Lockouts are disabled here so that every bad login really hashes (the worst case; normally the IP is locked
    # out after LOGIN_IP_FAILURE_LIMIT failures and the rest of the flood is answered 429 without hashing).
    flood_env = {**env, "LOGIN_FAILURE_LIMIT": "1000000000", "LOGIN_IP_FAILURE_LIMIT": "1000000000"}
    report = {}
    with Server(best, flood_env) as server:
        report["loginMs"] = login_ms(server, email)
        report["argon2CheckMs"] = hash_ms(env)
        bad_login = {"email": email, "password": "wrong-password-123"}

        def during_flood(url=server.url):
            flood_wait = load(url + "/api/auth/login", seconds=step + 1, concurrency=8, body=bad_login)
            time.sleep(0.5)  # the flood is under way before the measurement starts
            figures = load(url + "/api/ping", seconds=step, concurrency=concurrency)()
            figures["flood"] = flood_wait()
            return figures

        quiet, during = alternate(
            {
                "quiet": lambda url=server.url: load(url + "/api/ping", seconds=step, concurrency=concurrency)(),
                "during": during_flood,
            },
            rounds=rounds,
        ).values()
        flood = during.pop("flood")
        report["badLoginFlood"] = {
            "floodConcurrency": 8,
            "pingWithoutFlood": quiet,
            "pingDuringFlood": during,
            "floodLogins": flood,
            "p99Ratio": round(during["p99Ms"] / max(quiet["p99Ms"], 0.01), 2),
        }
    return report


if __name__ == "__main__":
    main()
