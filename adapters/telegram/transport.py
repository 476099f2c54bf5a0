"""The core notifier's way out to Telegram: DMs to members, posts to channels and forum topics.

Sends go straight out; ordering notices by urgency is the core's outbox (`chatbot.outbox`). PTB's
`AIORateLimiter` paces the requests and, on `RetryAfter`, pauses *every* request for the time
Telegram asks and retries the one in flight (`max_retries`); when it runs out of retries, this
transport raises `RetryLater` and the outbox waits as told and puts the notice back in its
priority slot — behind anything more urgent that arrived meanwhile.

A notice with a `key` (an incident, an approval prompt) is edited in place when this process sent
it to that chat before (key+chat → message id, in memory: after a restart the next update is a new
message). `Forbidden` (the member blocked the bot, or never opened a DM with it) is logged and
reported as "not delivered", never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

from adapters.telegram.render import render, render_single
from chatbot.outbox import RetryLater
from chatbot.replies import Notice
from chatbot.store.members import DeskMember

log = logging.getLogger(__name__)
KEYED_MESSAGES = 10_000  # message ids kept for editing incidents and approvals in place

ChatId = int | str
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True)
class _Job:
    chat_id: ChatId
    notice: Notice
    silent: bool = False
    topic_id: int | None = None


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

    def __init__(self, bot: Bot, *, mentions: Callable[[], Mapping[str, int]] | None = None) -> None:
        self.bot = bot
        self.mentions = mentions
        self.sent: dict[tuple[str, ChatId], int] = {}  # (notice key, chat) -> message id, for edits

    # ------------------------------------------------------------------ the Transport protocol

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        if member.telegram_id is None:
            return False
        return await self.deliver(_Job(member.telegram_id, notice))

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool,
                              topic_id: int | None) -> None:
        await self.deliver(_Job(chat_id_of(channel_id), notice, silent, topic_id))

    async def deliver(self, job: _Job) -> bool:
        try:
            return await self._deliver(job)
        except RetryAfter as exc:  # the rate limiter's own retries are used up
            raise RetryLater(retry_seconds(exc)) from None

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
        if len(self.sent) > KEYED_MESSAGES:  # the oldest incident's message is sent afresh if it ever moves
            self.sent.pop(next(iter(self.sent)))
        return True
