"""The live account's history: trades (`GET /sapi/v1/margin/myTrades`), the 24 h price change
(`ticker/24hr`), and the loan, transfer, interest and liquidation records (read by `ledger.py`).

Why it exists: entry prices and P&L are rebuilt from the exchange's own record of the desk's fills,
so they survive restarts and include fills the bot never saw (an order that filled while it was
down, a liquidation). A mixin keeps `exchange.py` from growing; it reads through the same transport
(rate gate, clock resync, retries for reads) as every other query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from chatbot.exchange import (
    InterestRecord,
    LiquidationRecord,
    LoanRecord,
    LoanType,
    Side,
    Trade,
    TransferRecord,
)

from . import wire
from .ledger import Ledger
from .transport import Transport

PAGE = 1000  # Binance's largest myTrades page


def trade(row: wire.Json, isolated: bool) -> Trade:
    return Trade(trade_id=int(wire.field(row, "id")), order_id=int(wire.field(row, "orderId")),
                 symbol=str(wire.field(row, "symbol")), isolated=bool(row.get("isIsolated", isolated)),
                 side=Side.BUY if row.get("isBuyer") else Side.SELL,
                 price=wire.dec(wire.field(row, "price"), "price"), qty=wire.dec(wire.field(row, "qty"), "qty"),
                 quote_qty=wire.dec(wire.field(row, "price"), "price") * wire.dec(wire.field(row, "qty"), "qty"),
                 commission=wire.opt_dec(row, "commission"), commission_asset=str(row.get("commissionAsset", "")),
                 time=wire.from_ms(wire.field(row, "time")), is_maker=bool(row.get("isMaker")))


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


class TradeHistory:
    """`my_trades`, `price_change_24h` and the record queries for `BinanceExchange` (which provides `t`,
    its transport, and `ledger`)."""

    t: Transport
    ledger: Ledger

    async def loan_records(self, type: LoanType, *, asset: str | None = None, isolated_symbol: str | None = None,
                           tx_id: int | None = None, start: datetime | None = None,
                           end: datetime | None = None) -> list[LoanRecord]:
        """Newest first, from `GET /sapi/v1/margin/borrow-repay` (cross unless `isolated_symbol`)."""
        return await self.ledger.loan_records(LoanType(type), asset=_upper(asset), iso=_upper(isolated_symbol),
                                              tx_id=tx_id, start=start, end=end)

    async def transfer_records(self, *, asset: str | None = None, account: str | None = None,
                               start: datetime | None = None, end: datetime | None = None) -> list[TransferRecord]:
        """Newest first, from `GET /sapi/v1/margin/transfer` (cross, or the isolated `account`)."""
        return await self.ledger.transfer_records(asset=_upper(asset), account=_upper(account), start=start, end=end)

    async def interest_history(self, *, asset: str | None = None, isolated_symbol: str | None = None,
                               start: datetime | None = None, end: datetime | None = None) -> list[InterestRecord]:
        return await self.ledger.interest_history(asset=_upper(asset), iso=_upper(isolated_symbol), start=start,
                                                  end=end)

    async def liquidation_records(self, *, isolated_symbol: str | None = None, start: datetime | None = None,
                                  end: datetime | None = None) -> list[LiquidationRecord]:
        return await self.ledger.liquidation_records(iso=_upper(isolated_symbol), start=start, end=end)

    async def liquidations_since(
        self, starts: Mapping[str | None, datetime],
    ) -> dict[str | None, list[LiquidationRecord]]:
        """One `forceLiquidationRec` query per account, in turn, as `liquidation_records` (without
        `isolatedSymbol` Binance answers for cross only, so there is no one-request form)."""
        found = {sym: await self.liquidation_records(isolated_symbol=sym, start=start) for sym, start in starts.items()}
        return {sym: records for sym, records in found.items() if records}

    async def my_trades(self, symbol: str, *, isolated: bool = False, from_id: int | None = None) -> list[Trade]:
        out: list[Trade] = []
        params: dict[str, Any] = {"symbol": symbol.upper(), "isIsolated": wire.flag(isolated), "limit": PAGE}
        if from_id is not None:
            params["fromId"] = from_id
        while True:
            rows = await self.t.read(self.t.client.get_margin_trades, what="GET /sapi/v1/margin/myTrades",
                                     **params)
            page = [trade(r, isolated) for r in rows]
            out += page
            if len(page) < PAGE:
                return sorted(out, key=lambda x: x.trade_id)
            params["fromId"] = max(x.trade_id for x in page) + 1

    async def price_change_24h(self, symbol: str) -> Decimal | None:
        row = await self.t.read(self.t.client.get_ticker, what="GET /api/v3/ticker/24hr", symbol=symbol.upper())
        value = row.get("priceChangePercent") if isinstance(row, dict) else None
        return None if value in (None, "") else wire.dec(value, "priceChangePercent")
