"""Model backends, one module per provider (DESIGN §7). Nothing outside this package imports a model SDK.

Callers go through `ai.router`, which picks, retries and falls back between them.
"""
