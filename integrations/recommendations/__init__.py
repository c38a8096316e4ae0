"""Product recommendations (DESIGN §10): co-purchase and co-view scores from the event history, per customer and
per segment, each with its reason. `refresh` maintains the tables, `selectors` reads them, `services` runs
refreshes (a Celery job, on a schedule and on demand)."""
