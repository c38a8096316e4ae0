"""WSGI entry point: pages and the REST API under gunicorn in production (DESIGN §9, README "Production").

Websockets and event streams are served by the ASGI application (`marketing_ai/asgi.py`), routed by path
at the proxy in front; `make run` serves everything from the ASGI process.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
django_application = get_wsgi_application()

from django.urls import get_resolver  # noqa: E402

# Import every view now, and the AI SDKs behind them (~3 s of CPU): gunicorn preloads this module, so its
# workers fork with them loaded instead of each paying for them on its first request.
get_resolver().check()

from marketing_ai.middleware import RequestBodyLimitWSGI  # noqa: E402

_limited_application = RequestBodyLimitWSGI(django_application)

from django.conf import settings  # noqa: E402 (configured by the line above)


def application(environ, start_response):
    """The Django app, with the client's address as the trusted proxy in front saw it.

    gunicorn leaves REMOTE_ADDR at the proxy's address (its `forwarded_allow_ips` only covers the scheme), while
    the session list, the audit log and the per-IP lockout need the client's: the last X-Forwarded-For entry,
    appended by a proxy listed in FORWARDED_ALLOW_IPS (the stream process's --proxy-headers does the same).
    """
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if forwarded and environ.get("REMOTE_ADDR") in settings.FORWARDED_ALLOW_IPS:
        environ["REMOTE_ADDR"] = forwarded.rsplit(",", 1)[-1].strip()
    return _limited_application(environ, start_response)
