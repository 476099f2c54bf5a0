"""Binance's JSON shapes for the fake REST server, rendered from the paper engine's state.

Why it exists: the fake Binance (`tests/fakes/binance.py`) must answer exactly as Binance's margin
endpoints do (shared/reference/binance-margin.md §3): amounts as 8-decimal strings, ids and times as
numbers, the `TotalCollateralValueInUSDT` capital T, the 999 margin-level sentinel. Keeping the
shapes here, apart from routing and auth, lets each side stay small. Reads the engine's public
state only.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from adapters.paper import PaperBook
from adapters.paper.model import (
    InterestRow,
    LiquidationRow,
    LoanRow,
    OrderListState,
    OrderState,
    TransferRow,
)
from chatbot import margin
from chatbot.exchange import CROSS, SPOT, AccountSnapshot, OrderType

EIGHT = Decimal("0.00000001")
D0 = Decimal(0)


def s8(value: Decimal) -> str:
    """Binance's number format: a string with 8 decimals."""
    return str(value.quantize(EIGHT, rounding=ROUND_HALF_UP))


def _btc(engine: PaperBook, usdt: Decimal) -> Decimal:
    btc = engine.asset_prices.get("BTC")
    return usdt / btc if btc else D0


# ---------------------------------------------------------------------------- accounts


def _user_asset(bal: Any) -> dict[str, Any]:
    return {"asset": bal.asset, "free": s8(bal.free), "locked": s8(bal.locked), "borrowed": s8(bal.borrowed),
            "interest": s8(bal.interest), "netAsset": s8(bal.net)}


def cross_account(engine: PaperBook) -> dict[str, Any]:
    snap = engine.snapshot(None)
    assets, liab = snap.total_asset_value, snap.total_liability_value
    return {
        "created": True, "borrowEnabled": not snap.locked, "marginLevel": s8(snap.margin_level),
        "collateralMarginLevel": s8(snap.margin_level), "totalAssetOfBtc": s8(_btc(engine, assets)),
        "totalLiabilityOfBtc": s8(_btc(engine, liab)), "totalNetAssetOfBtc": s8(_btc(engine, assets - liab)),
        "TotalCollateralValueInUSDT": s8(assets), "totalOpenOrderLossInUSDT": "0.00000000",
        "tradeEnabled": not snap.locked, "transferInEnabled": True, "transferOutEnabled": not snap.locked,
        "transferEnabled": not snap.locked, "accountType": "MARGIN_1",
        "userAssets": [_user_asset(b) for b in snap.assets],
    }


def isolated_leverage(engine: PaperBook, symbol: str) -> int:
    return engine.isolated_leverage.get(symbol, engine.config.default_isolated_leverage)


def _isolated_asset(engine: PaperBook, bal: Any, created: bool) -> dict[str, Any]:
    price = engine.asset_prices.get(bal.asset, D0)
    return {**_user_asset(bal), "borrowEnabled": created, "repayEnabled": created,
            "netAssetOfBtc": s8(_btc(engine, bal.net * price)), "totalAsset": s8(bal.free + bal.locked)}


def isolated_pair(engine: PaperBook, symbol: str) -> dict[str, Any]:
    info = engine.symbols[symbol]
    created = symbol in engine.isolated_symbols()
    snap: AccountSnapshot = engine.snapshot(symbol)
    base, quote = snap.asset(info.base), snap.asset(info.quote)
    t = snap.thresholds
    liq_price = margin.liquidation_price(base.total, quote.total, base.liability, quote.liability, t.liquidation)
    return {
        "baseAsset": _isolated_asset(engine, base, created), "quoteAsset": _isolated_asset(engine, quote, created),
        "symbol": symbol, "isolatedCreated": created, "enabled": created,
        "marginLevel": s8(snap.margin_level), "marginLevelStatus": snap.band.value,
        "marginRatio": s8(Decimal(isolated_leverage(engine, symbol))),
        "indexPrice": s8(engine.prices.get(symbol, D0)), "liquidatePrice": s8(liq_price),
        "liquidateRate": s8(t.liquidation if snap.total_liability_value > 0 else D0),
        "tradeEnabled": created and not snap.locked,
    }


def isolated_account(engine: PaperBook, symbols: list[str] | None) -> dict[str, Any]:
    pairs = [isolated_pair(engine, s) for s in (symbols if symbols is not None else engine.isolated_symbols())]
    out: dict[str, Any] = {"assets": pairs}
    if symbols is None:
        assets = sum((engine.snapshot(s).total_asset_value for s in engine.isolated_symbols()), D0)
        liab = sum((engine.snapshot(s).total_liability_value for s in engine.isolated_symbols()), D0)
        out.update(totalAssetOfBtc=s8(_btc(engine, assets)), totalLiabilityOfBtc=s8(_btc(engine, liab)),
                   totalNetAssetOfBtc=s8(_btc(engine, assets - liab)))
    return out


# ---------------------------------------------------------------------------- reference data


def exchange_info(engine: PaperBook, server_ms: int) -> dict[str, Any]:
    symbols = []
    for info in engine.symbols.values():
        symbols.append({
            "symbol": info.symbol, "status": "TRADING", "baseAsset": info.base, "quoteAsset": info.quote,
            "baseAssetPrecision": 8, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "orderTypes": [t.value for t in OrderType], "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": True, "permissions": [], "permissionSets": [["SPOT", "MARGIN"]],
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": s8(info.tick_size), "maxPrice": "1000000.00000000",
                 "tickSize": s8(info.tick_size)},
                {"filterType": "LOT_SIZE", "minQty": s8(info.min_qty), "maxQty": "9000.00000000",
                 "stepSize": s8(info.step_size)},
                {"filterType": "NOTIONAL", "minNotional": s8(info.min_notional), "applyMinToMarket": True,
                 "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            ],
        })
    return {"timezone": "UTC", "serverTime": server_ms, "exchangeFilters": [], "symbols": symbols,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}]}


def all_pairs(engine: PaperBook, isolated: bool = False) -> list[dict[str, Any]]:
    out = []
    for n, info in enumerate(engine.symbols.values(), start=1):
        row: dict[str, Any] = {"symbol": info.symbol, "base": info.base, "quote": info.quote,
                               "isMarginTrade": True, "isBuyAllowed": True, "isSellAllowed": True}
        if not isolated:
            row = {"id": n, **row}
        out.append(row)
    return out


def all_assets(engine: PaperBook) -> list[dict[str, Any]]:
    rates = engine.daily_rates(None)
    return [{"assetFullName": a, "assetName": a, "isBorrowable": a in rates, "isMortgageable": True,
             "userMinBorrow": s8(engine.config.min_borrow.get(a, D0)), "userMinRepay": "0.00000000"}
            for a in sorted(engine.asset_prices)]


def borrow_limit(engine: PaperBook, asset: str, symbol: str | None = None) -> Decimal:
    limits = engine.config.borrow_limits
    if symbol and f"{symbol}:{asset}" in limits:
        return limits[f"{symbol}:{asset}"]
    return limits.get(asset, Decimal("100000000"))


def cross_margin_data(engine: PaperBook, coin: str | None) -> list[dict[str, Any]]:
    rates = engine.daily_rates(None)
    out = []
    for asset in sorted(engine.asset_prices):
        if coin is not None and asset != coin:
            continue
        rate = rates.get(asset)
        out.append({"vipLevel": 0, "coin": asset, "transferIn": True, "borrowable": rate is not None,
                    "dailyInterest": s8(rate or D0), "yearlyInterest": s8((rate or D0) * 365),
                    "borrowLimit": s8(borrow_limit(engine, asset)),
                    "marginablePairs": [i.symbol for i in engine.symbols.values() if asset in (i.base, i.quote)]})
    return out


def isolated_margin_data(engine: PaperBook, symbol: str) -> list[dict[str, Any]]:
    info = engine.symbols[symbol]
    rates = engine.daily_rates(symbol)
    data = [{"coin": a, "dailyInterest": s8(rates.get(a, D0)), "borrowLimit": s8(borrow_limit(engine, a, symbol))}
            for a in (info.base, info.quote)]
    return [{"vipLevel": 0, "symbol": symbol, "leverage": str(isolated_leverage(engine, symbol)), "data": data}]


def isolated_tier(engine: PaperBook, symbol: str) -> list[dict[str, Any]]:
    t = engine.thresholds_for(symbol)
    return [{"symbol": symbol, "tier": 1, "effectiveMultiple": str(isolated_leverage(engine, symbol)),
             "initialRiskRatio": str(t.initial), "liquidationRiskRatio": str(t.liquidation),
             "baseAssetMaxBorrowable": "1000000", "quoteAssetMaxBorrowable": "100000000"}]


def trade_coeff(engine: PaperBook) -> dict[str, str]:
    t = engine.thresholds_for(None)
    return {"normalBar": str(t.initial), "marginCallBar": str(t.margin_call), "forceLiquidationBar": str(t.liquidation)}


# ---------------------------------------------------------------------------- orders


def order(o: OrderState, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id, "price": s8(o.price),
        "origQty": s8(o.orig_qty), "executedQty": s8(o.executed_qty),
        "cummulativeQuoteQty": s8(o.cummulative_quote_qty), "status": o.status.value,
        "timeInForce": o.time_in_force, "type": o.type.value, "side": o.side.value, "stopPrice": s8(o.stop_price),
        "icebergQty": "0.00000000", "time": o.time_ms, "updateTime": o.update_ms, "isWorking": o.working,
        "isIsolated": o.isolated, "selfTradePreventionMode": "EXPIRE_MAKER", "orderListId": o.order_list_id,
    }
    if full:
        out["transactTime"] = o.time_ms
        out["fills"] = [{"price": s8(f.price), "qty": s8(f.qty), "commission": s8(f.commission),
                         "commissionAsset": f.commission_asset, "tradeId": n}
                        for n, f in enumerate(o.fills, start=1)]
        if o.margin_buy_borrow_amount > 0:
            out["marginBuyBorrowAmount"] = s8(o.margin_buy_borrow_amount)
            out["marginBuyBorrowAsset"] = o.margin_buy_borrow_asset
    return out


def order_list(olist: OrderListState, orders: dict[int, OrderState]) -> dict[str, Any]:
    legs = [orders[i] for i in olist.order_ids]
    out: dict[str, Any] = {
        "orderListId": olist.order_list_id, "contingencyType": "OCO", "listStatusType": olist.status,
        "listOrderStatus": "EXECUTING" if olist.status == "EXEC_STARTED" else "ALL_DONE",
        "listClientOrderId": olist.list_client_order_id, "transactionTime": olist.time_ms,
        "symbol": olist.symbol, "isIsolated": olist.isolated,
        "orders": [{"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id} for o in legs],
        "orderReports": [order(o) for o in legs],
    }
    if olist.margin_buy_borrow_amount > 0:
        out["marginBuyBorrowAmount"] = s8(olist.margin_buy_borrow_amount)
        out["marginBuyBorrowAsset"] = olist.margin_buy_borrow_asset
    return out


# ---------------------------------------------------------------------------- records


def loan(row: LoanRow) -> dict[str, Any]:
    out: dict[str, Any] = {"type": row.kind if row.kind in ("MANUAL", "AUTO") else "AUTO", "asset": row.asset,
                           "amount": s8(row.amount), "principal": s8(row.principal), "interest": s8(row.interest),
                           "status": row.status.value, "timestamp": row.time_ms, "txId": row.tx_id}
    if row.isolated_symbol:
        out["isolatedSymbol"] = row.isolated_symbol
    return out


def interest(row: InterestRow) -> dict[str, Any]:
    out: dict[str, Any] = {"txId": row.tx_id, "interestAccuredTime": row.time_ms, "asset": row.asset,
                           "principal": s8(row.principal), "interest": s8(row.interest),
                           "interestRate": s8(row.daily_rate), "type": row.type}
    if row.isolated_symbol:
        out["isolatedSymbol"] = row.isolated_symbol
    else:
        out["rawAsset"] = row.asset
    return out


def liquidation(row: LiquidationRow) -> dict[str, Any]:
    return {"avgPrice": s8(row.avg_price), "executedQty": s8(row.qty), "orderId": row.order_id,
            "price": s8(row.price), "qty": s8(row.qty), "side": row.side.value, "symbol": row.symbol,
            "timeInForce": "IOC", "isIsolated": row.isolated, "updatedTime": row.time_ms}


def _wallet(account: str) -> tuple[str, str | None]:
    if account == SPOT:
        return "SPOT", None
    if account == CROSS:
        return "CROSS_MARGIN", None
    return "ISOLATED_MARGIN", account.split(":", 1)[1]


def transfer(row: TransferRow, viewpoint: str) -> dict[str, Any]:
    src, src_sym = _wallet(row.from_account)
    dst, dst_sym = _wallet(row.to_account)
    out: dict[str, Any] = {"amount": s8(row.amount), "asset": row.asset, "status": "CONFIRMED",
                           "timestamp": row.time_ms, "txId": row.tx_id,
                           "type": "ROLL_IN" if row.to_account == viewpoint else "ROLL_OUT",
                           "transFrom": src, "transTo": dst}
    if src_sym:
        out["fromSymbol"] = src_sym
    if dst_sym:
        out["toSymbol"] = dst_sym
    return out
