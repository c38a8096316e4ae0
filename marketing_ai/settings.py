"""The only settings module. Everything comes from the environment (and `.env` when present).

With nothing set the app runs on the embedded default (DESIGN §9): SQLite, the in-memory channel
layer, eager Celery, the local-memory cache and the offline `local` AI provider.
"""

import hashlib
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from redis.backoff import NoBackoff
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-local-only")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)
# Proxies whose X-Forwarded-For is believed (the WSGI entry point, the stream process `marketing_ai.serve`; uvicorn
# and gunicorn read the same variable).
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "channels",
    "django_celery_beat",
    "accounts",
    "integrations",
    "ai",
    "chat",
    "campaigns",
    "monitoring",
]

MIDDLEWARE = [
    "monitoring.middleware.RequestMonitoringMiddleware",  # first: a request id and a timing for every answer
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "marketing_ai.middleware.ApiBodyLimitMiddleware",
    "marketing_ai.middleware.UnstorableQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentWorkspaceMiddleware",
    "marketing_ai.middleware.ApplicationErrorPageMiddleware",
]

ROOT_URLCONF = "marketing_ai.urls"
WSGI_APPLICATION = "marketing_ai.wsgi.application"
ASGI_APPLICATION = "marketing_ai.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "accounts.context_processors.policy",
            ],
        },
    }
]

# Database: SQLite by default (also when DATABASE_URL is set but empty); DATABASE_URL=postgres://... switches to
# PostgreSQL.
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if DATABASE_IS_POSTGRES:
    # A psycopg pool keeps connections warm for ASGI requests (which cannot reuse CONN_MAX_AGE).
    if env.bool("DATABASE_POOL", default=False):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20}
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
else:
    # WAL + IMMEDIATE transactions: concurrent writers wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests run on a file in WAL mode, like the app. Django's default in-memory test database shares one cache
    # between threads, where a write to a table another thread is reading fails with "database table is locked"
    # without waiting (SQLITE_LOCKED ignores the timeout): a live page's refresh broke a job's end in browser tests.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGOUT_REDIRECT_URL = "accounts:landing"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve static/ and vendor files straight from the finders too, so pages work without collectstatic
# (browser tests, a fresh clone); collected files in STATIC_ROOT are used when present.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Uploaded files for analysis (ai/files) live in their own storage, outside MEDIA_ROOT: nothing serves them
# by path, only the short-lived signed links of ai/files/signing.py. A local folder by default; any
# S3-compatible store by setting FILES_STORAGE_BACKEND (e.g. storages.backends.s3.S3Storage, from
# django-storages) and its FILES_STORAGE_OPTIONS as JSON (bucket_name, endpoint_url, ...).
FILES_ROOT = env.path("FILES_ROOT", default=BASE_DIR / "var" / "files")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "files": {
        "BACKEND": env.str("FILES_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("FILES_STORAGE_OPTIONS", default={"location": str(FILES_ROOT), "base_url": None}),
    },
}
FILES_MAX_BYTES = env.int("FILES_MAX_BYTES", default=64 * 1024 * 1024)
FILES_WORKSPACE_QUOTA_BYTES = env.int("FILES_WORKSPACE_QUOTA_BYTES", default=1024 * 1024 * 1024)
FILES_URL_MAX_AGE = env.int("FILES_URL_MAX_AGE", default=300)  # seconds a download link stays valid

# Request size limits (the collect endpoint allows 1 MB; brand assets and files are uploaded as multipart).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# A multipart body carries the largest file plus its form fields and boundaries.
API_MAX_UPLOAD_BYTES = env.int("API_MAX_UPLOAD_BYTES", default=max(10 * 1024 * 1024, FILES_MAX_BYTES + 64 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Redis: channel layer, Celery broker and cache move there when REDIS_URL is set.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # redis-py 8 reads with a 5 s socket timeout by default, the same as channels_redis's 5 s BZPOPMIN: an idle
    # consumer's receive then fails with TimeoutError. A longer socket timeout lets BZPOPMIN return first.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "marketing_ai.caching.RedisCache",
            "LOCATION": REDIS_URL,
            # Fail in a second, not after redis-py's retries: callers fall back (marketing_ai/caching.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2, "retry": Retry(NoBackoff(), 0)},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
# Seconds during which a cache that just failed is not asked again (its callers fall back meanwhile).
CACHE_RETRY_SECONDS = env.float("CACHE_RETRY_SECONDS", default=5.0)
# Jobs record their state in their own rows: no result backend, whose reconnect loop (20 tries, ~19 s) stalled
# every job start while Redis was down.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A job start publishes once more at most and gives up within seconds: the caller answers 503 (DESIGN §9).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
# Jobs survive dead workers: a running job writes a heartbeat every JOB_HEARTBEAT_SECONDS; one silent for
# JOB_STALE_SECONDS is re-queued from its checkpoint by beat (integrations.tasks.jobs_recover_task), up to
# JOB_MAX_RECOVERIES times, then failed with the reason. The broker redelivers an unacknowledged task after the
# visibility timeout (a backstop for beat; a redelivered task of a job that is still alive does nothing).
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=10)
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=60)
JOB_MAX_RECOVERIES = env.int("JOB_MAX_RECOVERIES", default=3)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * JOB_STALE_SECONDS, "socket_connect_timeout": 2}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}
# Shopify webhooks are at-least-once and sometimes missed: a periodic sync of active pull sources reconciles.
CELERY_BEAT_SCHEDULE["integrations-sync-active-sources"] = {
    "task": "integrations.tasks.sources_sync_due_task",
    "schedule": timedelta(minutes=env.int("SOURCE_SYNC_INTERVAL_MINUTES", default=30)),
}
CELERY_BEAT_SCHEDULE["integrations-recover-stale-jobs"] = {
    "task": "integrations.tasks.jobs_recover_task",
    "schedule": timedelta(seconds=max(5, JOB_STALE_SECONDS // 2)),
}
# The dashboard's default range is answered from a per-customer window kept on ingest; a new day (in each
# workspace's analysis time zone) or a threshold change makes it stale until this rebuilds it
# (integrations/window.py; meanwhile the overview aggregates the day rollups).
CELERY_BEAT_SCHEDULE["integrations-windows-rebuild"] = {
    "task": "integrations.tasks.windows_rebuild_due_task",
    "schedule": timedelta(minutes=env.int("WINDOW_REBUILD_MINUTES", default=5)),
}
# Custom ranges read per-day customer sets; stores and repairs delete those of the days they change and this
# builds them again (integrations/daysets.py; meanwhile the overview builds a missing day's in memory).
CELERY_BEAT_SCHEDULE["integrations-daysets-build"] = {
    "task": "integrations.tasks.daysets_build_due_task",
    "schedule": timedelta(minutes=5),
}
# Identity stitching in the pipeline's customer step (integrations/identity.py); off only to measure its cost.
IDENTITY_STITCHING = env.bool("IDENTITY_STITCHING", default=True)
# Product recommendations (integrations/recommendations/): refreshed this often for workspaces with new events;
# a pair of products counts once at least this many customers bought (viewed) both.
RECOMMENDATIONS_REFRESH_MINUTES = env.int("RECOMMENDATIONS_REFRESH_MINUTES", default=15)
RECOMMENDATION_MIN_SUPPORT = env.int("RECOMMENDATION_MIN_SUPPORT", default=2)
RECOMMENDATIONS_MAX = 50  # products per customer or segment the API pages through
CELERY_BEAT_SCHEDULE["integrations-recommendations-refresh"] = {
    "task": "integrations.tasks.recommendations_refresh_due_task",
    "schedule": timedelta(minutes=RECOMMENDATIONS_REFRESH_MINUTES),
}
# Retention: ended login sessions, finished jobs and webhook delivery records are purged once this old.
RETENTION_DAYS = env.int("RETENTION_DAYS", default=90)
CELERY_BEAT_SCHEDULE["ai-files-recover-stale"] = {
    "task": "ai.files.tasks.files_recover_task",
    "schedule": timedelta(seconds=max(5, JOB_STALE_SECONDS // 2)),
}
CELERY_BEAT_SCHEDULE["accounts-purge"] = {
    "task": "accounts.tasks.accounts_purge_task",
    "schedule": crontab(minute=0, hour=3),
}
# The events table's month partitions (PostgreSQL): beat keeps those of this many months before and after the
# current one, moves what the default partition caught into partitions of its own, applies each workspace's event
# retention and drops older partitions left empty (integrations/partitions.py, integrations/retention.py).
EVENT_PARTITIONS_AHEAD = env.int("EVENT_PARTITIONS_AHEAD", default=3)
EVENT_PARTITIONS_BEHIND = env.int("EVENT_PARTITIONS_BEHIND", default=3)
CELERY_BEAT_SCHEDULE["integrations-event-store"] = {
    "task": "integrations.tasks.event_store_maintain_task",
    "schedule": crontab(hour=2, minute=45),
}
CELERY_BEAT_SCHEDULE["integrations-purge-jobs"] = {
    "task": "integrations.tasks.jobs_purge_task",
    "schedule": crontab(hour=3, minute=15),
}
# Saved audiences are re-evaluated when older than AUDIENCE_REFRESH_MINUTES (checked every 15 minutes).
AUDIENCE_REFRESH_MINUTES = env.int("AUDIENCE_REFRESH_MINUTES", default=360)
CELERY_BEAT_SCHEDULE["integrations-refresh-audiences"] = {
    "task": "integrations.tasks.audiences_refresh_due_task",
    "schedule": timedelta(minutes=15),
}
# Predictions: every customer is rescored nightly (recency moves with the calendar); customers of a stored batch
# are rescored at once when the batch has at most PREDICTIONS_RESCORE_MAX_CUSTOMERS of them (imports wait for night).
PREDICTIONS_MIN_CUSTOMERS = env.int("PREDICTIONS_MIN_CUSTOMERS", default=100)
PREDICTIONS_MIN_BUYERS = env.int("PREDICTIONS_MIN_BUYERS", default=10)
PREDICTIONS_MIN_EVENTS = env.int("PREDICTIONS_MIN_EVENTS", default=2)
PREDICTIONS_RESCORE_MAX_CUSTOMERS = env.int("PREDICTIONS_RESCORE_MAX_CUSTOMERS", default=1000)
CELERY_BEAT_SCHEDULE["ai-predictions-rescore"] = {
    "task": "ai.predictions.tasks.predictions_rescore_task",
    "schedule": crontab(hour=2, minute=30),
}
# Campaigns: overdue approval steps escalate.
CELERY_BEAT_SCHEDULE["campaigns-escalate-approvals"] = {
    "task": "campaigns.tasks.approval_escalate_task",
    "schedule": timedelta(minutes=15),
}
CELERY_BEAT_SCHEDULE["campaigns-publications-due"] = {
    "task": "campaigns.tasks.publications_due_task",
    "schedule": timedelta(minutes=1),
}
# AI usage summaries are rebuilt nightly (idempotent upsert). The entry keeps its first name: the database
# scheduler updates a stored entry of that name, where a new name would leave the old one calling nothing.
CELERY_BEAT_SCHEDULE["campaigns-usage-aggregate"] = {
    "task": "ai.tasks.usage_aggregate_task",
    "schedule": crontab(hour=0, minute=30),
}

# Operations (monitoring/): /metrics answers a scraper sending `Authorization: Bearer <METRICS_TOKEN>` (or a
# signed-in staff member); with PROMETHEUS_MULTIPROC_DIR set, gunicorn's workers share their counters.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
REQUEST_METRICS = env.bool("REQUEST_METRICS", default=True)  # off: no per-request counting (request ids stay)
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
MONITORING_RETENTION_DAYS = env.int("MONITORING_RETENTION_DAYS", default=14)
# Alert rules (monitoring/alerts.py), over the last ALERT_WINDOW_MINUTES.
ALERT_WINDOW_MINUTES = env.int("ALERT_WINDOW_MINUTES", default=10)
ALERT_ERROR_RATE = env.float("ALERT_ERROR_RATE", default=0.05)
ALERT_ERROR_MIN_COUNT = env.int("ALERT_ERROR_MIN_COUNT", default=10)
ALERT_PROVIDER_FAILURES = env.int("ALERT_PROVIDER_FAILURES", default=5)
ALERT_FAILED_LOGINS = env.int("ALERT_FAILED_LOGINS", default=50)
INGEST_SILENCE_MINUTES = env.int("INGEST_SILENCE_MINUTES", default=60)
CELERY_BEAT_SCHEDULE["monitoring-minute"] = {
    "task": "monitoring.tasks.monitoring_minute_task",
    "schedule": timedelta(minutes=1),
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool(
    "SESSION_COOKIE_SECURE", default=not DEBUG and not SECRET_KEY.startswith("django-insecure")
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS (README "Production"): redirect plain HTTP and send HSTS once the site is served only over TLS. Behind a
# TLS-terminating proxy the server must trust its forwarded scheme (`marketing_ai.serve --proxy-headers`).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes from inside the network

# Field encryption (provider keys, source secrets): comma-separated Fernet keys, newest first.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SessionJWTAuthentication",
        "accounts.authentication.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "marketing_ai.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "marketing_ai.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "accounts.schema.AutoSchema",  # unique names for nested Input/Output serializers
    "EXCEPTION_HANDLER": "marketing_ai.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Marketing AI API",
    "DESCRIPTION": "Data sources, analytics, chat and campaigns. JSON keys are camelCase.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation lists the error answers it can give (marketing_ai/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "marketing_ai.openapi.error_responses_document",
    ],
    # One name per choice set: several serializers share these (drf-spectacular W001 otherwise).
    "ENUM_NAME_OVERRIDES": {
        "ApproverRoleEnum": "campaigns.models.workflow.ApproverRole",
        "PlatformEnum": "campaigns.models.campaign.Platform",
        "CampaignStatusEnum": "campaigns.models.campaign.Campaign.Status",
        "ContentJobStatusEnum": "campaigns.models.campaign.ContentJob.Status",
        "BrandAssetKindEnum": "campaigns.models.campaign.BrandAsset.Kind",
        "JobStatusEnum": "integrations.models.SyncJob.Status",
        "JobKindEnum": "integrations.models.SyncJob.Kind",
        "AudiencePushModeEnum": "integrations.models.AudiencePush.Mode",
        "AudienceRefreshStatusEnum": "integrations.models.Audience.RefreshStatus",
    },
}

# Auth tokens (DESIGN §4): 15-minute access JWTs bound to a login session of 7 days.
ACCESS_TOKEN_LIFETIME = timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15))
LOGIN_SESSION_LIFETIME = timedelta(days=env.int("LOGIN_SESSION_DAYS", default=7))
# Seconds a Bearer token's session row (with its user and workspace) is kept in the shared cache, so that most
# API requests skip the database (accounts/session_lookup.py). Saves and revocations through the app forget it
# at once; a raw SQL change is seen within this time. 0 turns it off, the default without Redis: a process-local
# cache would keep a revoked session alive in the other processes.
AUTH_SESSION_CACHE_SECONDS = env.int("AUTH_SESSION_CACHE_SECONDS", default=30 if REDIS_URL else 0)
# HS256 wants a key of at least 32 bytes; by default derive one from SECRET_KEY.
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default=hashlib.sha256(SECRET_KEY.encode()).hexdigest())
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=300)
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=20)
# Password hashes (Argon2, ~100 MB and a core for ~0.2 s each) running at once per process; more are shed with 429.
PASSWORD_HASH_CONCURRENCY = env.int("PASSWORD_HASH_CONCURRENCY", default=1)
PASSWORD_HASH_WAIT_SECONDS = env.float("PASSWORD_HASH_WAIT_SECONDS", default=0.5)
# Password checks in progress per client IP and process (one per account): more are refused at once, so a flood
# from one address cannot crowd out everyone else's logins.
LOGIN_IP_HASH_CONCURRENCY = env.int("LOGIN_IP_HASH_CONCURRENCY", default=2)

# AI providers (DESIGN §7)
# The order the router tries providers in; those without a key (here or stored by the workspace) are skipped.
AI_PROVIDERS = env.list("AI_PROVIDERS", default=["groq", "openai", "gemini", "claude", "local"])
GROQ_API_KEY = env.str("GROQ_API_KEY", default="")
GROQ_BASE_URL = env.str("GROQ_BASE_URL", default="https://api.groq.com/openai/v1")
GROQ_MODEL = env.str("GROQ_MODEL", default="llama-3.3-70b-versatile")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
GEMINI_API_KEY = env.str("GEMINI_API_KEY", default="")
GEMINI_BASE_URL = env.str("GEMINI_BASE_URL", default="https://generativelanguage.googleapis.com/")
GEMINI_MODEL = env.str("GEMINI_MODEL", default="gemini-2.5-flash")
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="https://api.anthropic.com")
ANTHROPIC_MODEL = env.str("ANTHROPIC_MODEL", default="claude-haiku-4-5")
AI_REQUEST_TIMEOUT_SECONDS = env.float("AI_REQUEST_TIMEOUT_SECONDS", default=30.0)
AI_RATE_LIMIT_PER_MINUTE = env.int("AI_RATE_LIMIT_PER_MINUTE", default=60)
AI_RETRY_BACKOFF_SECONDS = env.float("AI_RETRY_BACKOFF_SECONDS", default=0.5)  # router: pause before the one retry
# A 429/503 whose Retry-After asks for a longer wait than this is not retried: the next provider answers at once.
AI_RETRY_MAX_WAIT_SECONDS = env.float("AI_RETRY_MAX_WAIT_SECONDS", default=5.0)

# Chat answers take the offline intent classifier's answer at or above this confidence and ask the model only
# below it (ai/intent/analysis.py: aintent_for_answer); above 1 the model is always asked first, 0 never.
INTENT_LOCAL_CONFIDENCE = env.float("INTENT_LOCAL_CONFIDENCE", default=0.97)

# External providers: every base URL is a setting so tests point it at a local fake server.
SHOPIFY_API_URL = env.str("SHOPIFY_API_URL", default="https://{shop}/admin/api/{version}")
SHOPIFY_API_VERSION = env.str("SHOPIFY_API_VERSION", default="2025-10")
META_GRAPH_URL = env.str("META_GRAPH_URL", default="https://graph.facebook.com/{version}")
META_GRAPH_VERSION = env.str("META_GRAPH_VERSION", default="v21.0")
META_TIMEOUT_SECONDS = env.float("META_TIMEOUT_SECONDS", default=20.0)
META_MAX_ATTEMPTS = env.int("META_MAX_ATTEMPTS", default=4)  # Graph calls retried on 429, 5xx and transient codes
META_BACKOFF_SECONDS = env.float("META_BACKOFF_SECONDS", default=1.0)
META_AUDIENCE_BATCH_SIZE = env.int("META_AUDIENCE_BATCH_SIZE", default=10_000)  # Meta's maximum rows per request
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")  # where Instagram can fetch a post's image from
PUBLISH_MAX_AHEAD = timedelta(days=75)
IMAGE_API_URL = env.str("IMAGE_API_URL", default="https://api.freepik.com/v1")
IMAGE_API_KEY = env.str("IMAGE_API_KEY", default="")
PLATFORM_INSIGHTS_URL = env.str("PLATFORM_INSIGHTS_URL", default="https://graph.facebook.com/{version}")

# Integrations: Shopify pull pacing, collect endpoint limits, pipeline batch size.
SHOPIFY_TIMEOUT_SECONDS = env.float("SHOPIFY_TIMEOUT_SECONDS", default=20.0)
SHOPIFY_PAGE_SIZE = env.int("SHOPIFY_PAGE_SIZE", default=100)
SHOPIFY_MAX_ATTEMPTS = env.int("SHOPIFY_MAX_ATTEMPTS", default=6)
SHOPIFY_MAX_BACKOFF_SECONDS = env.float("SHOPIFY_MAX_BACKOFF_SECONDS", default=30.0)
SHOPIFY_BACKOFF_SCALE = env.float("SHOPIFY_BACKOFF_SCALE", default=1.0)
SEGMENT_MAX_CALL_BYTES = env.int("SEGMENT_MAX_CALL_BYTES", default=32 * 1024)  # the Segment API's own limits
SEGMENT_MAX_BATCH_BYTES = env.int("SEGMENT_MAX_BATCH_BYTES", default=500 * 1024)
COLLECT_MAX_EVENTS = env.int("COLLECT_MAX_EVENTS", default=1000)
COLLECT_MAX_EVENT_BYTES = env.int("COLLECT_MAX_EVENT_BYTES", default=32 * 1024)
COLLECT_MAX_BODY_BYTES = env.int("COLLECT_MAX_BODY_BYTES", default=1024 * 1024)
COLLECT_RATE_LIMIT_REQUESTS = env.int("COLLECT_RATE_LIMIT_REQUESTS", default=600)
COLLECT_RATE_LIMIT_WINDOW_SECONDS = env.int("COLLECT_RATE_LIMIT_WINDOW_SECONDS", default=10)
COLLECT_MAX_IN_FLIGHT = env.int("COLLECT_MAX_IN_FLIGHT", default=16)
# A batch that waited longer than this behind the proxy (its X-Request-Start stamp) is answered 429 at once.
COLLECT_MAX_QUEUE_MS = env.int("COLLECT_MAX_QUEUE_MS", default=1000)
INGEST_BATCH_SIZE = env.int("INGEST_BATCH_SIZE", default=5000)
SOURCE_SYNC_INTERVAL_MINUTES = env.int("SOURCE_SYNC_INTERVAL_MINUTES", default=30)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Marketing AI <noreply@localhost>")

# Logs (monitoring/logs.py): every line carries its request id; LOG_FORMAT=json writes one JSON object per line.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "monitoring.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "monitoring.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # The HTTP clients log every request at INFO: a line per AI call and per chat answer, written from
        # the event loop. Their warnings and errors still show.
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ALGORITHM": "HS256",
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

# Real time (marketing_ai/live.py): live messages to open pages; at most one per stream and interval.
LIVE_UPDATES = env.bool("LIVE_UPDATES", default=True)
LIVE_MIN_INTERVAL_SECONDS = env.float("LIVE_MIN_INTERVAL_SECONDS", default=0.5)
# Invitations by e-mail link (accounts/invitations.py): how long a link works; the address links point to.
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
APP_BASE_URL = env.str("APP_BASE_URL", default=f"http://127.0.0.1:{PORT}")
