"""The event pipeline (DESIGN §5): adapters map raw payloads to `EventRecord`s, `store` writes them in bulk."""
