"""gunicorn's settings for the production recipe (README "Production"): the pages and the REST API.

`gunicorn marketing_ai.wsgi:application` reads this file from the working directory. Websockets and event
streams are not served here: the proxy routes them to the ASGI server.
"""

import gc
import os

from marketing_ai.gunicorn_worker import shared_listeners_open

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# One process per core, each with a few threads. A process runs Python on one core at a time, and its other
# threads wait on the database (a collect batch's COPY and commit), on a password hash or on the network
# meanwhile instead of holding the process; they also keep the proxy's connections alive (a sync worker closes
# each one, and the proxy then pays a new connection per request). More processes than cores add contenders for
# the same cores (the proxy, PostgreSQL and Redis share them) without more waits covered, and each of them must
# be scheduled before its kept-alive connections are served. Those connections stay with the process that
# accepted them, so each worker listens on a socket of its own besides the master's (SO_REUSEPORT) and the kernel
# spreads new connections over them; on one shared socket a burst lands mostly on one process
# (marketing_ai/gunicorn_worker.py). WEB_CONCURRENCY and GUNICORN_THREADS override.
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
worker_class = "marketing_ai.gunicorn_worker.ReusePortThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
reuse_port = True
# Slow clients are the proxy's business (nginx/Caddy buffer requests and answers), so a short timeout only
# catches a stuck worker.
timeout = 30
keepalive = 5
# Load the app once in the master, so workers fork with Django, the apps and the URL resolver already built.
preload_app = True
# A worker is replaced after this many requests (with jitter, not all at once): bounds any slow leak.
max_requests = 20_000
max_requests_jitter = 2_000
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Before any socket opens: a Unix socket cannot form a SO_REUSEPORT group (each worker binding the path would
    take it from the one before), so with a Unix address the workers share the master's socket the stock way."""
    if any(not isinstance(address, tuple) for address in server.cfg.address):
        server.cfg.set("reuse_port", False)


def when_ready(server):
    """In the master, the app loaded and no worker forked yet: freeze what is loaded out of the collector's sight.

    The app, Django and the libraries live as long as the process, yet a full collection scans them all, and
    stops every thread of the worker meanwhile: a pause long enough to show in the API's tail latency, which
    every worker hits soon after its start. Frozen, a full collection scans only what requests allocate, and the
    workers fork without writing to those objects' pages again. Then the master's socket of each listening group
    opens, which the workers inherit (marketing_ai/gunicorn_worker.py).
    """
    gc.collect()
    gc.freeze()
    shared_listeners_open(server)


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set the workers share metric files: a dead worker's live gauges go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
