"""The fake Binance's endpoints: Binance's parameters in, the paper engine's public methods, Binance's JSON out.

Why it exists: `tests/fakes/binance.py` owns the HTTP side (signatures, clock, faults, weights);
this module is the table of live endpoints the bot may use and what each does, so the fake answers
python-binance exactly as the exchange would (shared/reference/binance-margin.md §2–§4). Parameters
are parsed as Binance does (tests/fakes/binance_params.py): decimals must be plain decimal strings
(`1e-05` gets -1100), flags are `TRUE`/`FALSE`. Removed endpoints are listed in `REMOVED` and never
reach the engine.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatbot.exchange import CROSS, SPOT, LoanType, OrderRequest, OrderType, Side, SideEffect

from . import binance_history as history
from . import binance_json as js
from .binance_params import (
    DAY_MS,
    Params,
    _account_key,
    _err,
    _int,
    _page,
    _symbol,
    _window,
    amount,
    dec,
    flag,
    need,
)

if TYPE_CHECKING:
    from .binance import FakeBinance

# Binance removed these on 2024-03-31 (margin change log 2024-01-09); python-binance 1.0.37 still calls them.
REMOVED = {"/sapi/v1/margin/loan", "/sapi/v1/margin/repay", "/sapi/v1/margin/transfer:POST",
           "/sapi/v1/margin/isolated/transfer", "/sapi/v1/userDataStream", "/sapi/v1/userDataStream/isolated",
           "/sapi/v1/margin/asset", "/sapi/v1/margin/pair", "/sapi/v1/margin/isolated/pair",
           "/sapi/v1/margin/isolated/create"}


@dataclass(frozen=True)
class Route:
    security: str  # NONE | KEY | SIGNED
    weight: int  # IP weight (X-MBX-USED-WEIGHT-1M for /api, X-SAPI-USED-IP-WEIGHT-1M for /sapi)
    uid_weight: int
    handler: Callable[[FakeBinance, Params], Any]


# ---------------------------------------------------------------------------- spot & reference


def ping(fake: FakeBinance, p: Params) -> Any:
    return {}


def server_time(fake: FakeBinance, p: Params) -> Any:
    return {"serverTime": fake.now_ms}


def exchange_info(fake: FakeBinance, p: Params) -> Any:
    return js.exchange_info(fake.book, fake.now_ms)


def ticker_price(fake: FakeBinance, p: Params) -> Any:
    if "symbol" in p:
        sym = _symbol(fake, p)
        return {"symbol": sym, "price": js.s8(fake.book.prices[sym])}
    return [{"symbol": s, "price": js.s8(v)} for s, v in sorted(fake.book.prices.items())]


def spot_account(fake: FakeBinance, p: Params) -> Any:
    return {"makerCommission": 10, "takerCommission": 10, "canTrade": True, "canWithdraw": False,
            "canDeposit": True, "accountType": "SPOT", "updateTime": fake.now_ms, "permissions": ["SPOT", "MARGIN"],
            "balances": [{"asset": a, "free": js.s8(v), "locked": "0.00000000"}
                         for a, v in fake.book.spot_balances().items()]}


def api_restrictions(fake: FakeBinance, p: Params) -> Any:
    return {"ipRestrict": True, "createTime": fake.now_ms - DAY_MS, "enableInternalTransfer": False,
            "enableFutures": False, "enablePortfolioMarginTrading": False, "enableVanillaOptions": False,
            "permitsUniversalTransfer": True, "enableReading": True, "enableSpotAndMarginTrading": True,
            "enableWithdrawals": False, "enableMargin": True, **fake.restrictions}


def trade_fee(fake: FakeBinance, p: Params) -> Any:
    syms = [_symbol(fake, p)] if "symbol" in p else sorted(fake.book.symbols)
    cfg = fake.book.config
    return [{"symbol": s, "makerCommission": str(cfg.maker_fee), "takerCommission": str(cfg.taker_fee)}
            for s in syms]


def all_assets(fake: FakeBinance, p: Params) -> Any:
    rows = js.all_assets(fake.book)
    return [r for r in rows if r["assetName"] == p["asset"]] if "asset" in p else rows


def all_pairs(fake: FakeBinance, p: Params) -> Any:
    rows = js.all_pairs(fake.book)
    return [r for r in rows if r["symbol"] == p["symbol"]] if "symbol" in p else rows


def isolated_all_pairs(fake: FakeBinance, p: Params) -> Any:
    rows = js.all_pairs(fake.book, isolated=True)
    return [r for r in rows if r["symbol"] == p["symbol"]] if "symbol" in p else rows


def price_index(fake: FakeBinance, p: Params) -> Any:
    sym = _symbol(fake, p)
    price = fake.book.prices.get(sym)
    if price is None:
        raise _err(-3042, "PriceIndex not available for this margin pair.")
    return {"calcTime": fake.now_ms, "price": js.s8(price), "symbol": sym}


def trade_coeff(fake: FakeBinance, p: Params) -> Any:
    return js.trade_coeff(fake.book)


def cross_margin_data(fake: FakeBinance, p: Params) -> Any:
    return js.cross_margin_data(fake.book, p.get("coin"))


def isolated_margin_data(fake: FakeBinance, p: Params) -> Any:
    return js.isolated_margin_data(fake.book, _symbol(fake, p))


def isolated_tier(fake: FakeBinance, p: Params) -> Any:
    return js.isolated_tier(fake.book, _symbol(fake, p))


# ---------------------------------------------------------------------------- accounts


def cross_account(fake: FakeBinance, p: Params) -> Any:
    return js.cross_account(fake.book)


def isolated_account(fake: FakeBinance, p: Params) -> Any:
    symbols = [s.strip().upper() for s in p["symbols"].split(",")] if p.get("symbols") else None
    for s in symbols or ():
        if s not in fake.book.symbols:
            raise _err(-1121, "Invalid symbol.")
    return js.isolated_account(fake.book, symbols)


def max_borrowable(fake: FakeBinance, p: Params) -> Any:
    iso = p.get("isolatedSymbol")
    asset = need(p, "asset").upper()
    value = fake.book.max_borrowable(fake.book.account_key(iso), asset)
    return {"amount": js.s8(value), "borrowLimit": js.s8(js.borrow_limit(fake.book, asset, iso))}


def max_transferable(fake: FakeBinance, p: Params) -> Any:
    iso = p.get("isolatedSymbol")
    value = fake.book.max_transferable(fake.book.account_key(iso), need(p, "asset").upper())
    return {"amount": js.s8(value)}


# ---------------------------------------------------------------------------- loans & transfers


def borrow_repay(fake: FakeBinance, p: Params) -> Any:
    kind = need(p, "type")
    if kind not in ("BORROW", "REPAY"):
        raise _err(-1102, "Mandatory parameter 'type' was not sent, was empty/null, or malformed.")
    key = _account_key(fake, p)
    asset, value = need(p, "asset").upper(), amount(p)
    tx = fake.book.borrow(key, asset, value) if kind == "BORROW" else fake.book.repay(key, asset, value)
    return {"tranId": tx}


def borrow_repay_records(fake: FakeBinance, p: Params) -> Any:
    want = LoanType(need(p, "type"))
    iso, asset, tx = p.get("isolatedSymbol"), p.get("asset"), _int(p, "txId")
    start, end = _window(fake, p, 30 if asset else 7)
    rows = [r for r in fake.book.loans.values()
            if r.type == want and r.isolated_symbol == iso and (asset is None or r.asset == asset)
            and (tx is None or r.tx_id == tx) and (tx is not None or start <= r.time_ms <= end)]
    rows.sort(key=lambda r: (r.time_ms, r.tx_id), reverse=True)
    return _page(rows, p, js.loan)


def interest_history(fake: FakeBinance, p: Params) -> Any:
    iso, asset = p.get("isolatedSymbol"), p.get("asset")
    start, end = _window(fake, p, 7)
    if end - start > 30 * DAY_MS:
        raise _err(-1127, "More than 30 days between startTime and endTime.")
    rows = [r for r in fake.book.interest if r.isolated_symbol == iso and (asset is None or r.asset == asset)
            and start <= r.time_ms <= end]
    rows.sort(key=lambda r: (r.time_ms, r.tx_id), reverse=True)
    return _page(rows, p, js.interest)


def liquidations(fake: FakeBinance, p: Params) -> Any:
    iso = p.get("isolatedSymbol")
    key = fake.book.account_key(iso)
    start, end = _window(fake, p, 90)
    rows = [r for r in fake.book.liquidations if r.account == key and start <= r.time_ms <= end]
    rows.sort(key=lambda r: (r.time_ms, r.order_id), reverse=True)
    return _page(rows, p, js.liquidation)


UNIVERSAL = {"MAIN_MARGIN": (SPOT, CROSS), "MARGIN_MAIN": (CROSS, SPOT),
             "MARGIN_ISOLATEDMARGIN": (CROSS, "ISOLATED:{to}"), "ISOLATEDMARGIN_MARGIN": ("ISOLATED:{frm}", CROSS),
             "ISOLATEDMARGIN_ISOLATEDMARGIN": ("ISOLATED:{frm}", "ISOLATED:{to}")}


def universal_transfer(fake: FakeBinance, p: Params) -> Any:
    kind = need(p, "type")
    if kind not in UNIVERSAL:
        raise _err(-1102, "Mandatory parameter 'type' was not sent, was empty/null, or malformed.")
    src, dst = UNIVERSAL[kind]
    names = {"frm": p.get("fromSymbol", ""), "to": p.get("toSymbol", "")}
    if ("{frm}" in src and not names["frm"]) or ("{to}" in dst and not names["to"]):
        raise _err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
    tx = fake.book.transfer(need(p, "asset").upper(), amount(p), src.format(**names), dst.format(**names))
    return {"tranId": tx}


def transfer_history(fake: FakeBinance, p: Params) -> Any:
    iso = p.get("isolatedSymbol")
    view = f"ISOLATED:{iso}" if iso else CROSS
    start, end = _window(fake, p, 7)
    rows = [r for r in fake.book.transfers if view in (r.from_account, r.to_account)
            and (p.get("asset") is None or r.asset == p["asset"]) and start <= r.time_ms <= end]
    rows.sort(key=lambda r: (r.time_ms, r.tx_id), reverse=True)
    return _page(rows, p, lambda r: js.transfer(r, view))


# ---------------------------------------------------------------------------- orders


def new_order(fake: FakeBinance, p: Params) -> Any:
    req = OrderRequest(
        symbol=_symbol(fake, p), side=Side(need(p, "side")), type=OrderType(need(p, "type")),
        quantity=dec(p, "quantity", False), quote_order_qty=dec(p, "quoteOrderQty", False),
        price=dec(p, "price", False), stop_price=dec(p, "stopPrice", False), time_in_force=p.get("timeInForce"),
        side_effect=SideEffect(p.get("sideEffectType", "NO_SIDE_EFFECT")), isolated=flag(p),
        client_order_id=p.get("newClientOrderId"),
        auto_repay_at_cancel=p.get("autoRepayAtCancel", "true").lower() != "false",
    )
    return js.order(fake.book.place_order(req), full=True)


def _order_ref(p: Params) -> tuple[int | None, str | None]:
    return _int(p, "orderId"), p.get("origClientOrderId")


def get_order(fake: FakeBinance, p: Params) -> Any:
    oid, cid = _order_ref(p)
    return js.order(fake.book.get_order(_symbol(fake, p), oid, cid, flag(p)))


def cancel_order(fake: FakeBinance, p: Params) -> Any:
    oid, cid = _order_ref(p)
    order = fake.book.cancel_order(_symbol(fake, p), oid, cid, flag(p))
    return {**js.order(order), "origClientOrderId": order.client_order_id,
            "clientOrderId": p.get("newClientOrderId") or secrets.token_hex(11)}  # the cancel's own id


def open_orders(fake: FakeBinance, p: Params) -> Any:
    iso = flag(p)
    if iso and "symbol" not in p:
        raise _err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
    sym = _symbol(fake, p) if "symbol" in p else None
    return [js.order(o) for o in fake.book.open_orders(sym, iso)]


def all_orders(fake: FakeBinance, p: Params) -> Any:
    sym, iso = _symbol(fake, p), flag(p)
    rows = [o for _, o in sorted(fake.book.orders.items()) if o.symbol == sym and o.isolated == iso]
    return [js.order(o) for o in rows[-int(p.get("limit", "500")):]]


def new_oco(fake: FakeBinance, p: Params) -> Any:
    olist = fake.book.place_oco(
        _symbol(fake, p), Side(need(p, "side")), amount(p, "quantity"), amount(p, "price"), amount(p, "stopPrice"),
        stop_limit_price=dec(p, "stopLimitPrice", False),
        side_effect=SideEffect(p.get("sideEffectType", "NO_SIDE_EFFECT")), isolated=flag(p),
        list_client_order_id=p.get("listClientOrderId"))
    return js.order_list(olist, fake.book.orders)


def get_oco(fake: FakeBinance, p: Params) -> Any:
    olist = fake.book.get_order_list(_symbol(fake, p), _int(p, "orderListId"), p.get("origClientOrderId"),
                                       flag(p))
    return js.order_list(olist, fake.book.orders)


def cancel_oco(fake: FakeBinance, p: Params) -> Any:
    olist = fake.book.cancel_order_list(_symbol(fake, p), _int(p, "orderListId"), p.get("listClientOrderId"),
                                          flag(p))
    return js.order_list(olist, fake.book.orders)


# ---------------------------------------------------------------------------- risk stream


def listen_key_new(fake: FakeBinance, p: Params) -> Any:
    key = secrets.token_hex(16)
    fake.listen_keys.add(key)
    return {"listenKey": key}


def listen_key_keep(fake: FakeBinance, p: Params) -> Any:
    if need(p, "listenKey") not in fake.listen_keys:
        raise _err(-1125, "This listenKey does not exist.")
    return {}


def listen_key_close(fake: FakeBinance, p: Params) -> Any:
    fake.listen_keys.discard(need(p, "listenKey"))
    return {}


S, K, N = "SIGNED", "KEY", "NONE"
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v3/ping"): Route(N, 1, 0, ping),
    ("GET", "/api/v3/time"): Route(N, 1, 0, server_time),
    ("GET", "/api/v3/exchangeInfo"): Route(N, 20, 0, exchange_info),
    ("GET", "/api/v3/ticker/price"): Route(N, 4, 0, ticker_price),
    ("GET", "/api/v3/ticker/24hr"): Route(N, 2, 0, history.ticker_24h),
    ("GET", "/sapi/v1/margin/myTrades"): Route(S, 10, 0, history.my_trades),
    ("GET", "/api/v3/account"): Route(S, 20, 0, spot_account),
    ("GET", "/sapi/v1/account/apiRestrictions"): Route(S, 1, 0, api_restrictions),
    ("GET", "/sapi/v1/asset/tradeFee"): Route(S, 1, 0, trade_fee),
    ("GET", "/sapi/v1/margin/allAssets"): Route(K, 1, 0, all_assets),
    ("GET", "/sapi/v1/margin/allPairs"): Route(K, 1, 0, all_pairs),
    ("GET", "/sapi/v1/margin/isolated/allPairs"): Route(S, 10, 0, isolated_all_pairs),
    ("GET", "/sapi/v1/margin/priceIndex"): Route(K, 10, 0, price_index),
    ("GET", "/sapi/v1/margin/tradeCoeff"): Route(S, 10, 0, trade_coeff),
    ("GET", "/sapi/v1/margin/crossMarginData"): Route(S, 1, 0, cross_margin_data),
    ("GET", "/sapi/v1/margin/isolatedMarginData"): Route(S, 1, 0, isolated_margin_data),
    ("GET", "/sapi/v1/margin/isolatedMarginTier"): Route(S, 1, 0, isolated_tier),
    ("GET", "/sapi/v1/margin/account"): Route(S, 10, 0, cross_account),
    ("GET", "/sapi/v1/margin/isolated/account"): Route(S, 10, 0, isolated_account),
    ("GET", "/sapi/v1/margin/maxBorrowable"): Route(S, 0, 750, max_borrowable),
    ("GET", "/sapi/v1/margin/maxTransferable"): Route(S, 50, 0, max_transferable),
    ("POST", "/sapi/v1/margin/borrow-repay"): Route(S, 0, 1500, borrow_repay),
    ("GET", "/sapi/v1/margin/borrow-repay"): Route(S, 10, 0, borrow_repay_records),
    ("GET", "/sapi/v1/margin/interestHistory"): Route(S, 1, 0, interest_history),
    ("GET", "/sapi/v1/margin/forceLiquidationRec"): Route(S, 1, 0, liquidations),
    ("GET", "/sapi/v1/margin/transfer"): Route(S, 1, 0, transfer_history),
    ("POST", "/sapi/v1/asset/transfer"): Route(S, 0, 900, universal_transfer),
    ("POST", "/sapi/v1/margin/order"): Route(S, 0, 6, new_order),
    ("GET", "/sapi/v1/margin/order"): Route(S, 10, 0, get_order),
    ("DELETE", "/sapi/v1/margin/order"): Route(S, 0, 10, cancel_order),
    ("GET", "/sapi/v1/margin/openOrders"): Route(S, 10, 0, open_orders),
    ("GET", "/sapi/v1/margin/allOrders"): Route(S, 200, 0, all_orders),
    ("POST", "/sapi/v1/margin/order/oco"): Route(S, 0, 6, new_oco),
    ("GET", "/sapi/v1/margin/orderList"): Route(S, 10, 0, get_oco),
    ("DELETE", "/sapi/v1/margin/orderList"): Route(S, 0, 1, cancel_oco),
    ("POST", "/sapi/v1/margin/listen-key"): Route(K, 1, 0, listen_key_new),
    ("PUT", "/sapi/v1/margin/listen-key"): Route(K, 1, 0, listen_key_keep),
    ("DELETE", "/sapi/v1/margin/listen-key"): Route(K, 1, 0, listen_key_close),
}
