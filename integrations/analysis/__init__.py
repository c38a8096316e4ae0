"""Analysis over a workspace's events: segments, metrics, funnel (issue 4), computed in SQL."""
