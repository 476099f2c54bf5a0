"""A fake Discord (REST API + gateway websocket) on 127.0.0.1:0, so the real discord.py 2.7 client runs offline.

dpytest cannot drive slash commands or components (shared/reference/offline-testing.md §2), so this
is ours: one aiohttp app serving `/api/v10/...` (login, application info, command sync, interaction
callbacks, interaction webhooks, DMs, channel messages) and `/gw` (HELLO, heartbeat ACK, IDENTIFY →
READY, then whatever the test pushes). It answers the way Discord does where the adapter's
correctness depends on it:
- interaction callbacks return the `with_response` body; a second callback is 40060, and one later
  than 3 s after the interaction was pushed is 10062 "Unknown interaction";
- after a thinking defer (type 5) the first followup fills the loading message and keeps its
  ephemeral flag; after a deferred update (type 6) `@original` is the message the button is on;
- message limits and the command-schema rules (tests/fakes/discord_wire.py) are checked and
  refused with 50035, as Discord does;
- every response is `Content-Type: application/json` exactly (discord.py compares the header).

Every REST call is recorded (`Call`), every pushed interaction too (`Interaction`, with the calls
made on its token). Tests wait with `wait_until` / `wait_for` / `wait_replies`, woken by the server
as calls complete; nothing sleep-polls.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_wire import (
    APP_ID,
    BOT_USER,
    DEFAULT_TOKEN,
    DESK_CHANNEL,
    EPHEMERAL,
    GUILD,
    GUILD_ID,
    INTERACTION_TTL,
    LOADING,
    SUPPRESS_NOTIFICATIONS,
    ApiError,
    check_commands,
    check_message,
    interaction_payload,
    iso_now,
    option_type,
    pinged,
    public,
    snowflake,
    user,
)

_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(f"^{pattern}$"), name) for method, pattern, name in (
        ("GET", r"/users/@me", "get_me"),
        ("GET", r"/oauth2/applications/@me", "app_info"),
        ("PUT", r"/applications/(?P<app>\d+)(?:/guilds/(?P<guild>\d+))?/commands", "sync_commands"),
        ("POST", r"/interactions/(?P<iid>\d+)/(?P<tok>[^/]+)/callback", "interaction_callback"),
        ("POST", r"/webhooks/(?P<app>\d+)/(?P<tok>[^/]+)", "followup"),
        ("PATCH", r"/webhooks/(?P<app>\d+)/(?P<tok>[^/]+)/messages/(?P<mid>@original|\d+)", "edit_response"),
        ("DELETE", r"/webhooks/(?P<app>\d+)/(?P<tok>[^/]+)/messages/(?P<mid>@original|\d+)", "delete_response"),
        ("POST", r"/users/@me/channels", "create_dm"),
        ("POST", r"/channels/(?P<cid>\d+)/messages", "create_message"),
        ("PATCH", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", "edit_message"),
    ))


@dataclass
class Call:
    """One REST call as the fake saw it; `status` ≥ 400 when it was refused."""

    route: str
    method: str
    path: str
    body: Any
    query: dict[str, str]
    status: int = 200
    result: Any = None
    interaction: Interaction | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status < 400


@dataclass
class Interaction:
    """An interaction pushed over the gateway, and what the bot did with its token."""

    id: str
    token: str
    payload: dict[str, Any]
    pushed_at: float
    calls: list[Call] = field(default_factory=list)
    original_id: str | None = None  # the response message, or the message a pressed button is on
    followups: list[str] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None  # an autocomplete answer
    edited_original: bool = False

    @property
    def acknowledged(self) -> bool:
        return any(c.route == "interaction_callback" and c.ok for c in self.calls)

    @property
    def first_response_at(self) -> float | None:
        return next((c.at for c in self.calls if c.route == "interaction_callback"), None)



class FakeDiscord:
    """`async with FakeDiscord() as fake:` then point discord.py at `fake.api_base_url` / `fake.gateway_url`."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.interactions: dict[str, Interaction] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.commands: dict[str | None, list[dict[str, Any]]] = {}  # guild id (None: global) -> schema
        self.dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self.identifies: list[dict[str, Any]] = []
        self.gateway_received: list[dict[str, Any]] = []
        self._failures: dict[str, deque[ApiError]] = defaultdict(deque)
        self._sockets: set[web.WebSocketResponse] = set()
        self._seq = itertools.count(1)
        self._cond = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gw", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gw"

    # ------------------------------------------------------------------ test controls and waiting

    def fail_next(self, route: str, status: int, code: int, message: str, *, times: int = 1,
                  body: dict[str, Any] | None = None) -> None:
        """Refuse the next `times` calls of `route` the way Discord would (403 50007, 429 …)."""
        for _ in range(times):
            self._failures[route].append(ApiError(status, code, message, body))

    def calls_of(self, route: str, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if c.route == route and (ok is None or c.ok is ok)]

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], *, timeout: float = 5.0) -> Any:
        """Until `predicate()` is truthy (re-checked whenever the fake handles something); returns it."""
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(predicate), timeout)
        return predicate()

    async def wait_for(self, route: str, count: int = 1, *, timeout: float = 5.0) -> list[Call]:
        """The first `count` completed calls of `route`, waiting for them to happen."""
        await self.wait_until(lambda: len(self.calls_of(route)) >= count, timeout=timeout)
        return self.calls_of(route)[:count]

    @property
    def connections(self) -> int:
        """Gateway websockets open right now."""
        return len(self._sockets)

    async def wait_connected(self, *, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: bool(self._sockets) and bool(self.identifies), timeout=timeout)

    async def wait_replies(self, ix: Interaction, count: int = 1, *, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The messages a user sees in answer to `ix` (see `replies`), once there are `count` of them."""
        await self.wait_until(lambda: len(self.replies(ix)) >= count, timeout=timeout)
        return self.replies(ix)

    # ------------------------------------------------------------------ what the bot did

    def replies(self, ix: Interaction) -> list[dict[str, Any]]:
        """Settled answers to `ix`: its response message (or, for a press, the pressed message if this
        interaction edited it) unless deleted or still loading, then its followups."""
        out = []
        original = self.messages.get(ix.original_id or "")
        created_here = ix.payload["type"] != 3
        if original is not None and ix.original_id not in self.deleted and not original["flags"] & LOADING \
                and (created_here or ix.edited_original):
            out.append(original)
        out += [self.messages[m] for m in ix.followups if m not in self.deleted]
        return out

    def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for mid, m in self.messages.items() if m["channel_id"] == channel_id and mid not in self.deleted]

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for row in message.get("components", []) for c in row.get("components", [])]

    @staticmethod
    def text_of(message: dict[str, Any]) -> str:
        """Everything a reader sees in a message, as plain text (content, then each embed)."""
        parts = [message.get("content") or ""]
        for e in message.get("embeds", []):
            parts += [e.get("author", {}).get("name", ""), e.get("title", "")]
            parts += [f"{f['name']}: {f['value']}" for f in e.get("fields", [])]
            parts += [e.get("description", ""), e.get("footer", {}).get("text", "")]
        return "\n".join(p for p in parts if p)

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

    def dm_channel(self, user_id: int | str) -> str:
        return self.dm_channels.setdefault(str(user_id), snowflake())

    def _interaction(self, type_: int, user_id: int | str, data: dict[str, Any], *, channel_id: str | None,
                     dm: bool, message: dict[str, Any] | None = None) -> dict[str, Any]:
        cid = channel_id or (self.dm_channel(user_id) if dm else DESK_CHANNEL)
        return interaction_payload(type_, user_id, data, channel_id=cid, dm=dm, message=message)

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

    async def click(self, user_id: int | str, message: dict[str, Any], custom_id: str) -> Interaction:
        """`user_id` presses the button `custom_id` on `message` (as the fake stores it), where it was sent."""
        dm = message["channel_id"] in self.dm_channels.values()
        payload = self._interaction(3, user_id, {"custom_id": custom_id, "component_type": 2},
                                    channel_id=message["channel_id"], dm=dm, message=message)
        return await self._push_interaction(payload, original_id=message["id"])

    def _command(self, name: str) -> dict[str, Any]:
        for schema in self.commands.values():
            for command in schema:
                if command["name"] == name:
                    return command
        raise KeyError(f"/{name} was never synced")

    # ------------------------------------------------------------------ gateway

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

    # ------------------------------------------------------------------ REST

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        route, match = next(((name, m) for method, pattern, name in _ROUTES
                             if method == request.method and (m := pattern.match(path))), ("unknown", None))
        body = await _body(request)
        call = Call(route, request.method, path, body, dict(request.query))
        token = match.group("tok") if match is not None and "tok" in match.groupdict() else None
        if token is not None:
            call.interaction = self.interactions.get(token)
        try:
            if match is None:
                raise ApiError(404, 0, "404: Not Found")
            if token is None and route != "unknown" and request.headers.get("Authorization") != f"Bot {self.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            failures = self._failures.get(route)
            if failures:
                raise failures.popleft()
            handler = getattr(self, f"_r_{route}")
            call.result = await handler(call, **match.groupdict())
            call.status = 204 if call.result is None else 200
        except ApiError as exc:
            call.status = exc.status
            call.result = {"message": exc.message, "code": exc.code, **exc.body}
        self.calls.append(call)
        if call.interaction is not None:
            call.interaction.calls.append(call)
        await self._notify()
        if call.status == 204:
            return web.Response(status=204)
        headers = {"Content-Type": "application/json"}  # exactly: discord.py compares the header
        if call.status == 429:  # a rate limit (not a Cloudflare ban): discord.py waits and retries
            headers.update({"Via": "1.1 google", "X-RateLimit-Scope": "user",
                            "Retry-After": str(call.result.get("retry_after", 0))})
        return web.Response(body=json.dumps(call.result).encode(), status=call.status, headers=headers)

    async def _r_get_me(self, call: Call) -> dict[str, Any]:
        return BOT_USER

    async def _r_app_info(self, call: Call) -> dict[str, Any]:
        return {"id": APP_ID, "name": "Desk", "description": "", "icon": None, "bot_public": False,
                "bot_require_code_grant": False, "owner": user(1), "verify_key": "0" * 64, "flags": 0,
                "interactions_endpoint_url": None}

    async def _r_sync_commands(self, call: Call, app: str, guild: str | None) -> list[dict[str, Any]]:
        schema = [dict(c, id=snowflake(), application_id=app, version="1", **({"guild_id": guild} if guild else {}))
                  for c in check_commands(call.body)]
        self.commands[guild] = schema
        return schema

    async def _r_interaction_callback(self, call: Call, iid: str, tok: str) -> dict[str, Any] | None:
        ix = call.interaction
        if ix is None or ix.id != iid or time.monotonic() - ix.pushed_at > INTERACTION_TTL:
            raise ApiError(404, 10062, "Unknown interaction")
        if ix.acknowledged:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        kind, data = call.body["type"], call.body.get("data") or {}
        message = None
        if kind in (4, 5):
            flags = (data.get("flags", 0) & (EPHEMERAL | SUPPRESS_NOTIFICATIONS)) | (LOADING if kind == 5 else 0)
            message = self._store(ix.payload["channel_id"], {**data, "flags": flags}, interaction=ix,
                                  loading=kind == 5)
            ix.original_id = message["id"]
        elif kind == 6 and ix.payload["type"] == 3:
            pass
        elif kind == 7 and ix.payload["type"] == 3:
            message = self._edit(self._message(ix.original_id), data)
            ix.edited_original = True
        elif kind == 8 and ix.payload["type"] == 4:
            ix.choices = list(data.get("choices", []))
            if len(ix.choices) > 25:
                raise ApiError(400, 50035, "Invalid Form Body: choices: at most 25")
        else:
            raise ApiError(400, 50035, f"Invalid Form Body: callback type {kind}")
        if call.query.get("with_response") not in ("1", "true", "True"):
            return None
        return {"interaction": {"id": ix.id, "type": ix.payload["type"], "response_message_id": ix.original_id,
                                "response_message_loading": kind == 5,
                                "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL)},
                "resource": {"type": kind, **({"message": public(message)} if message else {})}}

    def _interaction_of(self, call: Call) -> Interaction:
        if call.interaction is None or not call.interaction.acknowledged:
            raise ApiError(404, 10015, "Unknown Webhook")
        return call.interaction

    async def _r_followup(self, call: Call, app: str, tok: str) -> dict[str, Any]:
        ix = self._interaction_of(call)
        original = self.messages.get(ix.original_id or "")
        if original is not None and original["flags"] & LOADING and ix.original_id not in self.deleted:
            # Discord: the first followup after a thinking defer fills it, keeping its ephemeral flag.
            return public(self._edit(original, {k: v for k, v in call.body.items() if k != "flags"}))
        message = self._store(ix.payload["channel_id"], call.body, interaction=ix)
        ix.followups.append(message["id"])
        return public(message)

    def _response_message(self, call: Call, mid: str) -> dict[str, Any]:
        ix = self._interaction_of(call)
        target = ix.original_id if mid == "@original" else mid
        if target is None or (mid != "@original" and target not in ix.followups):
            raise ApiError(404, 10008, "Unknown Message")
        return self._message(target)

    async def _r_edit_response(self, call: Call, app: str, tok: str, mid: str) -> dict[str, Any]:
        message = self._response_message(call, mid)
        if mid == "@original":
            assert call.interaction is not None
            call.interaction.edited_original = True
        return public(self._edit(message, call.body))

    async def _r_delete_response(self, call: Call, app: str, tok: str, mid: str) -> None:
        self.deleted.add(self._response_message(call, mid)["id"])

    async def _r_create_dm(self, call: Call) -> dict[str, Any]:
        user_id = str(call.body["recipient_id"])
        return {"id": self.dm_channel(user_id), "type": 1, "recipients": [user(user_id)],
                "last_message_id": None}

    async def _r_create_message(self, call: Call, cid: str) -> dict[str, Any]:
        return public(self._store(cid, call.body))

    async def _r_edit_message(self, call: Call, cid: str, mid: str) -> dict[str, Any]:
        message = self._message(mid)
        if message["channel_id"] != cid:
            raise ApiError(404, 10008, "Unknown Message")
        if message["flags"] & EPHEMERAL:
            raise ApiError(404, 10008, "Unknown Message")  # ephemeral messages only through the interaction
        return public(self._edit(message, call.body))

    # ------------------------------------------------------------------ the message store

    def _message(self, mid: str | None) -> dict[str, Any]:
        if mid is None or mid not in self.messages or mid in self.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return self.messages[mid]

    def _store(self, channel_id: str, body: dict[str, Any], *, interaction: Interaction | None = None,
               loading: bool = False) -> dict[str, Any]:
        if not loading:
            check_message(body, creating=True)
        message: dict[str, Any] = {
            "id": snowflake(), "channel_id": channel_id, "type": 20 if interaction else 0,
            "content": body.get("content") or "", "embeds": body.get("embeds") or [],
            "components": body.get("components") or [], "author": BOT_USER, "mentions": [], "mention_roles": [],
            "attachments": [], "timestamp": iso_now(), "edited_timestamp": None, "flags": body.get("flags", 0),
            "pinned": False, "tts": False, "mention_everyone": False,
        }
        if interaction is not None and "guild_id" in interaction.payload:
            message["guild_id"] = interaction.payload["guild_id"]
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"]
        message["_pinged"] = pinged(message["content"], body.get("allowed_mentions"))
        self.messages[message["id"]] = message
        return message

    def _edit(self, message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        changed = {k: body[k] for k in ("content", "embeds", "components") if k in body}
        check_message({**{k: message[k] for k in ("content", "embeds", "components")}, **changed}, creating=False)
        for key, value in changed.items():
            message[key] = value if value is not None else ("" if key == "content" else [])
        message["flags"] &= ~LOADING
        message["edited_timestamp"] = iso_now()
        return message


async def _body(request: web.Request) -> Any:
    """discord.py sends JSON, or multipart with the JSON in `payload_json` (when files are attached)."""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        raw = form.get("payload_json")
        return json.loads(raw) if isinstance(raw, str) else {}
    raw_bytes = await request.read()
    return json.loads(raw_bytes) if raw_bytes else {}
