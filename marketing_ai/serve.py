"""`python -m marketing_ai.serve <daphne options> marketing_ai.asgi:application`: daphne on uvloop.

The same daphne (its CLI, options and Twisted reactor), on uvloop's event loop instead of the standard
one: a busy chat process spends most of its time in socket reads and writes and task switches, which
uvloop does in C (bench/chat.py: the per-chunk overhead at 200 chats about halves).
"""

import asyncio
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

    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
