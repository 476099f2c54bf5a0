"""A fake Telegram Bot API on 127.0.0.1:0, so the real python-telegram-bot `Application` runs offline.

No maintained package fakes the Bot API for PTB 22 (see shared/reference/offline-testing.md §1), so
this is ours: an aiohttp app serving `/bot{token}/{method}` with the few methods the adapter uses,
Telegram's error shapes (so PTB raises its real `RetryAfter`, `Forbidden`, `BadRequest`), and the
checks Telegram itself makes that catch rendering bugs: well-formed HTML with the allowed tags only,
≤ 4096 characters after parsing, callback_data of 1–64 bytes, "message is not modified".

Tests drive it with `push_update` (or the `command`/`press` builders) and wait on `wait_for`, which
is woken by the server as calls complete — nothing sleep-polls. Every call is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "123456789:TEST-token-for-the-fake-bot-api_0123"
BOT_USER = {"id": 999000111, "is_bot": True, "first_name": "Desk", "username": "desk_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
MAX_TEXT = 4096
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code",
                "pre", "blockquote", "tg-emoji"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_STRING_FIELDS = {"text", "parse_mode", "callback_query_id", "url", "secret_token", "language_code",
                  "inline_message_id"}
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


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


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode, strictly: returns the plain text or raises ApiError(400)."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0

    def plain(chunk: str) -> str:
        if "<" in chunk or ">" in chunk:
            raise ApiError(400, "Bad Request: can't parse entities: unescaped < or >")
        rest = chunk
        while "&" in rest:
            i = rest.index("&")
            if not _ENTITY.match(rest, i):
                raise ApiError(400, "Bad Request: can't parse entities: unsupported entity")
            rest = rest[i + 1:]
        return html.unescape(chunk)

    for m in _TAG.finditer(text):
        out.append(plain(text[pos:m.start()]))
        pos = m.end()
        closing, tag = m.group(1) == "/", m.group(2).lower()
        if tag not in ALLOWED_TAGS:
            raise ApiError(400, f"Bad Request: can't parse entities: unsupported start tag \"{tag}\"")
        if closing:
            if not stack or stack[-1] != tag:
                raise ApiError(400, f"Bad Request: can't parse entities: unmatched end tag \"{tag}\"")
            stack.pop()
        else:
            stack.append(tag)
    out.append(plain(text[pos:]))
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: unclosed start tag \"{stack[-1]}\"")
    return "".join(out)


class FakeTelegram:
    """The fake server. `async with FakeTelegram() as fake:` then point PTB at `fake.base_url`."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_user: dict[str, Any] | None = None) -> None:
        self.token = token
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}  # scope key -> commands
        self.webhook: dict[str, Any] = {}
        self.chats: dict[int | str, dict[str, Any]] = {}
        self._failures: dict[str, deque[ApiError]] = defaultdict(deque)
        self._holds: dict[str, asyncio.Event] = {}
        self._arrivals: dict[str, int] = defaultdict(int)
        self._cond = asyncio.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._callback_ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        self._closing.set()
        async with self._cond:
            self._cond.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

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
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: len(self.calls_of(method)) >= count), timeout)
        return self.calls_of(method)[:count]

    async def wait_arrivals(self, method: str, count: int = 1, *, timeout: float = 5.0) -> None:
        """Until `count` calls of `method` have arrived (held calls included)."""
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: self._arrivals[method] >= count), timeout)

    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue an update (without update_id) for getUpdates; returns its update_id."""
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **payload})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    # ------------------------------------------------------------------ update builders

    @staticmethod
    def user(user_id: int, first_name: str | None = None) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name or f"user{user_id}"}

    def chat(self, chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
        kind = chat_type or ("private" if chat_id > 0 else "supergroup")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        chat.update({"first_name": f"user{chat_id}"} if kind == "private" else {"title": f"chat {chat_id}"})
        self.chats[chat_id] = chat
        return chat

    def message(self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str | None = None,
                date: int | None = None, thread_id: int | None = None) -> dict[str, Any]:
        chat_id = user_id if chat_id is None else chat_id
        msg: dict[str, Any] = {"message_id": next(self._message_ids), "from": self.user(user_id),
                               "chat": self.chat(chat_id, chat_type), "text": text,
                               "date": int(time.time()) if date is None else date}
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}]
        if thread_id is not None:
            msg["message_thread_id"], msg["is_topic_message"] = thread_id, True
        return msg

    def command(self, user_id: int, text: str, **kw: Any) -> int:
        """Push a message update (a command when `text` starts with /); returns the update_id."""
        return self.push_update({"message": self.message(user_id, text, **kw)})

    def edit(self, user_id: int, text: str, **kw: Any) -> int:
        """Push an `edited_message` update (the original was sent at `date`, default now)."""
        msg = self.message(user_id, text, **kw)
        msg["edit_date"] = int(time.time())
        return self.push_update({"edited_message": msg})

    def forward(self, user_id: int, text: str, *, original_sender: int, **kw: Any) -> int:
        """Push a message `user_id` forwarded from `original_sender` (who typed `text`)."""
        msg = self.message(user_id, text, **kw)
        msg["forward_origin"] = {"type": "user", "sender_user": self.user(original_sender), "date": msg["date"]}
        return self.push_update({"message": msg})

    def press(self, user_id: int, message: dict[str, Any], data: str) -> int:
        """Push a callback_query: `user_id` pressed a button of `message` (as the fake stored it)."""
        query = {"id": str(next(self._callback_ids)), "from": self.user(user_id), "message": _public(message),
                 "chat_instance": f"ci{message['chat']['id']}", "data": data}
        return self.push_update({"callback_query": query})

    # ------------------------------------------------------------------ views of what the bot did

    def sent(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Messages the bot has sent (current state, edits applied), oldest first."""
        return [m for (cid, _), m in sorted(self.messages.items(), key=lambda kv: kv[0][1])
                if chat_id is None or cid == chat_id]

    def scope_commands(self, scope: dict[str, Any] | None = None) -> list[str] | None:
        key = _scope_key(scope)
        return [c["command"] for c in self.commands[key]] if key in self.commands else None

    # ------------------------------------------------------------------ the server

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        method = request.match_info["method"]
        params = await _params(request)
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
        return _json(body, status)

    async def _m_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _m_deleteWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def _m_setWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = dict(p)
        return True

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

    def _check_markup(self, markup: Any) -> dict[str, Any] | None:
        if not markup:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return dict(markup)

    def _text(self, p: dict[str, Any]) -> str:
        raw = str(p.get("text", ""))
        text = parse_html(raw) if str(p.get("parse_mode", "")).upper() == "HTML" else raw
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    async def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = p["chat_id"]
        text = self._text(p)
        markup = self._check_markup(p.get("reply_markup"))
        chat = self.chats.get(chat_id) or (self.chat(chat_id) if isinstance(chat_id, int) else
                                           {"id": chat_id, "type": "channel", "title": str(chat_id)})
        msg: dict[str, Any] = {"message_id": next(self._message_ids), "from": self.bot_user, "chat": chat,
                               "date": int(time.time()), "text": text, "html": p.get("text")}
        if markup:
            msg["reply_markup"] = markup
        if p.get("message_thread_id") is not None:
            msg["message_thread_id"], msg["is_topic_message"] = p["message_thread_id"], True
        self.messages[(chat_id, msg["message_id"])] = msg
        return _public(msg)

    def _stored(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self.messages.get((p.get("chat_id"), int(p.get("message_id") or 0)))
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return msg

    async def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._stored(p)
        text = self._text(p)
        markup = self._check_markup(p.get("reply_markup"))
        if p.get("text") == msg.get("html") and markup == msg.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        msg.update(text=text, html=p.get("text"), edit_date=int(time.time()))
        if markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        return _public(msg)

    async def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._stored(p)
        markup = self._check_markup(p.get("reply_markup"))
        if markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        return _public(msg)

    async def _m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        if len(str(p.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _m_setMyCommands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands") or []
        for c in commands:
            name, description = c.get("command", ""), c.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[_scope_key(p.get("scope"))] = list(commands)
        return True

    async def _m_deleteMyCommands(self, p: dict[str, Any]) -> bool:
        self.commands.pop(_scope_key(p.get("scope")), None)
        return True

    async def _m_getMyCommands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(_scope_key(p.get("scope")), [])


def _scope_key(scope: Any) -> str:
    if not scope:
        return "default"
    if scope.get("type") == "chat":
        return f"chat:{scope['chat_id']}"
    return str(scope.get("type"))


def _public(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if k != "html"}


def _json(body: Any, status: int = 200) -> web.Response:
    # Exactly application/json (no charset): some clients compare the header for equality.
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})


async def _params(request: web.Request) -> dict[str, Any]:
    """PTB posts form fields with non-str values JSON-encoded; accept a JSON body too."""
    if request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    form = await request.post()
    params: dict[str, Any] = dict(request.query)
    for key, value in form.items():
        if not isinstance(value, str):
            continue
        if key in _STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params
