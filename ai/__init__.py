"""The AI platform (DESIGN §7), below chat and campaigns: they call it, it imports neither.

Public entry points:
- `ai.router`: `stream_reply` (streamed answers), `complete` / `complete_sync` (one-shot text or JSON),
  `providers_for`, `llm_configured`. Every provider attempt is logged once, by the router (`ai.calls`).
- `ai.providers`: one module per model backend; nothing outside it imports a model SDK.
- `ai.keys`: workspace provider keys (encrypted, validated, masked) and the provider order.
- `ai.ratelimit`: the one AI rate limit.
- `ai.calls`: the call log (`ProviderCall`), written by the router and by adapters of other external APIs.
- `ai.usage`: daily usage summaries and their aggregation; the usage page and API.
- `ai.intent`: intent classification (offline classifier, model-assisted analysis).
"""
