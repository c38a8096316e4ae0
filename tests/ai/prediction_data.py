"""Customer histories with a learnable future: regular buyers keep buying, fading ones slow down, browsers browse."""

import random
from datetime import timedelta

from django.utils import timezone

from tests.integrations.analysis_data import Events, source_create


def histories_create(workspace, *, customers: int, days: int = 120, seed: int = 7) -> None:
    """`customers` customers over the last `days` days, stored with their rollups (bulk, no pipeline)."""
    rng = random.Random(seed)
    events = Events(workspace, source_create(workspace, name="History"))
    now = timezone.now()
    for number in range(customers):
        key = f"h{number:05d}"
        kind = rng.random()
        start = rng.uniform(0.6, 1.0) * days
        # cadence in days between visits; fading customers stop at a random point, browsers never buy
        cadence = rng.uniform(4, 25)
        stop = rng.uniform(0, start) if kind < 0.35 else 0
        buys = kind > 0.15
        age = start
        while age > stop:
            when = now - timedelta(days=age, hours=rng.uniform(0, 20))
            events.add(key, "page_view", when=when)
            if buys and rng.random() < 0.45:
                events.add(key, "add_to_cart", "30", when=when)
                events.add(key, "purchase", str(round(rng.uniform(15, 120), 2)), when=when)
            age -= rng.expovariate(1 / cadence)
    events.save()
