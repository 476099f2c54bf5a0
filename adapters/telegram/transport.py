"""The core notifier's way out to Telegram: DMs to members, posts to channels and forum topics.

Why a small outbox instead of sending straight away: under a flood limit, margin alerts must not
queue behind an interest summary. Every notice goes through one priority queue drained by one
worker (margin < approvals < system < interest). PTB's `AIORateLimiter` paces the requests and, on
`RetryAfter`, pauses *every* request for the time Telegram asks and retries the one in flight
(`max_retries`). While it waits, new notices keep arriving in the queue, and when it resumes the worker
takes the most urgent one next, so a margin alert raised during the pause goes out before queued
summaries. If the limiter runs out of retries, the worker waits `retry_after` itself and puts the
notice back in the queue in its priority slot.

A notice with a `key` (an incident, an approval prompt) is edited in place when this process sent
it to that chat before (key+chat → message id, in memory: after a restart the next update is a new
message). `Forbidden` (the member blocked the bot, or never opened a DM with it) is logged and
reported as "not delivered", never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

from adapters.telegram.render import render, render_single
from chatbot.replies import Notice
from chatbot.store.members import DeskMember

log = logging.getLogger(__name__)

PRIORITY = {"margin": 0, "approvals": 1, "system": 2, "interest": 3}
ChatId = int | str
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(eq=False)
class _Job:
    chat_id: ChatId
    notice: Notice
    silent: bool
    topic_id: int | None
    future: asyncio.Future[bool]
    attempts: int = 0


@dataclass(order=True)
class _Entry:
    priority: int
    seq: int
    job: _Job = field(compare=False)


def chat_id_of(channel_id: str) -> ChatId:
    """Channel ids from the config: numeric chat ids (e.g. -1001234) or an @channelusername."""
    text = channel_id.strip()
    return int(text) if text.lstrip("-").isdigit() else text


def retry_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramTransport:
    """Implements `chatbot.notify.Transport` for Telegram."""

    platform = "telegram"

    def __init__(self, bot: Bot, *, mentions: Callable[[], Mapping[str, int]] | None = None,
                 max_attempts: int = 5) -> None:
        self.bot = bot
        self.mentions = mentions
        self.max_attempts = max_attempts
        self.sent: dict[tuple[str, ChatId], int] = {}  # (notice key, chat) -> message id, for edits
        self._queue: asyncio.PriorityQueue[_Entry] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------------------------ the Transport protocol

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        if member.telegram_id is None:
            return False
        return await self.submit(member.telegram_id, notice)

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool,
                              topic_id: int | None) -> None:
        await self.submit(chat_id_of(channel_id), notice, silent=silent, topic_id=topic_id)

    # ------------------------------------------------------------------ the outbox

    def submit(self, chat_id: ChatId, notice: Notice, *, silent: bool = False,
               topic_id: int | None = None) -> asyncio.Future[bool]:
        """Queue a notice; the future says whether it was delivered (False: blocked, no chat …)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        if self._closed:
            future.set_result(False)
            return future
        job = _Job(chat_id, notice, silent, topic_id, future)
        self._queue.put_nowait(_Entry(PRIORITY.get(notice.kind, 2), next(self._seq), job))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain(), name="telegram-outbox")
        return future

    async def close(self) -> None:
        """Stop the worker; notices still queued are reported as not delivered."""
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while not self._queue.empty():
            job = self._queue.get_nowait().job
            if not job.future.done():
                job.future.set_result(False)

    async def _drain(self) -> None:
        while True:
            entry = await self._queue.get()
            job = entry.job
            if job.future.done():  # the publisher gave up waiting
                continue
            try:
                delivered = await self._deliver(job)
            except RetryAfter as exc:  # the rate limiter's own retries are used up
                job.attempts += 1
                if job.attempts >= self.max_attempts:
                    log.error("gave up on a %s notice to %s after %d flood waits", job.notice.kind, job.chat_id,
                              job.attempts)
                    job.future.set_result(False)
                    continue
                self._queue.put_nowait(entry)  # same priority and place in line
                await asyncio.sleep(retry_seconds(exc))
                continue
            except asyncio.CancelledError:
                if not job.future.done():
                    job.future.set_result(False)
                raise
            except Exception as exc:
                if not job.future.done():
                    job.future.set_exception(exc)
                continue
            if not job.future.done():
                job.future.set_result(delivered)

    async def _deliver(self, job: _Job) -> bool:
        notice, chat_id = job.notice, job.chat_id
        mentions = self.mentions() if (self.mentions and notice.reply.mentions) else None
        try:
            if notice.key is not None:
                return await self._send_keyed(job, mentions)
            rendered = render(notice.reply, mentions=mentions)
            last = len(rendered.parts) - 1
            for i, part in enumerate(rendered.parts):
                await self._send(job, part, rendered.keyboard if i == last else None)
            return True
        except Forbidden as exc:
            log.warning("Telegram chat %s refused a notice (%s): bot blocked or never started: %s", chat_id,
                        notice.kind, exc.message)
            return False
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                log.warning("Telegram chat %s not found for a notice (%s)", chat_id, notice.kind)
                return False
            raise

    async def _send(self, job: _Job, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        return await self.bot.send_message(
            chat_id=job.chat_id, text=text, parse_mode=ParseMode.HTML, reply_markup=markup,
            disable_notification=job.silent, message_thread_id=job.topic_id, link_preview_options=NO_PREVIEW)

    async def _send_keyed(self, job: _Job, mentions: Mapping[str, int] | None) -> bool:
        """Incidents and approvals: one message per chat, edited as the incident evolves."""
        assert job.notice.key is not None
        key = (job.notice.key, job.chat_id)
        text = render_single(job.notice.reply, mentions=mentions)
        markup = render(job.notice.reply).keyboard
        message_id = self.sent.get(key)
        if message_id is not None:
            try:
                await self.bot.edit_message_text(text, chat_id=job.chat_id, message_id=message_id,
                                                 parse_mode=ParseMode.HTML, reply_markup=markup,
                                                 link_preview_options=NO_PREVIEW)
                return True
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    return True
                log.info("could not edit %s in chat %s (%s); sending it again", job.notice.key, job.chat_id,
                         exc.message)
                self.sent.pop(key, None)
        message = await self._send(job, text, markup)
        self.sent[key] = message.message_id
        return True
