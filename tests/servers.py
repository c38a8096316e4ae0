"""The app served over real sockets in a thread of the test process, sharing the test database: the ASGI app
on uvicorn (what `make run` and the websockets serve) and the WSGI app on wsgiref (gunicorn's side)."""

import asyncio
import socket
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


def database_url(settings) -> str:
    """The test database as a DATABASE_URL, for the app run in another process on it (PostgreSQL)."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
