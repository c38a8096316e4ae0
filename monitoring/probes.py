"""Readiness (DESIGN §10): can this process serve? Database, cache (Redis) and broker, each checked quickly.

Redis is optional in the embedded default (no REDIS_URL: local-memory cache, in-memory broker), where both report
"not configured" and do not make the app unready."""

import redis
from django.conf import settings
from django.db import connection

PROBE_TIMEOUT_SECONDS = 2
NOT_CONFIGURED = "not configured"
OK = "ok"


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"; the reason is for operators
        return f"down: {type(exc).__name__}"
    return OK


def redis_check(url: str) -> str:
    if not url:
        return NOT_CONFIGURED
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return f"down: {type(exc).__name__}"
    finally:
        client.close()
    return OK


def broker_check() -> str:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return NOT_CONFIGURED  # memory:// in the embedded default: tasks run in the process
    return redis_check(url)


def readiness() -> dict[str, str]:
    """{"database": "ok", "redis": "ok" | "not configured" | "down: ...", "broker": ...}."""
    cache_url = settings.REDIS_URL if settings.REDIS_URL else ""
    return {"database": database_check(), "redis": redis_check(cache_url), "broker": broker_check()}


def is_ready(checks: dict[str, str]) -> bool:
    return all(state in (OK, NOT_CONFIGURED) for state in checks.values())
