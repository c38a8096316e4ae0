"""ASGI entry point: HTTP through Django, websockets through Channels (DESIGN §6)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
django_asgi_app = get_asgi_application()  # builds the app (and loads models) before routing imports

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.routing import websocket_urlpatterns as live_websockets  # noqa: E402
from accounts.websocket_auth import BrowserOriginValidator, JWTOrSessionAuthMiddlewareStack  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from marketing_ai.middleware import RequestBodyLimitASGI  # noqa: E402
from monitoring.metrics import WebsocketCounter  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimitASGI(django_asgi_app),
        "websocket": WebsocketCounter(
            BrowserOriginValidator(JWTOrSessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns + live_websockets)))
        ),
    }
)
