"""The AI provider layer (DESIGN §7). Nothing outside this package imports a model SDK.

Entry points: `router.stream_reply` (streaming chat) and `router.complete` (one-shot text or JSON).
"""
