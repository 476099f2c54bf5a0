"""Margin order parameters, exactly as Binance must receive them.

Why it exists: an order is the one request whose bytes matter most. The client id is the intent's
(`newClientOrderId`, `[A-Za-z0-9._-]{1,36}`: python-binance signs the unencoded value while the
body goes out percent-encoded, so a ':' or '/' would be refused with -1022); amounts are plain
decimal strings; `isIsolated` is `TRUE`/`FALSE`; `autoRepayAtCancel` is sent only where Binance
applies it. Pure functions, so tests can pin the parameters without a network.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from chatbot.exchange import ExchangeError, OrderRequest, OrderType, Side, SideEffect

from . import wire

CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,36}$")
LIMIT_TYPES = {OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT}
BORROWING = {SideEffect.MARGIN_BUY, SideEffect.AUTO_BORROW_REPAY}


def client_id(given: str | None, prefix: str = "dmb") -> str:
    """The given id, checked; or a fresh one of the same safe alphabet."""
    if given is None:
        return prefix + uuid.uuid4().hex[:24]
    if not CLIENT_ID.match(given):
        raise ExchangeError(-1100, f"client order id {given!r} must be 1-36 characters of A-Z a-z 0-9 . _ -")
    return given


def _put(params: dict[str, Any], name: str, value: Decimal | None) -> None:
    if value is not None:
        params[name] = wire.amount(value)


def order_params(req: OrderRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "symbol": req.symbol.upper(), "side": Side(req.side).value, "type": OrderType(req.type).value,
        "isIsolated": wire.flag(req.isolated), "newClientOrderId": client_id(req.client_order_id),
        "sideEffectType": SideEffect(req.side_effect).value, "newOrderRespType": "FULL"}
    _put(params, "quantity", req.quantity)
    _put(params, "quoteOrderQty", req.quote_order_qty)
    _put(params, "price", req.price)
    _put(params, "stopPrice", req.stop_price)
    if req.type in LIMIT_TYPES:
        params["timeInForce"] = (req.time_in_force or "GTC").upper()
    if req.side_effect in BORROWING:
        params["autoRepayAtCancel"] = "true" if req.auto_repay_at_cancel else "false"
    return params


def oco_params(symbol: str, side: Side, quantity: Decimal, price: Decimal, stop_price: Decimal, *,
               stop_limit_price: Decimal | None, side_effect: SideEffect, isolated: bool,
               list_client_order_id: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"symbol": symbol.upper(), "side": Side(side).value, "quantity": wire.amount(quantity),
              "price": wire.amount(price), "stopPrice": wire.amount(stop_price), "isIsolated": wire.flag(isolated),
              "sideEffectType": SideEffect(side_effect).value,
              "listClientOrderId": client_id(list_client_order_id, "dmbl"), "newOrderRespType": "FULL"}
    if stop_limit_price is not None:
        params["stopLimitPrice"] = wire.amount(stop_limit_price)
        params["stopLimitTimeInForce"] = "GTC"
    return params


def order_ref(symbol: str, order_id: int | None, client_order_id: str | None, isolated: bool) -> dict[str, Any]:
    """`orderId` or `origClientOrderId` (one is required), for a query or a cancel."""
    if order_id is None and client_order_id is None:
        raise ExchangeError(-1102, "Mandatory parameter 'orderId' was not sent, was empty/null, or malformed.")
    params: dict[str, Any] = {"symbol": symbol.upper(), "isIsolated": wire.flag(isolated)}
    if order_id is not None:
        params["orderId"] = str(int(order_id))
    else:
        params["origClientOrderId"] = client_id(client_order_id)
    return params


def list_ref(symbol: str, order_list_id: int | None, list_client_order_id: str | None, isolated: bool,
             client_field: str) -> dict[str, Any]:
    """`orderListId` or the list's client id (`listClientOrderId` to cancel, `origClientOrderId` to query)."""
    if order_list_id is None and list_client_order_id is None:
        raise ExchangeError(-1102, "Mandatory parameter 'orderListId' was not sent, was empty/null, or malformed.")
    params: dict[str, Any] = {"symbol": symbol.upper(), "isIsolated": wire.flag(isolated)}
    if order_list_id is not None:
        params["orderListId"] = str(int(order_list_id))
    else:
        params[client_field] = str(list_client_order_id)
    return params
