"""The app served over real sockets in a thread of the test process, sharing the test database: the ASGI app
on uvicorn (what `make run` and the websockets serve) and the WSGI app on wsgiref (gunicorn's side); or a server
command in a process of its own (`process_serving`)."""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest


def database_url(settings) -> str:
    """The test database as a DATABASE_URL, for the app run in another process on it (PostgreSQL)."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def tcp_sockets_on_port(port: int) -> dict[int, str]:
    """{socket inode: "listen" or "established"} of the TCP sockets whose local port is `port` (Linux /proc)."""
    states = {"0A": "listen", "01": "established"}
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] in states:
                    sockets[int(fields[9])] = states[fields[3]]
    return sockets


def connections_per_process(pids, port: int) -> dict[int, int]:
    """{pid: how many established connections to `port` it holds}, for the server's own processes."""
    established = {inode for inode, state in tcp_sockets_on_port(port).items() if state == "established"}
    counts = {}
    for pid in pids:
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
        counts[pid] = len(inodes & established)
    return counts


def children_of(parent: int) -> list[int]:
    """The pids of a process's children (Linux /proc): gunicorn's workers, of its master."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ROOT = Path(__file__).resolve().parents[1]


def process_serving(arguments: list[str], *, port: int, env: dict, what: str) -> subprocess.Popen:
    """`python <arguments>` started from the project's root, once it accepts connections on `port` (a test
    fails naming `what` when it exits or does not listen within a minute)."""
    process = subprocess.Popen(
        [sys.executable, *arguments], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"{what} did not start")
        time.sleep(0.2)


class AsgiServerThread(threading.Thread):
    def __init__(self, port: int):
        super().__init__(daemon=True)
        import uvicorn

        from marketing_ai.asgi import application

        config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)

    def run(self):
        asyncio.run(self._serve())

    async def _serve(self):
        from ai.providers.kept import kept_clients_close

        try:
            await self.server.serve()
        finally:
            await kept_clients_close()  # the server's loop ends: its provider connections too

    def wait_started(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.is_alive():
                raise RuntimeError("The ASGI test server did not start.")
            time.sleep(0.05)

    def stop(self):
        self.server.should_exit = True
        self.join(timeout=10)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # no access log in the test output
        pass


class WsgiServerThread(threading.Thread):
    def __init__(self, port: int):
        super().__init__(daemon=True)
        from marketing_ai.wsgi import application

        self.server = make_server(
            "127.0.0.1", port, application, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )

    def run(self):
        self.server.serve_forever(poll_interval=0.05)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.join(timeout=10)
