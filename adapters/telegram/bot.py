"""The Telegram front end: a python-telegram-bot `Application` that turns updates into core calls.

Thin on purpose. The core identifies, authorizes, rate-limits, parses, refuses stale and edited
commands, dedups by event id and audits; this module only
- builds `Request`s from commands (the actor is `from_user.id`, never the chat; edited messages are
  passed with `edited=True` so the core refuses them) and renders the `Reply`;
- turns a button press into `core.press(token, actor, event_id, queued_while_away=…)`: a press
  Telegram held for the bot while it was down is marked so the core refuses it (a press has no send
  time; see `adapters.telegram.backlog`); an error is shown as an alert and the prompt is left
  alone; anything else edits the prompt to the outcome and removes its buttons;
- publishes per-role command menus generated from the registry (`setMyCommands` per chat scope);
- runs the polling loop (or an optional webhook that checks Telegram's secret token first) and
  registers the notifier transport.

Entry points: `run_telegram(core, settings, stop_event)` for `chatbot run`, and `TelegramBot` (an
async context manager) for tests and benchmarks. `build_application` takes the Bot API base URL so
tests point it at a local fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from adapters.telegram.backlog import Backlog
from adapters.telegram.render import alert_text, prompt_header, render, render_single
from adapters.telegram.transport import TelegramTransport
from adapters.telegram.updates import PerSenderOrder
from chatbot.commands.registry import lookup, visible_to
from chatbot.config import ConfigError, Settings
from chatbot.core import DeskCore
from chatbot.redact import install_log_redaction
from chatbot.replies import Actor, Reply, Request, Severity
from chatbot.workers import off_loop

os.environ.setdefault("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as a timedelta (PTB's future default)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
DeskApplication = Application[Any, Any, Any, Any, Any, Any]  # PTB's defaults: bot, context, data, job queue
COMMANDS = filters.COMMAND & (filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE)


def file_url_for(base_url: str) -> str:
    """`https://host/bot` → `https://host/file/bot` (PTB needs both; only the first is configured)."""
    head, sep, tail = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if sep else base_url


def build_application(token: str, base_url: str = DEFAULT_BASE_URL, *, rate_limiter: BaseRateLimiter[Any] | None = None,
                      max_retries: int = 3, polling: bool = True, send_limiter: bool = True) -> DeskApplication:
    """The PTB Application, pointed at `base_url` (real Telegram, a local Bot API server, or a test fake).

    Updates run concurrently, each sender's in order (`PerSenderOrder`). `send_limiter=False` drops
    PTB's rate limiter — only for load tests against a fake server, never against Telegram.
    """
    builder: Any = (ApplicationBuilder().token(token).base_url(base_url).base_file_url(file_url_for(base_url))
                    .concurrent_updates(PerSenderOrder()))  # Any: each step changes PTB's builder generics
    if send_limiter:
        builder = builder.rate_limiter(rate_limiter or AIORateLimiter(max_retries=max_retries))
    if not polling:
        builder = builder.updater(None)
    application: DeskApplication = builder.build()
    return application


@dataclass(frozen=True)
class WebhookConfig:
    """Webhook mode: Telegram POSTs updates to `url`; we listen on `listen:port` at `path`."""

    url: str  # public HTTPS URL Telegram calls, ending in `path`
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "/telegram"
    secret_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # 1-256 of A-Za-z0-9_-


class TelegramBot:
    """One desk's Telegram bot: `async with TelegramBot(core, token, base_url=...) as bot: ...`."""

    def __init__(self, core: DeskCore, token: str, *, base_url: str = DEFAULT_BASE_URL,
                 rate_limiter: BaseRateLimiter[Any] | None = None, max_retries: int = 3, poll_timeout: float = 10,
                 webhook: WebhookConfig | None = None, send_limiter: bool = True) -> None:
        install_log_redaction([token])  # httpx logs URLs, and the token is in the URL path
        self.core = core
        self.webhook = webhook
        self.poll_timeout = poll_timeout
        self.app = build_application(token, base_url, rate_limiter=rate_limiter, max_retries=max_retries,
                                     polling=webhook is None, send_limiter=send_limiter)
        self._mentions: dict[str, int] = {}
        self.transport = TelegramTransport(self.app.bot, mentions=self._mention_ids)
        self.username: str | None = None
        self.webhook_port: int | None = None
        self.backlog = Backlog()
        self._scoped_chats: set[int] = set()
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unwatch_members: Callable[[], None] | None = None
        self.app.add_handler(TypeHandler(Update, self.on_update), group=-1)  # every update, before the others
        self.app.add_handler(MessageHandler(COMMANDS, self.on_command))
        self.app.add_handler(CallbackQueryHandler(self.on_press))
        self.app.add_error_handler(self.on_error)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """initialize (getMe) → command menus → the backlog waiting at Telegram → polling or webhook →
        handlers → notifier transport."""
        try:
            await self.app.initialize()
            self.username = self.app.bot.username
            await self.sync_commands()
            self.backlog = await Backlog.measure(self.app.bot, polling=self.webhook is None)
            if self.webhook is None:
                assert self.app.updater is not None
                await self.app.updater.start_polling(poll_interval=0, timeout=timedelta(seconds=self.poll_timeout),
                                                     allowed_updates=ALLOWED_UPDATES)
            else:
                await self._start_webhook(self.webhook)
            await self.app.start()
            self._unwatch_members = self.core.members.on_change(lambda: self._background(self.sync_commands()))
            self.core.notifier.register(self.transport)
        except BaseException:
            await self._shutdown()
            raise

    async def stop(self) -> None:
        await self.core.notifier.drain()  # notices already posted still go out on this platform
        if self.core.notifier.transports.get(self.transport.platform) is self.transport:
            await self.core.notifier.unregister(self.transport.platform)
        if self._unwatch_members is not None:
            self._unwatch_members()
            self._unwatch_members = None
        await self._shutdown()

    async def _shutdown(self) -> None:
        """Stop taking updates, let handlers in flight finish (and their notices go out), then close."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.app.running:
            await self.app.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.app.shutdown()

    async def __aenter__(self) -> TelegramBot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ command menus

    async def sync_commands(self) -> None:
        """Menus from the registry: viewers' commands by default, each member's role in their own chat."""
        paper = self.core.paper

        def menu(role: str) -> list[BotCommand]:
            return [BotCommand(s.name, s.summary[:256]) for s in visible_to(role, platform="telegram", paper=paper)]

        await self.app.bot.set_my_commands(menu("viewer"), scope=BotCommandScopeDefault())
        scoped: set[int] = set()
        members = await off_loop(self.core.members.all)  # the database, off the event loop
        self._mentions = {m.name: m.telegram_id for m in members if m.telegram_id is not None}
        for member in members:
            if member.telegram_id is None:
                continue
            try:
                await self.app.bot.set_my_commands(menu(member.role), scope=BotCommandScopeChat(member.telegram_id))
                scoped.add(member.telegram_id)
            except (BadRequest, Forbidden) as exc:  # the member has not opened a chat with the bot yet
                log.warning("no command menu for %s: %s", member.name, exc.message)
        for gone in self._scoped_chats - scoped:
            with contextlib.suppress(BadRequest, Forbidden):
                await self.app.bot.delete_my_commands(scope=BotCommandScopeChat(gone))
        self._scoped_chats = scoped

    # ------------------------------------------------------------------ handlers

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.backlog.saw(update.update_id)  # where the backlog starts, if start-up could not see it

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or user.is_bot or not message.text:
            return
        head = message.text.split(maxsplit=1)[0]
        name, _, addressee = head[1:].partition("@")
        if addressee and addressee.lower() != (self.username or "").lower():
            return  # /status@SomeOtherBot in a group
        if message.chat.type != ChatType.PRIVATE and lookup(name) is None:
            return  # another bot's command in a group: not ours to answer
        reply = await self.core.handle(Request(
            actor=Actor("telegram", str(user.id)), text=message.text, chat_id=str(message.chat.id),
            event_id=f"tg:{update.update_id}", sent_at=message.date, edited=update.edited_message is not None,
            forwarded=message.forward_origin is not None))
        if reply.duplicate:  # Telegram redelivered an update we already answered
            log.info("update %s was delivered again; already answered", update.update_id)
            return
        await self.send_reply(message, reply)

    async def send_reply(self, to: Message, reply: Reply) -> None:
        """Reply in the same chat (and forum topic); in groups, quote the command it answers."""
        rendered = render(reply, mentions=self._mention_ids() if reply.mentions else None)
        group = to.chat.type != ChatType.PRIVATE
        thread = to.message_thread_id if to.is_topic_message else None
        last = len(rendered.parts) - 1
        try:
            for i, part in enumerate(rendered.parts):
                await self.app.bot.send_message(
                    chat_id=to.chat.id, text=part, parse_mode=ParseMode.HTML, message_thread_id=thread,
                    reply_markup=rendered.keyboard if i == last else None, link_preview_options=NO_PREVIEW,
                    reply_parameters=ReplyParameters(to.message_id, allow_sending_without_reply=True)
                    if group and i == 0 else None)
        except Forbidden as exc:
            log.warning("could not answer in chat %s: %s", to.chat.id, exc.message)

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        if not query.data:
            await self._answer(query.answer())
            return
        actor = Actor("telegram", str(query.from_user.id))
        reply = await self.core.press(query.data, actor, event_id=f"tg:{update.update_id}",
                                      queued_while_away=self.backlog.holds(update.update_id))
        if reply.severity is Severity.ERROR:  # "Not your prompt", expired …: the prompt stays as it is
            await self._answer(query.answer(alert_text(reply), show_alert=True))
            return
        await self._answer(query.answer(alert_text(reply)))
        message = query.message
        if reply.duplicate or message is None:
            return
        text = render_single(reply, mentions=self._mention_ids() if reply.mentions else None,
                             header=prompt_header(message.text if isinstance(message, Message) else None))
        try:
            await self.app.bot.edit_message_text(text, chat_id=message.chat.id, message_id=message.message_id,
                                                 parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
                                                 reply_markup=render(reply).keyboard)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    async def _answer(self, call: Any) -> None:
        try:
            await call
        except BadRequest as exc:  # "query is too old": the outcome still goes to the message
            log.info("callback answer failed: %s", exc.message)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        err = context.error
        if isinstance(err, Forbidden):
            log.warning("Telegram refused a request (bot blocked or removed): %s", err.message)
        elif isinstance(err, RetryAfter):
            log.warning("Telegram flood limit outlasted the retries: %s", err.message)
        elif isinstance(err, TelegramError):
            log.error("Telegram error: %s", err.message)
        else:
            log.error("Telegram handler failed", exc_info=err)

    # ------------------------------------------------------------------ webhook mode

    async def _start_webhook(self, cfg: WebhookConfig) -> None:
        web_app = web.Application(client_max_size=1 << 20)
        web_app.router.add_post(cfg.path, self._webhook)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.listen, cfg.port)
        await site.start()
        # aiohttp's TCPSite tells the bound port (we may ask for port 0) only through its private _server
        self.webhook_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await self.app.bot.set_webhook(cfg.url, secret_token=cfg.secret_token, allowed_updates=ALLOWED_UPDATES)

    async def _webhook(self, request: web.Request) -> web.Response:
        assert self.webhook is not None
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.webhook.secret_token.encode()):
            return web.Response(status=403)  # before reading or parsing the body
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict):
                return web.Response(status=400)
            update = Update.de_json(data, self.app.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400)
        await self.app.update_queue.put(update)
        return web.Response(status=200)

    # ------------------------------------------------------------------ helpers

    def _mention_ids(self) -> dict[str, int]:
        return self._mentions  # refreshed with the menus, at start and on every grant or revoke

    def _background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def run_telegram(core: DeskCore, settings: Settings, stop_event: asyncio.Event, *,
                       webhook: WebhookConfig | None = None) -> None:
    """For `chatbot run`: serve the desk on Telegram until `stop_event` is set, then stop cleanly."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    token = settings.telegram_bot_token.get_secret_value()
    async with TelegramBot(core, token, base_url=settings.telegram_api_base_url, webhook=webhook,
                           send_limiter=settings.telegram_send_limiter == "on") as bot:
        log.info("Telegram bot @%s is serving the desk", bot.username)
        await stop_event.wait()
