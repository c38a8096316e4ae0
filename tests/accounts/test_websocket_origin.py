"""The websocket origin check: browsers from elsewhere are refused, API clients without Origin are not."""

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator

from accounts.websocket_auth import BrowserOriginValidator

# No query is made, but Channels closes stale database connections around every consumer event, and a
# connection left by an earlier async test counts as database access.
pytestmark = pytest.mark.django_db


class _Accepting(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()


async def _connects(headers: list[tuple[bytes, bytes]]) -> bool:
    communicator = WebsocketCommunicator(BrowserOriginValidator(_Accepting.as_asgi()), "/ws/x/", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


async def test_an_api_client_sending_no_origin_is_admitted():
    assert await _connects([])


async def test_a_page_of_our_own_host_is_admitted(settings):
    settings.ALLOWED_HOSTS = ["app.example.test"]
    assert await _connects([(b"origin", b"https://app.example.test")])


async def test_a_page_of_another_site_is_refused(settings):
    settings.ALLOWED_HOSTS = ["app.example.test"]
    assert not await _connects([(b"origin", b"https://evil.example.net")])
