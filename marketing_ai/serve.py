"""`python -m marketing_ai.serve [-b HOST] [-p PORT] [--proxy-headers] marketing_ai.asgi:application`: the ASGI server.

uvicorn on uvloop, with httptools for HTTP and the sans-I/O `websockets` protocol for websockets: a busy chat
process spends most of its time writing websocket frames and switching tasks, which these do with less
Python per frame and per connection than daphne's Twisted and autobahn (figures: bench/README.md, "The chat's
first chunk at 200 answers, second pass"). Frames are not compressed: a chat chunk is a few words, and
deflate would cost CPU on every frame for next to nothing.

`--proxy-headers`: the client's address comes from `X-Forwarded-For` when the peer is one of
`FORWARDED_ALLOW_IPS` (settings), as under gunicorn.

Once the app is loaded, everything loaded so far (Django, the apps, the libraries) is frozen out of the
garbage collector's sight: it lives as long as the process, and a full collection then scans only what the
requests and answers allocate instead of pausing the event loop, every chat's chunks with it, for tens of
milliseconds (bench/README.md). A process-wide switch, so it is thrown here, at the server's start.

SIGTERM or SIGINT: the server stops accepting and closes its websockets (1012, "service restart": a browser
reconnects and follows its answer from another process); the answers still running get SHUTDOWN_GRACE_SECONDS
to finish, then the rest are cancelled, which saves each one's text so far as `stopped`
(`chat.services.reply_stream`), and the provider clients close.
"""

import argparse
import gc
import importlib

import uvicorn

# On shutdown the answers still running get this long to finish, then as long again to save their text once cancelled.
SHUTDOWN_GRACE_SECONDS = 10


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m marketing_ai.serve", description=__doc__.split("\n")[0])
    parser.add_argument("-b", "--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("-p", "--port", type=int, default=8000)
    parser.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-For from FORWARDED_ALLOW_IPS")
    parser.add_argument("application", help="module:attribute of the ASGI application")
    return parser.parse_args(argv)


class _Server(uvicorn.Server):
    async def shutdown(self, sockets=None) -> None:
        from ai.providers.kept import kept_clients_close
        from chat.streaming import answers_ended

        # Still inside uvicorn's capture of the signal: the process lives until this returns.
        await super().shutdown(sockets=sockets)
        await answers_ended(grace_seconds=SHUTDOWN_GRACE_SECONDS)
        await kept_clients_close()


def main(argv: list[str] | None = None) -> None:
    from django.conf import settings

    args = _arguments(argv)
    module, _, attribute = args.application.partition(":")
    application = getattr(importlib.import_module(module), attribute or "application")
    gc.collect()
    gc.freeze()
    config = uvicorn.Config(
        application,
        host=args.bind,
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="off",
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=list(settings.FORWARDED_ALLOW_IPS),
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        access_log=False,
        log_level="info",
    )
    _Server(config).run()


if __name__ == "__main__":
    main()
