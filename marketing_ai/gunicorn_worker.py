"""gunicorn's threaded worker with new connections spread over the worker processes (`gunicorn.conf.py`).

With one listening socket shared by the workers, a burst of new connections goes mostly to whichever worker runs
first: it accepts the queue dry before the others are scheduled, and kept-alive connections never move, so a
proxy's or a client pool's connections can all end up in one process, served on one core while the other idles
(at concurrency 32 on two workers: all 32 connections in one worker in half the runs, then half the throughput
and twice the median latency; bench/README.md, "Connections spread over gunicorn's workers").

So the listening socket is a SO_REUSEPORT group (gunicorn's `reuse_port`): each worker listens on a socket of its
own, and the kernel hands each new connection to one socket of the group by its addresses' hash. The master keeps
one more socket in the group, which every worker also accepts from (`shared_listeners_open`): with gunicorn's
own `reuse_port` alone, a port whose workers are all restarting at once (`max_requests`, a crash) has no socket
left and refuses connections, while here they wait for the next worker. A socket's queued connections are reset
when it closes, and the stock worker keeps its own open while it finishes its requests, so connections kept
coming to it until it exited; this one accepts what is queued and closes its own socket as soon as it stops
accepting, and the kernel sends the next connections to the rest of the group.
"""

import socket

from gunicorn import sock as gunicorn_sockets
from gunicorn.workers.gthread import ThreadWorker

# The master's socket of each listening group, opened before the workers fork (they inherit it).
_shared_listeners: list = []


def shared_listeners_open(server) -> None:
    """In the master (gunicorn.conf.py's `when_ready`), before any worker forks: the socket of each listening group
    that stays open as long as the master runs. Built by gunicorn, as the workers' own are, so that connections
    accepted from it get the same options (TCP_NODELAY among them: without it a small answer can wait ~40 ms for
    the client's delayed ACK)."""
    if server.cfg.reuse_port and hasattr(socket, "SO_REUSEPORT"):
        _shared_listeners.extend(gunicorn_sockets.create_sockets(server.cfg, server.log))


class ReusePortThreadWorker(ThreadWorker):
    """gunicorn's `gthread` worker on its own socket of each listening group and the master's."""

    def init_process(self):
        self.own_listeners = list(self.sockets)
        self.sockets = self.own_listeners + _shared_listeners
        super().init_process()

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive and self.cfg.reuse_port:
            self._own_listeners_closed()

    def _own_listeners_closed(self) -> None:
        """Accept the connections already queued on this worker's own sockets (served before it exits), then close
        them; the master's stay open, for the other workers."""
        for listener in self.own_listeners:
            while True:
                accepted = self.nr_conns
                self.accept(listener)  # one connection, or nothing once the queue is empty
                if self.nr_conns == accepted:
                    break
            listener.close()
