"""Which button presses Telegram kept for the bot while it was away: the start-up backlog.

A typed command carries its send time (`message.date`) and the core refuses an old one. A press (a
callback query) carries no time at all, and its `message.date` is the *prompt's* time — a prompt
may be pressed legitimately long after it was sent, until it expires — so that is no signal. What
is known is where the bot's downtime ends in Telegram's update queue: at start-up, before polling
(or the webhook) begins, `getWebhookInfo` tells how many updates are waiting
(`pending_update_count`, for polling bots too). Updates are queued in `update_id` order, so the
backlog is the first N updates of the queue; a press among them was made while nobody could
answer it, maybe minutes or hours ago, and must not act on its own (the core refuses it; the
member presses again and that press, after the backlog, acts).

Which N ids those are: when polling, `getUpdates` without an offset shows the head of the queue
without confirming anything, so the N-th waiting id is read off it (past the 100 one call shows,
Telegram's ids are sequential: the last id seen plus the rest). In webhook mode `getUpdates` is not
allowed (and when polling it may be refused, e.g. by a conflicting poller); then the first update
the bot handles starts the count. Every update handled after start-up has an id at or after the
head of the backlog, so that count can only reach too far, never too short: an error refuses a
fresh press (one more press), never runs an old one.

Simpler signals were rejected: the first `getUpdates` batch is the backlog only when there is one
(when there is none it holds the first fresh updates), and the age of the callback's prompt is not
the age of the press.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot
from telegram.error import TelegramError

log = logging.getLogger(__name__)

PEEK_LIMIT = 100  # the most one getUpdates call returns


@dataclass
class Backlog:
    """The updates waiting at start-up: `pending` of them, the first being `first` (once known)."""

    pending: int = 0
    first: int | None = None
    last: int | None = None  # the last update id of the backlog, once known

    @classmethod
    async def measure(cls, bot: Bot, *, polling: bool) -> Backlog:
        """Right before updates start flowing: how many are waiting and, when polling, which they are."""
        info = await bot.get_webhook_info()
        backlog = cls(pending=info.pending_update_count)
        if backlog.pending and polling:
            if info.url:  # left by a webhook run; polling deletes it anyway, and getUpdates needs it gone
                await bot.delete_webhook()
            try:
                head = [u.update_id for u in await bot.get_updates(limit=PEEK_LIMIT, timeout=0)]
            except TelegramError as exc:
                log.warning("could not see which updates wait at Telegram (%s); counting from the first", exc)
                head = None
            if head is not None and not head:
                return cls()  # nothing waits after all
            if head:
                shown = min(backlog.pending, len(head))
                backlog.first, backlog.last = head[0], head[shown - 1] + (backlog.pending - shown)
        if backlog.pending:
            log.info("%d Telegram update(s) were waiting at start-up; presses among them will be refused",
                     backlog.pending)
        return backlog

    def saw(self, update_id: int) -> None:
        """An update is being handled: when the backlog's ids are not known yet, the first one starts the count."""
        if self.pending and self.first is None:
            self.first, self.last = update_id, update_id + self.pending - 1

    def holds(self, update_id: int) -> bool:
        """Was this update waiting at Telegram when the bot started?"""
        return self.last is not None and update_id <= self.last
