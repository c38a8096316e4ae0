"""WSGI entry point: pages and the REST API under gunicorn in production (DESIGN §9, README "Production").

Websockets and event streams are served by the ASGI application (`marketing_ai/asgi.py`), routed by path
at the proxy in front; `make run` serves everything from the ASGI process.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
application = get_wsgi_application()
