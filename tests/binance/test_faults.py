"""The fault matrix on the live adapter: whatever goes wrong, never a duplicate order or loan.

Each case counts the POSTs the fake Binance received. Unknown outcomes (a timeout, a 503, a dropped
connection or -1007 after Binance applied the request) are reconciled by querying — the order by
its client id, the loan by its records — and the user is told the real outcome; a 503 before
applying ends as "did not reach the exchange"; 429 and 418 stop all traffic for their window (418
across a restart); -1021 resyncs the clock and retries reads, never writes; a crash between the
intent and the send is settled at the next start.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import pytest

from adapters.binance import connect
from adapters.binance.transport import CLOCK_SAMPLES
from chatbot.config import ConfigError
from chatbot.exchange import ExchangeNotReached, OrderRequest
from chatbot.replies import Severity
from chatbot.store.db import session_scope
from chatbot.store.tables import DeskState
from tests.binance.live import FAST, SYMBOLS, LiveDesk, live_settings, open_live_desk
from tests.core.desk import short_id
from tests.fakes.binance import FakeBinance
from tests.recorders import Recorder

LOANS = "/sapi/v1/margin/borrow-repay"
ORDERS = "/sapi/v1/margin/order"
ACCOUNT = "/sapi/v1/margin/account"
AFTER = ["timeout_after", "503_after", "drop_after", "-1007_after"]


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the core catches it)."""


@pytest.mark.parametrize("kind", AFTER)
async def test_order_applied_then_answer_lost(desk: LiveDesk, kind: str) -> None:
    desk.fake.fail("POST", ORDERS, kind, delay=3.0)
    reply = await desk.confirmed("carol", "/short BTCUSDT 0.1")
    assert reply.title.startswith("Done"), reply.text()
    assert desk.fake.count("POST", ORDERS) == 1
    assert desk.fake.count("GET", ORDERS) >= 1  # reconciled by origClientOrderId
    (intent,) = desk.intents()
    assert intent.state == "DONE"
    assert desk.fake.requests("GET", ORDERS)[0].params["origClientOrderId"] == intent.client_id
    assert desk.cross("BTC").borrowed == Decimal("0.1")
    assert len(desk.fake.book.orders) == 1


@pytest.mark.parametrize("kind", AFTER)
async def test_borrow_applied_then_answer_lost(desk: LiveDesk, kind: str) -> None:
    desk.fake.fail("POST", LOANS, kind, delay=3.0)
    reply = await desk.confirmed("carol", "/borrow USDT 1000")
    assert reply.title.startswith("Done"), reply.text()
    assert desk.fake.count("POST", LOANS) == 1
    assert desk.fake.count("GET", LOANS) >= 1  # reconciled by borrow-repay records
    (intent,) = desk.intents()
    assert intent.state == "DONE" and intent.exchange_ref == str(next(iter(desk.fake.book.loans)))
    assert desk.cross("USDT").borrowed == Decimal("1000")


async def test_order_503_before_applying_is_not_sent(desk: LiveDesk) -> None:
    desk.fake.fail("POST", ORDERS, "503")
    reply = await desk.confirmed("carol", "/short BTCUSDT 0.1")
    assert "did not reach the exchange" in reply.title, reply.text()
    assert desk.fake.count("POST", ORDERS) == 1
    assert desk.fake.count("GET", ORDERS) == 3  # "not found" right after a send is doubted, then believed
    (intent,) = desk.intents()
    assert intent.state == "NOT_SENT"
    assert desk.fake.book.orders == {} and desk.cross("BTC").borrowed == 0


async def test_borrow_503_before_applying_is_not_sent(desk: LiveDesk) -> None:
    desk.fake.fail("POST", LOANS, "503")
    reply = await desk.confirmed("carol", "/borrow USDT 1000")
    assert "did not reach the exchange" in reply.title, reply.text()
    assert desk.fake.count("POST", LOANS) == 1
    assert desk.intents()[0].state == "NOT_SENT"
    assert desk.cross("USDT").borrowed == 0


async def test_order_not_found_twice_then_found(desk: LiveDesk) -> None:
    desk.fake.fail("POST", ORDERS, "timeout_after", delay=3.0)
    desk.fake.fail("GET", ORDERS, "-2013", times=2)
    reply = await desk.confirmed("carol", "/long BTCUSDT 0.1")
    assert reply.title.startswith("Done"), reply.text()
    assert desk.fake.count("POST", ORDERS) == 1
    assert desk.fake.count("GET", ORDERS) == 3
    assert desk.intents()[0].state == "DONE"


async def test_429_nothing_sent_inside_the_window(desk: LiveDesk) -> None:
    desk.fake.fail("POST", LOANS, "429", retry_after=30)
    reply = await desk.confirmed("carol", "/borrow USDT 1000")
    assert reply.severity is Severity.ERROR and "(-1003)" in reply.title and "Nothing changed" in reply.title
    sent = len(desk.fake.seen)
    blocked = await desk.say("carol", "/borrow USDT 500")
    assert "rate limit" in blocked.title and "nothing is sent" in blocked.title, blocked.text()
    status = await desk.say("dave", "/status")
    assert status.severity is Severity.ERROR
    assert len(desk.fake.seen) == sent and desk.fake.violations == []
    assert desk.fake.count("POST", LOANS) == 1 and desk.cross("USDT").borrowed == 0
    assert desk.intents()[0].state == "REJECTED"


async def test_429_short_window_is_waited_out(desk: LiveDesk) -> None:
    desk.fake.fail("GET", ACCOUNT, "429", retry_after=1)
    first = await desk.say("dave", "/status")
    assert first.severity is Severity.ERROR
    limited_at = desk.fake.requests("GET", ACCOUNT)[0].at
    second = await desk.say("dave", "/status")
    assert second.title == "Status — cross margin", second.text()
    assert desk.fake.violations == []
    assert desk.fake.requests("GET", ACCOUNT)[1].at - limited_at >= 0.95


async def test_418_ban_is_persisted_and_survives_a_restart(fake: FakeBinance, db_url: str) -> None:
    desk = await open_live_desk(fake, db_url)
    fake.fail("GET", ACCOUNT, "418", retry_after=600)
    reply = await desk.say("dave", "/status")
    assert reply.severity is Severity.ERROR
    await desk.close()
    with session_scope(desk.engine) as s:
        row = s.get(DeskState, "binance_ban")
        assert row is not None
        until = json.loads(row.value_json)["until"]
    assert 590 < until - time.time() <= 600
    seen = len(fake.seen)
    with pytest.raises(ConfigError, match=r"BINANCE_API_BASE_URL: Binance banned this IP \(HTTP 418\) until"):
        await connect(live_settings(fake, db_url), engine=desk.engine, timeouts=FAST, options=SYMBOLS)
    assert len(fake.seen) == seen and fake.violations == []  # the restart sent nothing
    with session_scope(desk.engine) as s:  # the ban ends
        row = s.get(DeskState, "binance_ban")
        assert row is not None
        row.value_json = json.dumps({"until": time.time() - 1, "status": 418})
    fake.blocked_until = 0
    again = await open_live_desk(fake, db_url)
    try:
        assert (await again.say("dave", "/status")).title == "Status — cross margin"
    finally:
        await again.close()


async def test_1021_on_a_read_resyncs_and_retries(desk: LiveDesk) -> None:
    desk.fake.fail("GET", ACCOUNT, "-1021")
    before = desk.fake.count("GET", "/api/v3/time")
    reply = await desk.say("dave", "/status")
    assert reply.title == "Status — cross margin", reply.text()
    assert desk.fake.count("GET", "/api/v3/time") == before + CLOCK_SAMPLES  # the median of a few readings
    assert [s.code for s in desk.fake.requests("GET", ACCOUNT)] == [-1021, None]


async def test_1021_on_a_write_is_not_retried(desk: LiveDesk) -> None:
    desk.fake.fail("POST", ORDERS, "-1021")
    before = desk.fake.count("GET", "/api/v3/time")
    reply = await desk.confirmed("carol", "/long BTCUSDT 0.1")
    assert reply.severity is Severity.ERROR and "(-1021)" in reply.title and "send it again" in reply.title
    assert desk.fake.count("POST", ORDERS) == 1
    assert desk.fake.count("GET", "/api/v3/time") == before + CLOCK_SAMPLES
    assert desk.intents()[0].state == "REJECTED" and desk.fake.book.orders == {}


async def test_clock_drift_is_caught_by_the_first_read(desk: LiveDesk) -> None:
    await desk.fake.advance(3600)  # the exchange clock jumps an hour: every signed timestamp is stale
    reply = await desk.say("dave", "/status")
    assert reply.title == "Status — cross margin", reply.text()
    assert abs((await desk.exchange.now()) - desk.fake.book.snapshot(None).taken_at).total_seconds() < 2


def _crash_on(desk: LiveDesk, method: str, *, after_send: bool) -> None:
    original = getattr(desk.exchange, method)

    async def crashing(*args: object, **kw: object) -> object:
        if after_send:
            await original(*args, **kw)
        raise Crash

    setattr(desk.exchange, method, crashing)


@pytest.mark.parametrize(("command", "method", "path"), [
    ("/short BTCUSDT 0.1", "place_order", ORDERS), ("/borrow USDT 1000", "borrow", LOANS)])
@pytest.mark.parametrize("after_send", [False, True])
async def test_crash_around_the_send_then_restart(fake: FakeBinance, db_url: str, command: str, method: str,
                                                  path: str, after_send: bool) -> None:
    desk = await open_live_desk(fake, db_url)
    prompt = await desk.say("carol", command)
    _crash_on(desk, method, after_send=after_send)
    with pytest.raises(Crash):
        await desk.say("carol", f"/confirm {short_id(prompt)}")
    (intent,) = desk.intents()
    assert intent.state == "SUBMITTING"
    await desk.close()
    restarted = await open_live_desk(fake, db_url)  # DeskCore.start() runs Executor.reconcile_open()
    try:
        (intent,) = restarted.intents()
        assert intent.state == ("DONE" if after_send else "NOT_SENT")
        assert fake.count("POST", path) == (1 if after_send else 0)
        held = restarted.cross("BTC" if "short" in command else "USDT").borrowed
        assert held == (Decimal(command.split()[-1]) if after_send else 0)
    finally:
        await restarted.close()


async def test_connection_refused_is_not_reached(fake: FakeBinance, db_url: str) -> None:
    desk = await open_live_desk(fake, db_url)
    try:
        desk.exchange.client.MARGIN_API_URL = "http://127.0.0.1:9/sapi"  # nothing listens on the discard port
        prompt = await desk.say("carol", "/long BTCUSDT 0.1")
        assert prompt.severity is Severity.ERROR  # the preview could not read the account
        with pytest.raises(ExchangeNotReached, match="nothing was sent"):
            await desk.exchange.place_order(OrderRequest("BTCUSDT", "BUY", "MARKET",  # type: ignore[arg-type]
                                                         quantity=Decimal("0.1")))
        assert fake.count("POST", ORDERS) == 0
    finally:
        await desk.close()



async def test_a_ban_is_a_clear_answer_and_reaches_the_admins(fake: FakeBinance, db_url: str) -> None:
    desk = await open_live_desk(fake, db_url)
    try:
        inbox = Recorder()
        desk.core.notifier.register(inbox)
        fake.fail("GET", ACCOUNT, "418", retry_after=600)
        reply = await desk.say("dave", "/status")
        assert "limiting the desk's requests" in reply.title, reply.text()  # never "something went wrong"
        for _ in range(100):
            if inbox.dms:
                break
            await asyncio.sleep(0.01)
        assert sorted(name for name, title in inbox.dm_titles() if "banned this IP" in title) == ["alice", "bob"]
        assert [e.outcome for e in desk.core.audit.find("exchange.alarm")] == ["ban"]
    finally:
        await desk.close()
