"""ASGI entry point: HTTP through Django, websockets through Channels (DESIGN §6)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
django_asgi_app = get_asgi_application()  # builds the app (and loads models) before routing imports

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.websocket_auth import BrowserOriginValidator, JWTOrSessionAuthMiddlewareStack  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(JWTOrSessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

import ai.intent.analysis  # noqa: E402, F401 (what the first answer would import: below, it is frozen too)
import ai.router  # noqa: E402, F401

# Everything loaded so far (Django, the apps, the libraries) lives as long as the process: out of the
# garbage collector's sight, a full collection scans only what the requests and answers allocate. Before,
# one paused the event loop for 40-110 ms, every chat's chunks with it (bench/chat.py at 200 chats).
gc.collect()
gc.freeze()
