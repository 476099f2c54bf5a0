"""Binance's wire format ↔ the port's Decimal value types.

Why it exists: every amount must leave as an exact decimal string (python-binance sends `str(v)`,
so a float 0.00001 would go out as `1e-05` and be refused) and every number read back must become a
`Decimal` (Binance sends strings, sometimes JSON numbers). One module does both directions, so no
other module touches raw JSON fields. Shapes: shared/reference/binance-margin.md §3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from chatbot.exchange import (
    Fill,
    InterestRecord,
    LiquidationRecord,
    LoanRecord,
    LoanStatus,
    LoanType,
    Order,
    OrderList,
    OrderStatus,
    OrderType,
    Side,
    SymbolInfo,
    TransferRecord,
)
from chatbot.margin import Thresholds

D0 = Decimal(0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Json = Mapping[str, Any]


class WireError(Exception):
    """Binance answered something this adapter cannot read (a missing or malformed field)."""


# ---------------------------------------------------------------------------- scalars


def amount(value: Decimal | int) -> str:
    """An amount as Binance wants it: plain decimal notation, never a float, never exponent form."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"amounts go to Binance as Decimal, never {type(value).__name__}: {value!r}")
    dec = Decimal(value)
    if not dec.is_finite() or dec < 0:
        raise ValueError(f"not a sendable amount: {value}")
    text = format(dec, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def flag(value: bool) -> str:
    """Binance's `isIsolated` spelling."""
    return "TRUE" if value else "FALSE"


def dec(value: Any, field: str = "value") -> Decimal:
    if value is None or isinstance(value, bool):
        raise WireError(f"{field}: expected a number, got {value!r}")
    try:
        out = Decimal(value if isinstance(value, (str, int)) else str(value))
    except InvalidOperation:
        raise WireError(f"{field}: not a number: {value!r}") from None
    if not out.is_finite():
        raise WireError(f"{field}: not a finite number: {value!r}")
    return out


def opt_dec(row: Json, field: str, default: Decimal = D0) -> Decimal:
    value = row.get(field)
    return default if value in (None, "") else dec(value, field)


def ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def from_ms(value: Any) -> datetime:
    return EPOCH + timedelta(milliseconds=int(value))


def field(row: Json, name: str) -> Any:
    try:
        return row[name]
    except (KeyError, TypeError):
        raise WireError(f"Binance answer lacks {name!r}") from None


# ---------------------------------------------------------------------------- reference data


def symbols(exchange_info: Json, margin_pairs: Sequence[Json]) -> dict[str, SymbolInfo]:
    """Margin-tradeable symbols (allPairs ∩ TRADING in exchangeInfo) with their filters."""
    tradeable = {p["symbol"] for p in margin_pairs if p.get("isMarginTrade", True)}
    out: dict[str, SymbolInfo] = {}
    for s in field(exchange_info, "symbols"):
        if s.get("status") != "TRADING" or s["symbol"] not in tradeable:
            continue
        filters = {f["filterType"]: f for f in s.get("filters", [])}
        lot, price = filters.get("LOT_SIZE", {}), filters.get("PRICE_FILTER", {})
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        out[s["symbol"]] = SymbolInfo(
            symbol=s["symbol"], base=s["baseAsset"], quote=s["quoteAsset"],
            step_size=opt_dec(lot, "stepSize"), tick_size=opt_dec(price, "tickSize"),
            min_qty=opt_dec(lot, "minQty"), min_notional=opt_dec(notional, "minNotional"),
        )
    return out


def cross_thresholds(coeff: Json) -> Thresholds:
    """`/sapi/v1/margin/tradeCoeff`: the account's own normal, margin-call and liquidation bars."""
    return Thresholds(initial=dec(field(coeff, "normalBar"), "normalBar"),
                      margin_call=dec(field(coeff, "marginCallBar"), "marginCallBar"),
                      liquidation=dec(field(coeff, "forceLiquidationBar"), "forceLiquidationBar"))


def isolated_thresholds(tiers: Sequence[Json], margin_ratio: Decimal | None = None) -> Thresholds:
    """The isolated pair's tier (the one matching the account's `marginRatio`, else tier 1)."""
    if not tiers:
        raise WireError("isolatedMarginTier returned no tier")
    chosen = min(tiers, key=lambda t: int(t.get("tier", 1)))
    if margin_ratio is not None:
        for tier in tiers:
            if opt_dec(tier, "effectiveMultiple") == margin_ratio:
                chosen = tier
    return Thresholds.isolated(dec(field(chosen, "initialRiskRatio"), "initialRiskRatio"),
                               dec(field(chosen, "liquidationRiskRatio"), "liquidationRiskRatio"))


# ---------------------------------------------------------------------------- orders


def order(row: Json, *, symbol: str | None = None, isolated: bool | None = None) -> Order:
    fills = tuple(Fill(dec(f["price"], "fill.price"), dec(f["qty"], "fill.qty"),
                       opt_dec(f, "commission"), f.get("commissionAsset", ""))
                  for f in row.get("fills", ()))
    stamp = row.get("transactTime", row.get("time", 0))
    borrow_asset = row.get("marginBuyBorrowAsset")
    return Order(
        # a cancel's answer names the order's id `origClientOrderId` (its `clientOrderId` is the cancel's own)
        order_id=int(field(row, "orderId")),
        client_order_id=str(row.get("origClientOrderId") or row.get("clientOrderId", "")),
        symbol=row.get("symbol", symbol or ""),
        isolated=bool(row.get("isIsolated", isolated or False)),
        side=Side(field(row, "side")), type=OrderType(field(row, "type")),
        status=OrderStatus(field(row, "status")),
        orig_qty=opt_dec(row, "origQty"), executed_qty=opt_dec(row, "executedQty"),
        cummulative_quote_qty=opt_dec(row, "cummulativeQuoteQty"), price=opt_dec(row, "price"),
        stop_price=opt_dec(row, "stopPrice"), time=from_ms(stamp),
        update_time=from_ms(row.get("updateTime", stamp)),
        margin_buy_borrow_amount=opt_dec(row, "marginBuyBorrowAmount"),
        margin_buy_borrow_asset=borrow_asset or None, fills=fills,
        order_list_id=int(row.get("orderListId", -1)),
    )


def order_list(row: Json) -> OrderList:
    isolated = bool(row.get("isIsolated", False))
    reports = row.get("orderReports") or []
    return OrderList(
        order_list_id=int(field(row, "orderListId")), list_client_order_id=str(row.get("listClientOrderId", "")),
        symbol=field(row, "symbol"), isolated=isolated, list_status=str(field(row, "listStatusType")),
        orders=tuple(order({**r, "orderListId": r.get("orderListId", row["orderListId"])}, isolated=isolated)
                     for r in reports),
        margin_buy_borrow_amount=opt_dec(row, "marginBuyBorrowAmount"),
        margin_buy_borrow_asset=row.get("marginBuyBorrowAsset") or None,
    )


# ---------------------------------------------------------------------------- records


def loan(row: Json, kind: LoanType) -> LoanRecord:
    return LoanRecord(
        tx_id=int(field(row, "txId")), type=kind, kind=str(row.get("type", "MANUAL")),
        asset=field(row, "asset"), isolated_symbol=row.get("isolatedSymbol") or None,
        amount=opt_dec(row, "amount", opt_dec(row, "principal")), principal=opt_dec(row, "principal"),
        interest=opt_dec(row, "interest"), status=LoanStatus(row.get("status", "CONFIRMED")),
        time=from_ms(field(row, "timestamp")),
    )


def interest(row: Json) -> InterestRecord:
    return InterestRecord(
        tx_id=int(field(row, "txId")), time=from_ms(field(row, "interestAccuredTime")), asset=field(row, "asset"),
        isolated_symbol=row.get("isolatedSymbol") or None, principal=opt_dec(row, "principal"),
        interest=opt_dec(row, "interest"), daily_rate=opt_dec(row, "interestRate"), type=str(row.get("type", "")),
    )


def liquidation(row: Json) -> LiquidationRecord:
    return LiquidationRecord(
        order_id=int(field(row, "orderId")), symbol=field(row, "symbol"), isolated=bool(row.get("isIsolated")),
        side=Side(field(row, "side")), qty=opt_dec(row, "executedQty", opt_dec(row, "qty")),
        price=opt_dec(row, "price"), avg_price=opt_dec(row, "avgPrice"), fee=D0,  # Binance reports no fee here
        time=from_ms(field(row, "updatedTime")),
    )


WALLETS = {"SPOT": "SPOT", "CROSS_MARGIN": "CROSS", "ISOLATED_MARGIN": "ISOLATED"}


def _wallet(kind: str, symbol: str | None) -> str:
    name = WALLETS.get(kind, kind)
    return f"ISOLATED:{symbol}" if name == "ISOLATED" and symbol else name


def transfer(row: Json) -> TransferRecord:
    return TransferRecord(
        tx_id=int(field(row, "txId")), asset=field(row, "asset"), amount=dec(field(row, "amount"), "amount"),
        from_account=_wallet(str(row.get("transFrom", "")), row.get("fromSymbol")),
        to_account=_wallet(str(row.get("transTo", "")), row.get("toSymbol")),
        time=from_ms(field(row, "timestamp")),
    )
