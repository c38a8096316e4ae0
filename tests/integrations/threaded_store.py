"""Storing batches from several threads at once, each on its own database connection (PostgreSQL only)."""

import threading

from django.db import connection

from integrations.pipeline.store import events_store


def store_from_threads(source, batches: list, *, threads: int = 3) -> list[Exception]:
    """Store every batch for `source`, the batches dealt out to `threads` threads that run at once; the errors
    they raised (an empty list when every batch was stored)."""
    errors = []

    def store(part):
        try:
            for batch in part:
                events_store(source=source, records=batch)
        except Exception as exc:  # returned to the test, which asserts there is none
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=store, args=(batches[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors
