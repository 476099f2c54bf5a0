"""The notifier bus: the core's own messages (approvals, alerts, summaries) to members and channels.

The core publishes a `Notice` of a kind (margin, approvals, system, interest). The bus delivers it
by direct message to the members it names, and to every channel subscribed to that kind on every
platform with a registered transport, `on` (normal) or `silent` (no notification sound), each
delivery through the platform's outbox (most urgent kind first). Channel subscriptions come from
the TOML `[[channels]]` and from `/subscribe` in a channel (database). `publish` returns how many
deliveries actually happened, so an incident can count only what reached someone.

Who gets a notice is read from the database where the caller runs (a core worker, `off_loop`);
the deliveries themselves are queued and awaited on the home loop, where the chat clients and
their outboxes live (`chatbot.workers.on_home`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from chatbot.config import ChannelConfig
from chatbot.outbox import Outbox
from chatbot.replies import Notice
from chatbot.store.db import session_scope
from chatbot.store.members import DeskMember, MemberStore
from chatbot.store.tables import ChannelSubscription
from chatbot.workers import off_loop, on_home, spawn_on_home

log = logging.getLogger(__name__)


class Transport(Protocol):
    """A chat platform's way out: implemented by each adapter."""

    platform: str

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        """Deliver a DM; False when this platform cannot reach the member."""
        ...

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool,
                              topic_id: int | None) -> None: ...


@dataclass(frozen=True)
class Subscription:
    platform: str
    channel_id: str
    kind: str
    mode: str
    topic_id: int | None = None


class SubscriptionStore:
    def __init__(self, engine: Engine, configured: list[ChannelConfig]) -> None:
        self.engine = engine
        self.configured = configured

    def all(self) -> list[Subscription]:
        subs: dict[tuple[str, str, str], Subscription] = {}
        for ch in self.configured:
            for kind, mode in ch.kinds.items():
                subs[(ch.platform, ch.id, kind)] = Subscription(ch.platform, ch.id, kind, mode, ch.topic_id)
        with session_scope(self.engine) as s:
            for row in s.execute(select(ChannelSubscription)).scalars():
                subs[(row.platform, row.channel_id, row.kind)] = Subscription(
                    row.platform, row.channel_id, row.kind, row.mode, row.topic_id)
        return list(subs.values())

    def set(self, platform: str, channel_id: str, kind: str, mode: str, topic_id: int | None = None) -> None:
        with session_scope(self.engine) as s:
            row = s.execute(select(ChannelSubscription).where(
                col(ChannelSubscription.platform) == platform, col(ChannelSubscription.channel_id) == channel_id,
                col(ChannelSubscription.kind) == kind)).scalars().first()
            if row is None:
                row = ChannelSubscription(platform=platform, channel_id=channel_id, kind=kind, mode=mode)
            row.mode, row.topic_id = mode, topic_id
            s.add(row)


class Notifier:
    """Delivers notices through each platform's outbox (`chatbot.outbox`): the most urgent first."""

    def __init__(self, members: MemberStore, subscriptions: SubscriptionStore) -> None:
        self.members = members
        self.subscriptions = subscriptions
        self.transports: dict[str, Transport] = {}
        self.outboxes: dict[str, Outbox] = {}
        self._on_register: list[Callable[[], None]] = []
        self._posted: set[asyncio.Task[int]] = set()
        # Audience reads for notices published on the main loop, one at a time: two updates of one
        # incident published in a row reach the outbox (and the chat) in that order.
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify")

    def register(self, transport: Transport) -> None:
        self.transports[transport.platform] = transport
        self.outboxes.setdefault(transport.platform, Outbox(transport.platform))
        for hook in self._on_register:
            hook()

    def on_register(self, hook: Callable[[], None]) -> None:
        """Call `hook` whenever a platform's transport comes up (undelivered notices can go now)."""
        self._on_register.append(hook)

    def post(self, notice: Notice, on_delivered: Callable[[int], None] | None = None) -> None:
        """Deliver in the background (on the home loop): a reply never waits for other people's
        messages. `on_delivered` gets the number of deliveries once they are done (e.g. to mark a
        requester told); it runs off the loop, since it may write."""
        spawn_on_home(lambda: self._deliver_posted(notice, on_delivered), self._track)

    def _track(self, task: asyncio.Task[int]) -> None:
        self._posted.add(task)
        task.add_done_callback(self._posted.discard)

    async def _deliver_posted(self, notice: Notice, on_delivered: Callable[[int], None] | None) -> int:
        try:
            delivered = await self.publish(notice)
            if on_delivered is not None:
                await off_loop(on_delivered, delivered)
            return delivered
        except Exception:
            log.exception("could not deliver a %s notice", notice.kind)
            return 0

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait (bounded) for notices posted in the background to be delivered (before a clean stop)."""
        if self._posted:
            await asyncio.wait(set(self._posted), timeout=timeout)

    async def unregister(self, platform: str) -> None:
        """The platform is going away: what is still queued for it is reported as not delivered."""
        self.transports.pop(platform, None)
        outbox = self.outboxes.pop(platform, None)
        if outbox is not None:
            await outbox.close()

    async def publish(self, notice: Notice) -> int:
        """Deliver everywhere it should go; a failing platform is logged, never fatal. Returns deliveries."""
        members, subs = await off_loop(self._audience, notice, executor=self._reads)
        return await on_home(lambda: self._deliver(notice, members, subs))

    def _audience(self, notice: Notice) -> tuple[list[DeskMember], list[Subscription]]:
        """The members (by name) and channel subscriptions a notice goes to: database reads."""
        members = [m for m in (self.members.get(name) for name in notice.to_members) if m is not None]
        subs = [s for s in self.subscriptions.all() if s.kind == notice.kind and s.mode != "off"] \
            if notice.to_channels else []
        return members, subs

    async def _deliver(self, notice: Notice, members: list[DeskMember], subs: list[Subscription]) -> int:
        queued: list[tuple[str, asyncio.Future[bool]]] = []
        for member in members:
            for platform, transport in list(self.transports.items()):
                what = f"a {notice.kind} notice to {member.name} on {platform}"
                send = functools.partial(transport.send_to_member, member, notice)
                queued.append((what, self.outboxes[platform].submit(notice.kind, send, what)))
        for sub in subs:
            channel_transport = self.transports.get(sub.platform)
            if channel_transport is None:
                continue
            what = f"a {notice.kind} notice to {sub.platform}:{sub.channel_id}"
            send = functools.partial(_to_channel, channel_transport, sub, notice)
            queued.append((what, self.outboxes[sub.platform].submit(notice.kind, send, what)))
        results = await asyncio.gather(*(future for _, future in queued), return_exceptions=True)
        delivered = 0
        for (what, _), result in zip(queued, results, strict=True):
            if isinstance(result, BaseException):
                log.error("could not deliver %s", what, exc_info=result)
            elif result:
                delivered += 1
        return delivered


async def _to_channel(transport: Transport, sub: Subscription, notice: Notice) -> bool:
    await transport.send_to_channel(sub.channel_id, notice, silent=sub.mode == "silent", topic_id=sub.topic_id)
    return True
