"""The paper exchange's history, as the `Exchange` port asks for it: trades, loans, interest,
liquidations and transfers, newest first, and the 24 h figures.

Why it exists: the paper book books all of these as rows; this mixin turns them into the port's
value types (read from the current ledger, `_read`) without growing `exchange.py`. Entry prices and
P&L are built from the account's own fills (`my_trades`). The paper market keeps no price history,
so it has no 24 h change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from chatbot.exchange import (
    CROSS,
    InterestRecord,
    LiquidationRecord,
    LoanRecord,
    LoanType,
    Trade,
    TransferRecord,
    isolated_account,
)

from .model import LiquidationRow, TradeRow, dt_to_ms, ms_to_dt

if TYPE_CHECKING:
    from .book import PaperBook

T = TypeVar("T")


def _in_range(ms: int, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or ms >= dt_to_ms(start)) and (end is None or ms <= dt_to_ms(end))


def _upper(value: str | None) -> str | None:
    return None if value is None else value.upper()


def to_trade(row: TradeRow) -> Trade:
    return Trade(trade_id=row.trade_id, order_id=row.order_id, symbol=row.symbol, isolated=row.account != CROSS,
                 side=row.side, price=row.price, qty=row.qty, quote_qty=row.quote_qty, commission=row.commission,
                 commission_asset=row.commission_asset, time=ms_to_dt(row.time_ms), is_maker=row.is_maker)


class TradeHistory:
    """`my_trades`, `price_change_24h` and the record queries for `PaperExchange` (which provides `_read`:
    a read of the current ledger under its lock, off the event loop)."""

    async def _read(self, read: Callable[[PaperBook], T]) -> T:  # pragma: no cover - provided by PaperExchange
        raise NotImplementedError

    async def my_trades(self, symbol: str, *, isolated: bool = False, from_id: int | None = None) -> list[Trade]:
        def read(ledger: PaperBook) -> list[Trade]:
            sym = ledger._symbol(symbol).symbol
            account = isolated_account(sym) if isolated else CROSS
            rows = [t for t in ledger.trades if t.symbol == sym and t.account == account
                    and (from_id is None or t.trade_id >= from_id)]
            return [to_trade(t) for t in sorted(rows, key=lambda t: t.trade_id)]

        return await self._read(read)

    async def price_change_24h(self, symbol: str) -> Decimal | None:
        await self._read(lambda ledger: ledger._symbol(symbol))  # an unknown symbol is refused as Binance would
        return None

    async def loan_records(
        self, type: LoanType, *, asset: str | None = None, isolated_symbol: str | None = None,
        tx_id: int | None = None, start: datetime | None = None, end: datetime | None = None,
    ) -> list[LoanRecord]:
        """Newest first; `isolated_symbol=None` means the cross account (as Binance)."""
        iso, want = _upper(isolated_symbol), LoanType(type)
        asset = _upper(asset)
        rows = await self._read(lambda ledger: [
            r for r in ledger.loans.values()
            if r.type == want and r.isolated_symbol == iso and (asset is None or r.asset == asset)
            and (tx_id is None or r.tx_id == tx_id) and _in_range(r.time_ms, start, end)])
        rows.sort(key=lambda r: (r.time_ms, r.tx_id), reverse=True)
        return [r.to_record() for r in rows]

    async def interest_history(
        self, *, asset: str | None = None, isolated_symbol: str | None = None,
        start: datetime | None = None, end: datetime | None = None,
    ) -> list[InterestRecord]:
        """Newest first; `isolated_symbol=None` means the cross account (as Binance)."""
        iso, asset = _upper(isolated_symbol), _upper(asset)
        rows = await self._read(lambda ledger: [
            r for r in ledger.interest
            if r.isolated_symbol == iso and (asset is None or r.asset == asset) and _in_range(r.time_ms, start, end)])
        rows.sort(key=lambda r: (r.time_ms, r.tx_id), reverse=True)
        return [r.to_record() for r in rows]

    async def liquidation_records(
        self, *, isolated_symbol: str | None = None, start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[LiquidationRecord]:
        """Newest first; `isolated_symbol=None` means the cross account."""
        iso = _upper(isolated_symbol)
        rows = await self._read(lambda ledger: [
            r for r in ledger.liquidations
            if r.account == ledger.account_key(iso) and _in_range(r.time_ms, start, end)])
        rows.sort(key=lambda r: (r.time_ms, r.order_id), reverse=True)
        return [r.to_record() for r in rows]

    async def liquidations_since(
        self, starts: Mapping[str | None, datetime],
    ) -> dict[str | None, list[LiquidationRecord]]:
        """Every account's records from its own start, newest first, from one read of the ledger."""
        names = {_upper(sym): sym for sym in starts}
        rows: dict[str | None, list[LiquidationRow]] = {}
        for r in await self._read(lambda ledger: list(ledger.liquidations)):
            own = None if r.account == CROSS else r.account.removeprefix(isolated_account(""))
            if own in names and _in_range(r.time_ms, starts[names[own]], None):
                rows.setdefault(names[own], []).append(r)
        return {sym: [r.to_record() for r in sorted(found, key=lambda r: (r.time_ms, r.order_id), reverse=True)]
                for sym, found in rows.items()}

    async def transfer_records(
        self, *, asset: str | None = None, account: str | None = None, start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[TransferRecord]:
        """Newest first; `account` matches either side (SPOT, CROSS, ISOLATED:<symbol>)."""
        asset, account = _upper(asset), _upper(account)
        rows = await self._read(lambda ledger: [
            r for r in ledger.transfers
            if (asset is None or r.asset == asset) and (account is None or account in (r.from_account, r.to_account))
            and _in_range(r.time_ms, start, end)])
        rows.sort(key=lambda r: (r.time_ms, r.tx_id), reverse=True)
        return [r.to_record() for r in rows]
