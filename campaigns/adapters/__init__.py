"""Adapters to external APIs used by campaigns: images (Freepik-style) and platform insights (Meta-style)."""
