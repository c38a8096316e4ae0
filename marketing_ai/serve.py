"""`python -m marketing_ai.serve <daphne options> marketing_ai.asgi:application`: daphne on uvloop.

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


if __name__ == "__main__":
    main()
