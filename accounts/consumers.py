"""Websocket `ws/live/`: one per open page, relaying the workspace's live messages (marketing_ai/live.py).

The session cookie (or `?token=<JWT>`) says who is there; the socket joins the group of the user's current
workspace and the user's own group (notifications). Anonymous or a bad token: 4401; no workspace: 4404.
"""

import asyncio

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from marketing_ai.db import db_sync_to_async
from marketing_ai.live import live_loop_register, user_group, workspace_group

from .selectors import membership_current_for_user

CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404


class LiveConsumer(AsyncJsonWebsocketConsumer):
    joined: tuple[str, ...] = ()

    async def connect(self):
        user = self.scope.get("user")
        if self.scope.get("auth_error") or user is None or not user.is_authenticated:
            return await self.close(code=CLOSE_UNAUTHORIZED)
        membership = await db_sync_to_async(membership_current_for_user)(user=user)
        if membership is None:
            return await self.close(code=CLOSE_NOT_FOUND)
        self.joined = (workspace_group(membership.workspace_id), user_group(user.id))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        live_loop_register(asyncio.get_running_loop())
        await self.accept()
        await self.send_json({"type": "hello", "data": {"workspaceId": membership.workspace_id}})

    async def disconnect(self, code):
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def live_message(self, event):
        await self.send_json(event["message"])
