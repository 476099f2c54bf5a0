"""The order watch tells the right person exactly about the right order: an order id is not an OCO list id,
the requester is an identity (not a name someone else may hold now), a revoked requester's news goes to
the admins, and a check that claimed a fill and died before telling is picked up by a later check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from chatbot.exchange import Side, SideEffect
from chatbot.replies import Notice
from chatbot.store.members import DeskMember
from chatbot.trader.tables import DeskOrder
from tests.core.desk import DeskUnderTest, open_desk
from tests.trader.desk import TWO_PAIRS


class Inbox:
    """A notifier transport that keeps who (by identity) was told what."""

    platform = "inbox"

    def __init__(self) -> None:
        self.told: list[tuple[int, str, str]] = []  # (member id, member name, title)

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        self.told.append((member.id, member.name, notice.reply.title))
        return True

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool, topic_id: int | None) -> None:
        raise AssertionError("order notices go to members, never to channels")

    def titles(self) -> list[tuple[str, str]]:
        return [(name, title) for _, name, title in self.told]


@pytest.fixture
async def desk(db_url: str) -> AsyncIterator[DeskUnderTest]:
    d = await open_desk(db_url, paper=TWO_PAIRS)
    yield d
    await d.close()


@pytest.fixture
def inbox(desk: DeskUnderTest) -> Inbox:
    box = Inbox()
    desk.core.notifier.register(box)
    return box


def watched(desk: DeskUnderTest) -> list[DeskOrder]:
    with Session(desk.core.engine) as s:
        return list(s.exec(select(DeskOrder).order_by(DeskOrder.id)).all())  # type: ignore[arg-type]


async def add_erin(desk: DeskUnderTest, telegram_id: int) -> DeskMember:
    out = await desk.console(f"/grant erin trader telegram:{telegram_id}\n/as bob\n/approve\n", "alice")
    assert "erin is now a trader" in out, out
    erin = desk.core.members.get("erin")
    assert erin is not None
    return erin


async def test_cancelling_order_1_does_not_silence_oco_list_1(desk: DeskUnderTest, inbox: Inbox) -> None:
    await desk.console("/order buy BTCUSDT 0.1 limit 30000\n/confirm\n", "carol")
    await desk.console("/long ETHUSDT 1\n/confirm\n/oco sell ETHUSDT 1 2500 1500\n/confirm\n", "carol")
    (limit,) = await desk.exchange.open_orders("BTCUSDT")
    legs = await desk.exchange.open_orders("ETHUSDT")
    assert limit.order_id == 1 and {o.order_list_id for o in legs} == {1}  # the same number, two id spaces
    out = await desk.console("/cancelorder 1\n/confirm\n", "carol")
    assert "Done [" in out, out
    await desk.say("alice", "/price ETHUSDT 1400")
    assert inbox.titles() == [("carol", "Your OCO filled: OCO SELL 1 ETHUSDT limit 2500 / stop 1500 AUTO_REPAY "
                                        "(cross)")], inbox.told
    assert [(r.kind, r.told_status) for r in watched(desk)] == [("order", "CANCELED"), ("oco", "FILLED")]


async def test_orders_names_an_ocos_placer_by_its_pair_not_just_its_list_id(desk: DeskUnderTest) -> None:
    outside = await desk.exchange.place_oco("ETHUSDT", Side.BUY, Decimal("1"), Decimal("1500"), Decimal("2500"),
                                            side_effect=SideEffect.MARGIN_BUY)
    now = desk.clock()
    with Session(desk.core.engine) as s:  # the desk's OCO on another pair whose list id is the same number
        s.add(DeskOrder(client_id="desk-oco", kind="oco", exchange_id=outside.order_list_id, symbol="BTCUSDT",
                        requester="carol", summary="OCO", created_at=now, updated_at=now))
        s.commit()
    out = await desk.console("/orders\n", "dave")
    assert "by carol" not in out and out.count("by outside the desk") == 2, out


async def test_a_fill_is_told_to_the_requester_not_to_a_new_member_of_the_same_name(
        desk: DeskUnderTest, inbox: Inbox) -> None:
    old = await add_erin(desk, 5555)
    await desk.console("/order buy BTCUSDT 0.1 limit 30000\n/confirm\n", "erin")
    await desk.console("/revoke erin\n", "alice")
    new = await add_erin(desk, 7777)  # a different person, the same name
    assert new.id != old.id
    inbox.told.clear()  # the grants' approvals
    await desk.say("alice", "/price BTCUSDT 29999")
    assert [who for who, _, _ in inbox.told if who == new.id] == [], inbox.told
    assert sorted(name for _, name, _ in inbox.told) == ["alice", "bob"], inbox.told
    title = inbox.told[0][2]
    assert title == "erin's order filled: LIMIT BUY 0.1 BTCUSDT @ 30000 MARGIN_BUY (cross)", title


async def test_a_revoked_requesters_fill_goes_to_the_admins_once(desk: DeskUnderTest, inbox: Inbox) -> None:
    await add_erin(desk, 5555)
    await desk.console("/order buy BTCUSDT 0.1 limit 30000\n/confirm\n", "erin")
    await desk.console("/revoke erin\n", "alice")
    inbox.told.clear()  # the grant's approval
    await desk.say("alice", "/price BTCUSDT 29999")
    assert sorted(name for _, name, _ in inbox.told) == ["alice", "bob"], inbox.told
    (row,) = watched(desk)
    assert row.told_status == "FILLED"  # settled: not retried on every check
    await desk.say("alice", "/price BTCUSDT 29000")
    await desk.console("/orders\n", "dave")
    assert len(inbox.told) == 2


async def test_a_check_that_died_between_its_claim_and_the_message_is_taken_over(
        desk: DeskUnderTest, inbox: Inbox) -> None:
    await desk.console("/order buy BTCUSDT 0.1 limit 30000\n/confirm\n", "carol")
    claimed = asyncio.Event()

    async def dies_while_sending(notice: Any) -> int:
        claimed.set()
        await asyncio.Event().wait()  # the process is killed here: the claim is written, nobody told
        return 0

    desk.core.notifier.publish = dies_while_sending  # type: ignore[method-assign]
    drill = asyncio.create_task(desk.say("alice", "/price BTCUSDT 29999"))
    await asyncio.wait_for(claimed.wait(), 10)
    drill.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await drill
    del desk.core.notifier.publish  # the next process: the real notifier
    await desk.console("/orders\n", "dave")
    assert inbox.told == []  # a fresh claim may still be delivering: no second message
    desk.clock.advance(3600)
    await desk.console("/orders\n", "dave")
    assert inbox.titles() == [("carol", "Your order filled: LIMIT BUY 0.1 BTCUSDT @ 30000 MARGIN_BUY (cross)")]
    await desk.console("/orders\n", "dave")
    assert len(inbox.told) == 1
    (row,) = watched(desk)
    assert row.told_status == "FILLED"
    assert (await desk.exchange.account(None)).asset("BTC").free == Decimal("0.1")
