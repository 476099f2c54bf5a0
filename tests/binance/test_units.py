"""The adapter's pure parts: amounts out as exact decimal strings, numbers in as Decimal, order parameters,
error classification, and the rate-limit gate's arithmetic and ban persistence."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from binance.exceptions import BinanceAPIException
from hypothesis import given
from hypothesis import strategies as st

from adapters.binance import wire
from adapters.binance.errors import Kind, kind_of, to_port_error
from adapters.binance.gate import BanStore, RateGate
from adapters.binance.orders import order_params
from chatbot.exchange import (
    ExchangeError,
    ExchangeUnavailable,
    OrderNotFound,
    OrderRequest,
    OrderType,
    RateLimited,
    Side,
    SideEffect,
)
from chatbot.store import migrate
from chatbot.store.db import make_engine


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1000"), "1000"), (Decimal("0.00001000"), "0.00001"), (Decimal("1E+3"), "1000"),
    (Decimal("1e-8"), "0.00000001"), (5, "5"), (Decimal("100.10"), "100.1"), (Decimal("0"), "0"),
])
def test_amounts_go_out_as_plain_decimals(value: Decimal, text: str) -> None:
    assert wire.amount(value) == text


@pytest.mark.parametrize("value", [0.1, True, "1", None])
def test_floats_and_other_types_are_never_sent(value: object) -> None:
    with pytest.raises(TypeError):
        wire.amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [Decimal("-1"), Decimal("NaN"), Decimal("Infinity")])
def test_unsendable_amounts(value: Decimal) -> None:
    with pytest.raises(ValueError):
        wire.amount(value)


@given(st.decimals(min_value=0, max_value=10**12, places=8, allow_nan=False, allow_infinity=False))
def test_amount_round_trips_exactly(value: Decimal) -> None:
    text = wire.amount(value)
    assert "e" not in text.lower() and Decimal(text) == value


def test_numbers_come_back_as_decimal() -> None:
    assert wire.dec("0.00100000") == Decimal("0.001")
    assert wire.dec(5) == Decimal(5) and isinstance(wire.dec(5), Decimal)
    assert wire.dec(0.1) == Decimal("0.1")  # a JSON number is read through its shortest repr
    for bad in (None, "abc", "NaN", True):
        with pytest.raises(wire.WireError):
            wire.dec(bad)


def test_full_order_response_is_decimal_throughout() -> None:
    order = wire.order({"symbol": "BTCUSDT", "orderId": 7, "clientOrderId": "dmb1", "transactTime": 1704068400000,
                        "price": "0.00000000", "origQty": "1.00000000", "executedQty": "1.00000000",
                        "cummulativeQuoteQty": "35000.00000000", "status": "FILLED", "timeInForce": "GTC",
                        "type": "MARKET", "side": "SELL", "marginBuyBorrowAmount": 1, "marginBuyBorrowAsset": "BTC",
                        "isIsolated": False, "fills": [{"price": "35000.00000000", "qty": "1.00000000",
                                                        "commission": "0.00000000", "commissionAsset": "USDT"}]})
    assert order.cummulative_quote_qty == Decimal("35000") and order.margin_buy_borrow_amount == Decimal(1)
    assert order.fills[0].price == Decimal("35000") and order.time.isoformat() == "2024-01-01T00:20:00+00:00"
    with pytest.raises(wire.WireError, match="orderId"):
        wire.order({"symbol": "BTCUSDT"})


def test_order_parameters() -> None:
    params = order_params(OrderRequest("btcusdt", Side.SELL, OrderType.MARKET, quantity=Decimal("0.10000"),
                                       side_effect=SideEffect.MARGIN_BUY, isolated=True, client_order_id="dmb-1.a_b"))
    assert params == {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "isIsolated": "TRUE",
                      "newClientOrderId": "dmb-1.a_b", "sideEffectType": "MARGIN_BUY", "newOrderRespType": "FULL",
                      "quantity": "0.1", "autoRepayAtCancel": "true"}
    limit = order_params(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal(1),
                                      price=Decimal("30000.5")))
    assert limit["timeInForce"] == "GTC" and limit["price"] == "30000.5" and "autoRepayAtCancel" not in limit
    assert limit["newClientOrderId"].startswith("dmb") and len(limit["newClientOrderId"]) <= 36
    for bad in ("bot:1", "a/b", "x" * 37, ""):
        with pytest.raises(ExchangeError, match="client order id"):
            order_params(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=Decimal(1),
                                      client_order_id=bad))


def api_error(status: int, body: str) -> BinanceAPIException:
    return BinanceAPIException(SimpleNamespace(text=body), status, body)  # the response: only its text is read


@pytest.mark.parametrize(("exc", "kind"), [
    (api_error(400, '{"code": -2010, "msg": "Account has insufficient balance."}'), Kind.REFUSED),
    (api_error(429, '{"code": -1003, "msg": "Too many requests."}'), Kind.RATE_LIMITED),
    (api_error(418, '{"code": -1003, "msg": "IP banned."}'), Kind.RATE_LIMITED),
    (api_error(400, '{"code": -1021, "msg": "Timestamp outside recvWindow."}'), Kind.CLOCK),
    (api_error(503, "<html>Service Unavailable</html>"), Kind.UNKNOWN),
    (api_error(400, '{"code": -1006, "msg": "Unexpected response."}'), Kind.UNKNOWN),
    (api_error(408, '{"code": -1007, "msg": "Timeout waiting for response."}'), Kind.UNKNOWN),
    (TimeoutError(), Kind.UNKNOWN),
    (aiohttp.ServerDisconnectedError(), Kind.UNKNOWN),
    (aiohttp.ConnectionTimeoutError(), Kind.NOT_REACHED),
])
def test_errors_are_classified(exc: BaseException, kind: Kind) -> None:
    assert kind_of(exc) is kind


def test_port_errors() -> None:
    assert isinstance(to_port_error(api_error(400, '{"code": -2013, "msg": "Order does not exist."}'), "GET x"),
                      OrderNotFound)
    limited = to_port_error(api_error(429, '{"code": -1003, "msg": "Too many."}'), "GET x", 12.0)
    assert isinstance(limited, RateLimited) and limited.retry_after == 12.0
    unknown = to_port_error(api_error(503, "<html>"), "POST /sapi/v1/margin/order")
    assert isinstance(unknown, ExchangeUnavailable) and "outcome is unknown" in str(unknown)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_gate_pressure_and_slowdown() -> None:
    clock = Clock()
    gate = RateGate(clock=clock)
    await gate.observe(200, {"X-SAPI-USED-IP-WEIGHT-1M": "1200", "X-MBX-USED-WEIGHT-1M": "60"})
    assert gate.pressure() == pytest.approx(0.1) and gate.slowdown() == 1.0
    await gate.observe(200, {"X-SAPI-USED-IP-WEIGHT-1M": "7800"})
    assert gate.pressure() == pytest.approx(0.65) and gate.slowdown() == pytest.approx(2.5)
    clock.now += 60  # a new minute: last minute's usage no longer counts
    assert gate.pressure() == 0.0


async def test_gate_waits_short_windows_and_refuses_long_ones() -> None:
    gate = RateGate(max_wait=0.5)
    await gate.observe(429, {"Retry-After": "0.2"})
    started = time.monotonic()
    await gate.admit()
    assert time.monotonic() - started >= 0.15
    await gate.observe(429, {"Retry-After": "30"})
    with pytest.raises(RateLimited) as info:
        await gate.admit()
    assert 29 < info.value.retry_after <= 30 and info.value.http_status == 429


async def test_ban_is_persisted_and_restored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ban.db"
    migrate.upgrade(url)
    engine = make_engine(url)
    clock = Clock()
    gate = RateGate(BanStore(engine), clock=clock)
    await gate.observe(418, {"Retry-After": "7200"})
    restarted = RateGate(BanStore(engine), clock=clock)
    ban = restarted.restore()
    assert ban is not None and ban.until == clock.now + 7200 and ban.status == 418
    with pytest.raises(RateLimited, match="banned this IP"):
        await restarted.admit()
    clock.now += 7201
    assert RateGate(BanStore(engine), clock=clock).restore() is None
    engine.dispose()
