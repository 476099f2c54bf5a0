"""Transfers, resting orders, OCOs and cancels move money: the same gates as a borrow, and the same promises —
only the requester confirms, an edited or repeated answer acts once, an approval follows policy, and a call
whose answer is lost after the exchange applied it is reconciled by querying, never sent again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from adapters.paper import PaperExchange
from chatbot.config import PolicyConfig
from chatbot.exchange import ExchangeUnavailable, OrderList, Side, SideEffect
from chatbot.flows.pending import VISIBLE_STATES
from chatbot.replies import Actor, Severity
from chatbot.store.tables import Intent
from tests.core.desk import DeskUnderTest, open_desk, short_id
from tests.trader.desk import TWO_PAIRS


class LosesAnswers:
    """The paper exchange, but the answer to some calls is lost after they took effect (a read timeout)."""

    def __init__(self, exchange: PaperExchange, lose: set[str]) -> None:
        self.exchange = exchange
        self.lose = lose
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exchange, name)

    async def transfer(self, *args: Any) -> int:
        self.calls.append("transfer")
        if "transfer-before" in self.lose:
            raise ExchangeUnavailable("connect timeout")  # never reached the exchange
        tx = await self.exchange.transfer(*args)
        if "transfer" in self.lose:
            raise ExchangeUnavailable("read timeout")
        return tx

    async def place_oco(self, *args: Any, **kw: Any) -> OrderList:
        self.calls.append("oco")
        olist = await self.exchange.place_oco(*args, **kw)
        if "oco" in self.lose:
            raise ExchangeUnavailable("read timeout")
        return olist

    async def cancel_order(self, *args: Any, **kw: Any) -> Any:
        self.calls.append("cancel")
        order = await self.exchange.cancel_order(*args, **kw)
        if "cancel" in self.lose:
            raise ExchangeUnavailable("read timeout")
        return order


@pytest.fixture
async def desk(db_url: str) -> AsyncIterator[DeskUnderTest]:
    d = await open_desk(db_url, paper=TWO_PAIRS)
    yield d
    await d.close()


def intents(desk: DeskUnderTest) -> list[Intent]:
    with Session(desk.core.engine) as s:
        return list(s.exec(select(Intent)).all())


def lose(desk: DeskUnderTest, what: set[str]) -> LosesAnswers:
    wrapped = LosesAnswers(desk.exchange, what)
    desk.core.services.exchange = desk.core.executor.exchange = wrapped  # type: ignore[assignment]
    return wrapped


async def test_only_the_requester_confirms_a_transfer(desk: DeskUnderTest) -> None:
    pid = short_id(await desk.say("carol", "/transfer USDT 1000 spot cross"))
    refused = await desk.say("alice", f"/confirm {pid}")
    assert "Not your prompt" in refused.title
    edited = await desk.say("carol", f"/confirm {pid}", edited=True)
    assert "Edited messages never trigger actions" in edited.title
    assert (await desk.exchange.spot_balances())["USDT"] == Decimal("5000")
    assert (await desk.say("carol", f"/confirm {pid}")).title.startswith("Done")
    assert (await desk.exchange.spot_balances()).get("USDT", 0) == Decimal("4000")


async def test_two_presses_at_once_transfer_once(desk: DeskUnderTest) -> None:
    prompt = await desk.say("carol", "/transfer USDT 700 spot cross")
    token, actor = prompt.actions[0].token, Actor("console", "carol")
    replies = await asyncio.gather(desk.core.press(token, actor), desk.core.press(token, actor))
    assert sum(r.title.startswith("Done") for r in replies) == 1
    assert (await desk.exchange.account(None)).asset("USDT").free == Decimal("20700")
    assert [i.kind for i in intents(desk)] == ["transfer"]


async def test_a_viewer_cannot_transfer_and_bad_input_changes_nothing(desk: DeskUnderTest) -> None:
    assert "needs the trader role" in (await desk.say("dave", "/transfer USDT 1 spot cross")).title
    for text, why in (("/transfer USDT 6000 spot cross", "Max transferable from spot now is 5000 USDT."),
                      ("/transfer USDT 1 spot spot", "FROM and TO are the same account."),
                      ("/transfer USDT 1 spot moon", "'moon' is not spot, cross or a pair like BTCUSDT."),
                      ("/transfer BTC 1 spot ETHUSDT", "BTC is not an asset of ETHUSDT.")):
        reply = await desk.say("carol", text)
        assert reply.severity is Severity.ERROR and reply.title == why, reply.text()
    assert intents(desk) == [] and desk.core.pending.open_actions(None, VISIBLE_STATES) == []


async def test_taking_collateral_out_needs_approval_by_policy_and_waits_for_a_halt(db_url: str) -> None:
    desk = await open_desk(db_url, paper=TWO_PAIRS, policy=PolicyConfig(approval_notional_usdt=Decimal("2000")))
    try:
        out = await desk.say("carol", "/transfer USDT 3000 cross spot")
        assert "Needs admin approval: notional 3,000.00 USDT is above 2,000.00." in out.text(), out.text()
        sent = await desk.say("carol", f"/confirm {short_id(out)}")
        assert "sent to the admins" in sent.title
        approved = await desk.say("bob", f"/approve {short_id(out)}")
        assert approved.title.startswith("Done") and "transfer 3000 USDT cross → spot" in approved.title
        assert (await desk.exchange.spot_balances())["USDT"] == Decimal("8000")
        await desk.say("alice", "/halt drill")
        blocked = await desk.say("carol", "/transfer USDT 10 cross spot")
        assert "halted" in blocked.title
        moving_in = await desk.say("carol", "/transfer USDT 10 spot cross")  # adding collateral still works
        assert moving_in.title.startswith("Confirm transfer 10 USDT spot → cross"), moving_in.text()
    finally:
        await desk.close()


async def test_a_transfer_applied_then_timed_out_is_reconciled_not_resent(desk: DeskUnderTest) -> None:
    wrapped = lose(desk, {"transfer"})
    pid = short_id(await desk.say("carol", "/transfer USDT 1000 spot cross"))
    done = await desk.say("carol", f"/confirm {pid}")
    assert done.title.startswith("Done"), done.text()
    assert wrapped.calls == ["transfer"]
    (intent,) = intents(desk)
    assert intent.state == "DONE" and intent.exchange_ref
    assert (await desk.exchange.spot_balances())["USDT"] == Decimal("4000")


async def test_a_transfer_that_never_arrived_is_not_sent_and_says_so(desk: DeskUnderTest) -> None:
    lose(desk, {"transfer-before"})
    desk.exchange.settle_seconds = 0  # type: ignore[attr-defined]
    pid = short_id(await desk.say("carol", "/transfer USDT 1000 spot cross"))
    reply = await desk.say("carol", f"/confirm {pid}")
    assert "did not reach the exchange" in reply.title, reply.text()
    (intent,) = intents(desk)
    assert intent.state == "NOT_SENT"
    assert (await desk.exchange.spot_balances())["USDT"] == Decimal("5000")


async def test_an_oco_applied_then_timed_out_is_found_by_its_list_client_id(desk: DeskUnderTest) -> None:
    await desk.console("/long BTCUSDT 0.1\n/confirm\n", "carol")
    wrapped = lose(desk, {"oco"})
    prompt = await desk.say("carol", "/oco sell BTCUSDT 0.1 40000 30000")
    assert "OCO SELL 0.1 BTCUSDT limit 40000 / stop 30000 AUTO_REPAY" in prompt.text(), prompt.text()
    done = await desk.say("carol", f"/confirm {short_id(prompt)}")
    assert done.title.startswith("Done"), done.text()
    assert wrapped.calls == ["oco"]
    oco = [i for i in intents(desk) if i.kind == "oco"]
    assert len(oco) == 1 and oco[0].state == "DONE"
    assert len(await desk.exchange.open_orders("BTCUSDT")) == 2  # both legs, placed once


async def test_a_cancel_applied_then_timed_out_is_known_by_the_orders_status(desk: DeskUnderTest) -> None:
    await desk.console("/order buy BTCUSDT 0.1 limit 30000\n/confirm\n", "carol")
    (order,) = await desk.exchange.open_orders("BTCUSDT")
    wrapped = lose(desk, {"cancel"})
    prompt = await desk.say("carol", f"/cancelorder {order.order_id}")
    assert f"CANCEL order {order.order_id} BTCUSDT (cross)" in prompt.text(), prompt.text()
    done = await desk.say("carol", f"/confirm {short_id(prompt)}")
    assert done.title.startswith("Done"), done.text()
    assert wrapped.calls == ["cancel"]
    assert await desk.exchange.open_orders("BTCUSDT") == []
    assert [i.state for i in intents(desk) if i.kind == "cancel"] == ["DONE"]


async def test_a_limit_order_tells_its_requester_when_it_fills(desk: DeskUnderTest) -> None:
    told: list[str] = []

    async def deliver(notice: Any) -> int:
        if "carol" in notice.to_members:
            told.append(notice.reply.title)
        return 1

    desk.core.notifier.publish = deliver  # type: ignore[method-assign]
    out = await desk.console("/order buy BTCUSDT 0.1 limit 30000\n/confirm\n/orders\n", "carol")
    assert "LIMIT BUY 0.1 BTCUSDT @ 30000 MARGIN_BUY (cross)" in out, out
    assert "BUY 0.1 BTCUSDT limit @ 30,000.00" in out and "by carol" in out, out
    await desk.say("alice", "/price BTCUSDT 31000")
    assert told == []
    await desk.say("alice", "/price BTCUSDT 29999")
    assert told == ["Your order filled: LIMIT BUY 0.1 BTCUSDT @ 30000 MARGIN_BUY (cross)"]
    await desk.say("alice", "/price BTCUSDT 29000")
    assert len(told) == 1  # told once
    positions = await desk.console("/positions\n", "dave")
    assert "Entry 30,000.00 · mark 29,000.00" in positions and "P&L -100.00 USDT" in positions, positions


async def test_an_oco_tells_which_leg_filled_and_bad_orders_are_refused(desk: DeskUnderTest) -> None:
    told: list[str] = []

    async def deliver(notice: Any) -> int:
        told.extend(notice.reply.lines[:1])
        return 1

    desk.core.notifier.publish = deliver  # type: ignore[method-assign]
    refused = await desk.say("carol", "/oco sell BTCUSDT 0.1 30000 40000")
    assert refused.title == "For a sell OCO put TP above and STOP below the price now (35,000.00).", refused.title
    stop = await desk.say("carol", "/order sell BTCUSDT 0.1 stop 36000")
    assert stop.title == "A sell stop must be below the price now (35,000.00).", stop.title
    await desk.console("/long BTCUSDT 0.1\n/confirm\n/oco sell BTCUSDT 0.1 40000 30000\n/confirm\n", "carol")
    await desk.say("alice", "/price BTCUSDT 29000")
    assert told == ["Its stop leg filled at 29,000.00."], told
    assert await desk.exchange.open_orders("BTCUSDT") == []


def test_an_oco_that_borrows_is_marked_as_raising_risk() -> None:
    from chatbot.exchange import AccountSnapshot
    from chatbot.margin import Band, Thresholds
    from chatbot.trader.plans import side_effect_for

    info = type("I", (), {"base": "BTC"})()
    flat = AccountSnapshot(None, (), {"BTC": Decimal(1)}, Decimal(0), Decimal(0), Decimal(999), Band.EXCESSIVE,
                           Thresholds.cross(), False, None)  # type: ignore[arg-type]
    assert side_effect_for(flat, info, Side.SELL) is SideEffect.MARGIN_BUY  # type: ignore[arg-type]


async def test_closing_a_quantity_of_a_long_repays_its_share_of_the_loan(desk: DeskUnderTest) -> None:
    await desk.console("/long BTCUSDT 1\n/confirm\n", "carol")  # 15,000 USDT borrowed (+0.15 interest)
    prompt = await desk.say("carol", "/close BTCUSDT 0.2")
    assert "MARKET SELL 0.2 BTCUSDT NO_SIDE_EFFECT (cross); REPAY 3000.03000000 USDT (cross)" in prompt.text(), \
        prompt.text()
    done = await desk.say("carol", f"/confirm {short_id(prompt)}")
    assert ("Realized P&L", "+0.00 USDT trading") in done.fields, done.text()
    cross = await desk.exchange.account(None)
    assert cross.asset("BTC").free == Decimal("0.8")
    assert cross.asset("USDT").borrowed + cross.asset("USDT").interest == Decimal("12000.12")
