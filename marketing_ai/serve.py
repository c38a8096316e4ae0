"""How the app's servers run: daphne on uvloop for the ASGI app, and the gunicorn worker of the WSGI recipe.

`python -m marketing_ai.serve <daphne options> marketing_ai.asgi:application`: daphne on uvloop.

The same daphne (its CLI, options and Twisted reactor), on uvloop's event loop instead of the standard
one: a busy chat process spends most of its time in socket reads and writes and task switches, which
uvloop does in C (bench/chat.py: the per-chunk overhead at 200 chats about halves).

Once the app is loaded, everything loaded so far (Django, the apps, the libraries) is frozen out of the
garbage collector's sight: it lives as long as the process, and a full collection then scans only what the
requests and answers allocate instead of pausing the event loop, every chat's chunks with it, for tens of
milliseconds (bench/README.md). A process-wide switch, so it is thrown here, at the server's start.
"""

import asyncio
import gc
import importlib
import sys

from gunicorn.workers import gthread


def main() -> None:
    try:
        import uvloop
    except ImportError:  # the standard loop still works
        pass
    else:
        # Before daphne is imported: it creates its event loop (and installs the reactor) at import time.
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface

    application = next((arg for arg in reversed(sys.argv[1:]) if ":" in arg and not arg.startswith("-")), None)
    if application:  # daphne imports the same module again: already loaded, and frozen
        importlib.import_module(application.split(":", 1)[0])
        gc.collect()
        gc.freeze()
    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


class ThreadWorker(gthread.ThreadWorker):
    """gunicorn's gthread worker that accepts a connection only while one of its threads is idle.

    gunicorn's processes share one listening socket and each accepts for as long as it is woken: a burst of new
    connections (a proxy opening its upstream pool, clients arriving together) mostly lands on whichever process
    wakes first. Kept alive, those connections stay there, queued behind that process's few threads (and its one
    GIL) while the other processes sit idle. A busy process stops listening here, so the next connection goes to
    one with a thread free; its kept-alive connections are still served as before.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests_in_threads = 0  # touched by the main thread only (the pool's callbacks run there too)

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self.requests_in_threads < self.cfg.threads)

    def enqueue_req(self, conn):
        self.requests_in_threads += 1
        if self.requests_in_threads >= self.cfg.threads:
            self.set_accept_enabled(False)
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.requests_in_threads -= 1  # the main loop listens again before it next waits
        super().finish_request(conn, fs)


if __name__ == "__main__":
    main()
