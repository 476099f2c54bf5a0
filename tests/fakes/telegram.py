"""A fake Telegram Bot API on 127.0.0.1:0, so the real python-telegram-bot `Application` runs offline.

No maintained package fakes the Bot API for PTB 22 (see shared/reference/offline-testing.md §1), so
this is ours: an aiohttp app serving `/bot{token}/{method}` with the few methods the adapter uses,
Telegram's error shapes (so PTB raises its real `RetryAfter`, `Forbidden`, `BadRequest`), and the
checks Telegram itself makes that catch rendering bugs (tests/fakes/telegram_wire.py): well-formed
HTML with the allowed tags only, ≤ 4096 characters after parsing, callback_data of 1–64 bytes,
"message is not modified".

Tests drive it with `push_update` (or the `command`/`press` builders of tests/fakes/telegram_updates.py)
and wait on `wait_for`, which is woken by the server as calls complete — nothing sleep-polls. Every
call is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.telegram_updates import TelegramUpdates
from tests.fakes.telegram_wire import (
    BOT_USER,
    DEFAULT_TOKEN,
    ApiError,
    check_commands,
    check_markup,
    check_text,
    json_response,
    public,
    read_params,
    scope_key,
)


@dataclass
class Call:
    """One Bot API call as the fake saw it; `error` is the error_code when it answered with an error."""

    method: str
    params: dict[str, Any]
    result: Any = None
    error: int | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.error is None


class FakeTelegram(TelegramUpdates):
    """The fake server. `async with FakeTelegram() as fake:` then point PTB at `fake.base_url`."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_user: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.token = token
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self.messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}  # scope key -> commands
        self.webhook: dict[str, Any] = {}
        self._failures: dict[str, deque[ApiError]] = defaultdict(deque)
        self._holds: dict[str, asyncio.Event] = {}
        self._arrivals: dict[str, int] = defaultdict(int)
        self._closing = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    async def close(self) -> None:
        self._closing.set()
        await self._notify()
        await super().close()

    @property
    def base_url(self) -> str:
        """What `ApplicationBuilder().base_url()` takes: PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ------------------------------------------------------------------ test controls

    def fail_next(self, method: str, error_code: int, description: str,
                  parameters: dict[str, Any] | None = None, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with a Bot API error (429 + retry_after, 403 …)."""
        for _ in range(times):
            self._failures[method].append(ApiError(error_code, description, parameters))

    def hold(self, method: str) -> None:
        """Calls of `method` wait (recorded as arrivals) until `release(method)`."""
        self._holds[method] = asyncio.Event()

    def release(self, method: str) -> None:
        event = self._holds.pop(method, None)
        if event is not None:
            event.set()

    def calls_of(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok is ok)]

    async def wait_for(self, method: str, count: int = 1, *, timeout: float = 5.0) -> list[Call]:
        """The first `count` completed calls of `method`, waiting for them to happen."""
        await self.wait_until(lambda: len(self.calls_of(method)) >= count, timeout=timeout)
        return self.calls_of(method)[:count]

    async def wait_arrivals(self, method: str, count: int = 1, *, timeout: float = 5.0) -> None:
        """Until `count` calls of `method` have arrived (held calls included)."""
        await self.wait_until(lambda: self._arrivals[method] >= count, timeout=timeout)

    # ------------------------------------------------------------------ views of what the bot did

    def sent(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Messages the bot has sent (current state, edits applied), oldest first."""
        return [m for (cid, _), m in sorted(self.messages.items(), key=lambda kv: kv[0][1])
                if chat_id is None or cid == chat_id]

    def scope_commands(self, scope: dict[str, Any] | None = None) -> list[str] | None:
        key = scope_key(scope)
        return [c["command"] for c in self.commands[key]] if key in self.commands else None

    # ------------------------------------------------------------------ the server

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        method = request.match_info["method"]
        params = await read_params(request)
        self._arrivals[method] += 1
        await self._notify()
        hold = self._holds.get(method)
        if hold is not None:
            await hold.wait()
        call = Call(method, params)
        try:
            failures = self._failures.get(method)
            if failures:
                raise failures.popleft()
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            call.result = await handler(params)
            body: dict[str, Any] = {"ok": True, "result": call.result}
            status = 200
        except ApiError as exc:
            call.error = exc.code
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            status = exc.code
        self.calls.append(call)
        await self._notify()
        return json_response(body, status)

    async def _m_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _m_deleteWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def _m_setWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = dict(p)
        return True

    async def _m_getWebhookInfo(self, p: dict[str, Any]) -> dict[str, Any]:
        """As Telegram answers it for a polling bot too: the webhook (if any) and the updates waiting."""
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    async def _m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = float(p.get("timeout") or 0)
        limit = int(p.get("limit") or 100)
        if not self.updates and timeout > 0 and not self._closing.is_set():
            async with self._cond:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cond.wait_for(lambda: bool(self.updates) or self._closing.is_set()),
                                           timeout)
        return self.updates[:limit]

    async def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = p["chat_id"]
        text = check_text(p)
        markup = check_markup(p.get("reply_markup"))
        chat = self.chats.get(chat_id) or (self.chat(chat_id) if isinstance(chat_id, int) else
                                           {"id": chat_id, "type": "channel", "title": str(chat_id)})
        msg: dict[str, Any] = {"message_id": next(self._message_ids), "from": self.bot_user, "chat": chat,
                               "date": int(time.time()), "text": text, "html": p.get("text")}
        if markup:
            msg["reply_markup"] = markup
        if p.get("message_thread_id") is not None:
            msg["message_thread_id"], msg["is_topic_message"] = p["message_thread_id"], True
        self.messages[(chat_id, msg["message_id"])] = msg
        return public(msg)

    def _stored(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self.messages.get((p.get("chat_id"), int(p.get("message_id") or 0)))
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return msg

    async def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._stored(p)
        text = check_text(p)
        markup = check_markup(p.get("reply_markup"))
        if p.get("text") == msg.get("html") and markup == msg.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        msg.update(text=text, html=p.get("text"), edit_date=int(time.time()))
        if markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        return public(msg)

    async def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._stored(p)
        markup = check_markup(p.get("reply_markup"))
        if markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        return public(msg)

    async def _m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        if len(str(p.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _m_setMyCommands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands") or []
        check_commands(commands)
        self.commands[scope_key(p.get("scope"))] = list(commands)
        return True

    async def _m_deleteMyCommands(self, p: dict[str, Any]) -> bool:
        self.commands.pop(scope_key(p.get("scope")), None)
        return True

    async def _m_getMyCommands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(scope_key(p.get("scope")), [])

