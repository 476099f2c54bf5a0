"""Promise: reconciliation finds only its own loan — never an older one, never one another intent claimed.

The exchange's borrow endpoint has no client id (Binance's neither), so an unknown outcome is looked up
in the loan records. Here the borrow never reached the exchange, but an earlier loan of the same
asset and amount sits in the records: it must not be claimed. Loans are single-flight per account and
asset for that reason; a second member's loan meanwhile waits its turn instead of failing.
"""

from __future__ import annotations

import asyncio
import json
import threading
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from adapters.paper import PaperExchange
from chatbot.exchange import ExchangeUnavailable
from chatbot.execution import DONE, NOT_SENT, UNKNOWN
from chatbot.store.tables import Intent
from tests.core.desk import DeskUnderTest, intents, short_id


class Flaky:
    """The paper exchange, with borrows that never arrive and queries that can be switched off."""

    def __init__(self, exchange: PaperExchange) -> None:
        self.exchange = exchange
        self.lose_borrows = False
        self.down = False
        self.down_after_loss = False  # the exchange becomes unreachable right after the lost send

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exchange, name)

    async def borrow(self, *args: Any, **kw: Any) -> int:
        if self.lose_borrows:
            self.down = self.down or self.down_after_loss
            raise ExchangeUnavailable("connect timeout")  # never reached the exchange
        return await self.exchange.borrow(*args, **kw)

    async def loan_records(self, *args: Any, **kw: Any) -> Any:
        if self.down:
            raise ExchangeUnavailable("exchange unreachable")
        return await self.exchange.loan_records(*args, **kw)


def flaky(desk: DeskUnderTest) -> Flaky:
    wrapped = Flaky(desk.exchange)
    desk.core.services.exchange = desk.core.executor.exchange = wrapped  # type: ignore[assignment]
    return wrapped


async def borrow(desk: DeskUnderTest, amount: str) -> str:
    prompt = await desk.say("carol", f"/borrow USDT {amount}")
    return (await desk.say("carol", f"/confirm {short_id(prompt)}")).title


async def test_an_older_loan_of_the_same_amount_is_not_claimed(desk: DeskUnderTest) -> None:
    ex = flaky(desk)
    assert (await borrow(desk, "1000")).startswith("Done")
    ex.lose_borrows = True
    title = await borrow(desk, "1000")  # same asset, same amount, same (manual) paper minute
    assert "did not reach the exchange" in title
    first, second = intents(desk)
    assert (first.state, second.state) == (DONE, NOT_SENT)
    assert second.exchange_ref is None and json.loads(second.params_json)["seen_before"] == [int(first.exchange_ref)]
    assert (await desk.exchange.account(None)).asset("USDT").borrowed == Decimal("1000")


async def test_loans_are_single_flight_and_trading_waits_for_an_unknown_outcome(desk: DeskUnderTest) -> None:
    ex = flaky(desk)
    ex.lose_borrows = ex.down_after_loss = True  # the send is lost, then the records cannot be read
    title = await borrow(desk, "500")
    assert "outcome unknown" in title
    assert [i.state for i in intents(desk)] == [UNKNOWN]
    blocked = await desk.say("carol", "/borrow USDT 500")
    assert "still being reconciled" in blocked.title and not blocked.actions
    pending = await desk.say("carol", "/pending")
    assert pending.table is not None and pending.table.rows[0][3] == "executing"
    ex.lose_borrows = ex.down = ex.down_after_loss = False  # back: recovery settles it (it never arrived)
    await desk.core.recovery.run_once()
    assert [i.state for i in intents(desk)] == [NOT_SENT]
    assert (await borrow(desk, "500")).startswith("Done")


async def test_a_record_claimed_by_one_intent_is_never_claimed_by_another(desk: DeskUnderTest) -> None:
    assert (await borrow(desk, "250")).startswith("Done")
    (claimed,) = intents(desk)
    executor = desk.core.executor
    # A second intent for the same loan shape, from before that loan was made (an impossible overlap the
    # single-flight key prevents): reconciling it must not take the first intent's record.
    params = {**json.loads(claimed.params_json), "seen_before": []}
    with Session(desk.core.engine) as s:
        other = Intent(client_id="dmbsecond0000000000000000000", kind="borrow", params_json=json.dumps(params),
                       state=UNKNOWN, owner=None)
        s.add(other)
        s.commit()
        s.refresh(other)
        assert other.id is not None
        other_id = other.id
    assert await executor.reconcile(other_id) == NOT_SENT
    assert [(i.state, i.exchange_ref) for i in intents(desk)] == [(DONE, claimed.exchange_ref), (NOT_SENT, None)]


class HeldBorrow:
    """The paper exchange; the first borrow is held at the exchange until released (from any thread)."""

    def __init__(self, exchange: PaperExchange) -> None:
        self.exchange = exchange
        self.entered, self.release = threading.Event(), threading.Event()
        self.record_reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exchange, name)

    async def loan_records(self, *args: Any, **kw: Any) -> Any:
        self.record_reads += 1
        return await self.exchange.loan_records(*args, **kw)

    async def borrow(self, *args: Any, **kw: Any) -> int:
        if not self.entered.is_set():
            self.entered.set()
            await asyncio.to_thread(self.release.wait, 10)
        return await self.exchange.borrow(*args, **kw)


async def test_a_loan_waits_for_another_loan_of_its_asset_instead_of_failing(desk: DeskUnderTest) -> None:
    held = HeldBorrow(desk.exchange)
    desk.core.services.exchange = desk.core.executor.exchange = held  # type: ignore[assignment]
    carol = short_id(await desk.say("carol", "/borrow USDT 300"))
    alice = short_id(await desk.say("alice", "/borrow USDT 300"))
    first = asyncio.create_task(desk.say("carol", f"/confirm {carol}"))
    assert await asyncio.to_thread(held.entered.wait, 5)  # carol's loan is in flight at the exchange
    second = asyncio.create_task(desk.say("alice", f"/confirm {alice}"))
    reads = held.record_reads
    while held.record_reads < reads + 2 and not second.done():  # alice found it in flight, and looked again
        await asyncio.sleep(0.01)
    held.release.set()
    titles = [r.title for r in await asyncio.gather(first, second)]
    assert all(t.startswith("Done") for t in titles), titles
    assert [i.state for i in intents(desk)] == [DONE, DONE]
    assert (await desk.exchange.account(None)).asset("USDT").borrowed == Decimal("600")


async def test_a_loan_that_lands_while_trading_is_checked_does_not_block_the_next_request(
        desk: DeskUnderTest) -> None:
    """Before previewing, a request asks whether any exchange call is unsettled. If carol's loan lands
    between that question's read and its look at what this process is sending, alice must not be told
    "still being reconciled": the intent settled before its sender let go of it, so look again."""
    held = HeldBorrow(desk.exchange)
    desk.core.services.exchange = desk.core.executor.exchange = held  # type: ignore[assignment]
    asked, landed = threading.Event(), threading.Event()
    armed = [False]

    def pause(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if armed[0] and "INTENTS.STATE, INTENTS.OWNER" in statement.upper():  # the check's read of open intents
            armed[0] = False
            asked.set()
            landed.wait(10)  # alice's check has read carol's intent as open; now carol's loan lands

    carol = short_id(await desk.say("carol", "/borrow USDT 300"))
    first = asyncio.create_task(desk.say("carol", f"/confirm {carol}"))
    assert await asyncio.to_thread(held.entered.wait, 5)  # carol's loan is at the exchange
    event.listen(desk.core.engine, "after_cursor_execute", pause)
    try:
        armed[0] = True
        second = asyncio.create_task(desk.say("alice", "/borrow USDT 100"))
        assert await asyncio.to_thread(asked.wait, 5)
        held.release.set()
        assert (await asyncio.wait_for(first, 5)).title.startswith("Done")
        landed.set()
        prompt = await asyncio.wait_for(second, 5)
        assert "borrow 100 USDT" in prompt.title, prompt.title
    finally:
        held.release.set()
        landed.set()
        event.remove(desk.core.engine, "after_cursor_execute", pause)
