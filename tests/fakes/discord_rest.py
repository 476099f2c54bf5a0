"""The fake Discord's REST half: the `/api/v10/...` routes discord.py calls, answered as Discord does.

Kept apart from the gateway (tests/fakes/discord_gateway.py) because this is where the adapter's
correctness is checked: login, application info, command sync, interaction callbacks, interaction
webhooks, DMs and channel messages, with Discord's refusals where the adapter depends on them:
- interaction callbacks return the `with_response` body; a second callback is 40060, and one later
  than 3 s after the interaction was pushed is 10062 "Unknown interaction";
- after a thinking defer (type 5) the first followup fills the loading message and keeps its
  ephemeral flag; after a deferred update (type 6) `@original` is the message the button is on;
- message limits and the command-schema rules (tests/fakes/discord_wire.py) are checked and
  refused with 50035, as Discord does;
- every response is `Content-Type: application/json` exactly (discord.py compares the header).
Every call is recorded as a `Call` (tests/fakes/discord_state.py), failures can be queued with
`fail_next`.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict, deque
from typing import Any

from aiohttp import web

from tests.fakes.discord_state import Call, DiscordState, Interaction
from tests.fakes.discord_wire import (
    APP_ID,
    BOT_USER,
    EPHEMERAL,
    INTERACTION_TTL,
    LOADING,
    SUPPRESS_NOTIFICATIONS,
    ApiError,
    check_commands,
    check_message,
    iso_now,
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


class DiscordRest(DiscordState):
    """Serves `/api/v10/{tail}` (see `_ROUTES`); a route's handler is the method `_r_{route}`."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self._failures: dict[str, deque[ApiError]] = defaultdict(deque)

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def fail_next(self, route: str, status: int, code: int, message: str, *, times: int = 1,
                  body: dict[str, Any] | None = None) -> None:
        """Refuse the next `times` calls of `route` the way Discord would (403 50007, 429 …)."""
        for _ in range(times):
            self._failures[route].append(ApiError(status, code, message, body))

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
