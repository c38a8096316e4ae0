"""Counters and lockout flags in the database (`RateCounter`): the durable twin of the cache's counters."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .models import RateCounter


@transaction.atomic
def database_counter_incremented(key: str, *, timeout: int) -> int:
    """Add one to the key's counter (a new window of `timeout` seconds when it expired); the new count."""
    now = timezone.now()
    counter, created = RateCounter.objects.select_for_update().get_or_create(
        key=key, defaults={"count": 1, "expires_at": now + timedelta(seconds=timeout)}
    )
    if created:
        return 1
    if counter.expires_at <= now:
        counter.count, counter.expires_at = 1, now + timedelta(seconds=timeout)
    else:
        counter.count += 1
    counter.save(update_fields=["count", "expires_at"])
    return counter.count


def database_flag_set(key: str, *, seconds: int) -> datetime:
    """Raise the flag for `seconds` from now (replacing an earlier one); returns when it falls."""
    until = timezone.now() + timedelta(seconds=seconds)
    RateCounter.objects.update_or_create(key=key, defaults={"count": 1, "expires_at": until})
    return until


def database_flags_raised(keys: list[str]) -> dict[str, datetime]:
    """The keys whose flag or counter is still live, with when each falls."""
    return dict(
        RateCounter.objects.filter(key__in=keys, expires_at__gt=timezone.now()).values_list("key", "expires_at")
    )


def database_counter_delete(key: str) -> None:
    RateCounter.objects.filter(key=key).delete()


def rate_counters_purge(*, now: datetime | None = None) -> int:
    """Delete the expired counters and flags; returns how many went."""
    deleted, _ = RateCounter.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
