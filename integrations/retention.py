"""The event store's upkeep, run daily by beat: month partitions ahead of time, and empty past ones dropped."""

from datetime import datetime

from .partitions import event_partitions_drop_empty, event_partitions_ensure


def event_store_maintain(*, now: datetime) -> dict:
    """Create the coming months' partitions (and move what the default partition caught), then drop the past
    partitions no event is left in; returns the partitions created and dropped. Idempotent."""
    created = event_partitions_ensure(now=now)
    dropped = event_partitions_drop_empty(now=now)
    return {"partitionsCreated": created, "partitionsDropped": dropped}
