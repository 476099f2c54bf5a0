"""The fake Discord's gateway half: the `/gw` websocket, and the events tests push through it.

Kept apart from the REST routes (tests/fakes/discord_rest.py): this is the session discord.py keeps
open (HELLO, heartbeat ACK, IDENTIFY → READY and the desk's guild) and the user's side of a
conversation: `slash`, `autocomplete` and `click` push an INTERACTION_CREATE (shaped by
tests/fakes/discord_wire.py) and return the `Interaction` the REST half then records calls on;
`push` sends any DISPATCH and `drop` closes the connections with a close code.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_state import DiscordState, Interaction
from tests.fakes.discord_wire import (
    APP_ID,
    BOT_USER,
    DESK_CHANNEL,
    GUILD,
    GUILD_ID,
    interaction_payload,
    option_type,
)


class DiscordGateway(DiscordState):
    """Serves `/gw`; every IDENTIFY is recorded in `identifies`, every frame in `gateway_received`."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self._seq = itertools.count(1)

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gw"

    @property
    def connections(self) -> int:
        """Gateway websockets open right now."""
        return len(self._sockets)

    async def wait_connected(self, *, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: bool(self._sockets) and bool(self.identifies), timeout=timeout)

    # ------------------------------------------------------------------ pushing events

    async def push(self, event: str, data: dict[str, Any]) -> None:
        """A gateway DISPATCH to every connected client."""
        frame = json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})
        for ws in list(self._sockets):
            await ws.send_str(frame)

    async def drop(self, code: int) -> None:
        """Close every gateway connection with a close code (4004: authentication failed …)."""
        for ws in list(self._sockets):
            await ws.close(code=code, message=b"closed by the fake")

    def _interaction(self, type_: int, user_id: int | str, data: dict[str, Any], *, channel_id: str | None,
                     dm: bool, message: dict[str, Any] | None = None, created: float | None = None) -> dict[str, Any]:
        cid = channel_id or (self.dm_channel(user_id) if dm else DESK_CHANNEL)
        return interaction_payload(type_, user_id, data, channel_id=cid, dm=dm, message=message, created=created)

    async def _push_interaction(self, payload: dict[str, Any], original_id: str | None = None) -> Interaction:
        ix = Interaction(payload["id"], payload["token"], payload, time.monotonic(), original_id=original_id)
        self.interactions[ix.token] = ix
        await self.push("INTERACTION_CREATE", payload)
        return ix

    async def slash(self, user_id: int | str, name: str, options: dict[str, Any] | None = None, *,
                    dm: bool = False, channel_id: str | None = None) -> Interaction:
        """`user_id` runs `/name` with `options` ({option: value}, in the order given)."""
        command = self._command(name)
        opts = [{"name": k, "type": option_type(command, k), "value": v} for k, v in (options or {}).items()]
        data = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self._push_interaction(self._interaction(2, user_id, data, channel_id=channel_id, dm=dm))

    async def autocomplete(self, user_id: int | str, name: str, options: dict[str, Any], focused: str) -> Interaction:
        command = self._command(name)
        opts = [{"name": k, "type": option_type(command, k), "value": v, **({"focused": True} if k == focused
                                                                                 else {})}
                for k, v in options.items()]
        data = {"id": command["id"], "name": name, "type": 1, "options": opts}
        return await self._push_interaction(self._interaction(4, user_id, data, channel_id=None, dm=False))

    async def click(self, user_id: int | str, message: dict[str, Any], custom_id: str, *,
                    created: float | None = None) -> Interaction:
        """`user_id` presses the button `custom_id` on `message` (as the fake stores it), where it was sent;
        `created` (a Unix time) backdates the interaction's id, as a press delivered late would carry."""
        dm = message["channel_id"] in self.dm_channels.values()
        payload = self._interaction(3, user_id, {"custom_id": custom_id, "component_type": 2},
                                    channel_id=message["channel_id"], dm=dm, message=message, created=created)
        return await self._push_interaction(payload, original_id=message["id"])

    def _command(self, name: str) -> dict[str, Any]:
        for schema in self.commands.values():
            for command in schema:
                if command["name"] == name:
                    return command
        raise KeyError(f"/{name} was never synced")

    # ------------------------------------------------------------------ the websocket

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.gateway_received.append(frame)
                if frame["op"] == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif frame["op"] == 2:
                    self.identifies.append(frame["d"])
                    await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": {
                        "v": 10, "user": BOT_USER, "session_id": secrets.token_hex(8),
                        "resume_gateway_url": self.gateway_url, "guilds": [{"id": GUILD_ID, "unavailable": True}],
                        "application": {"id": APP_ID, "flags": 0}, "private_channels": []}}))
                    if frame["d"].get("intents", 0) & 1:  # GUILDS: the guild follows, with its channels
                        await ws.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq),
                                                      "d": GUILD}))
                    await self._notify()
        finally:
            self._sockets.discard(ws)
            await self._notify()
        return ws
