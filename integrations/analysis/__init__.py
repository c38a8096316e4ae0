"""Analysis over a workspace's events: segments, metrics, funnel, computed in SQL."""
