"""Signals of the integrations app, for listeners it must not know (other apps reacting to new data)."""

from django.dispatch import Signal

# Sent inside the storing transaction after a batch inserted events: workspace_id, customer_keys (of the batch).
events_stored = Signal()
