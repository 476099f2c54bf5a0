"""The paper exchange's trade history and 24 h figures, as the `Exchange` port asks for them.

Why it exists: entry prices and P&L are built from the account's own fills (`my_trades`), which the
paper engine books as `TradeRow`s; this mixin turns them into the port's `Trade` values without
growing `exchange.py`. The paper market keeps no price history, so it has no 24 h change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from chatbot.exchange import CROSS, Trade, isolated_account

from .model import TradeRow, ms_to_dt

if TYPE_CHECKING:
    from .engine import PaperEngine


def to_trade(row: TradeRow) -> Trade:
    return Trade(trade_id=row.trade_id, order_id=row.order_id, symbol=row.symbol, isolated=row.account != CROSS,
                 side=row.side, price=row.price, qty=row.qty, quote_qty=row.quote_qty, commission=row.commission,
                 commission_asset=row.commission_asset, time=ms_to_dt(row.time_ms), is_maker=row.is_maker)


class TradeHistory:
    """`my_trades` and `price_change_24h` for `PaperExchange` (which provides `_fresh`)."""

    def _fresh(self) -> PaperEngine:  # pragma: no cover - provided by PaperExchange
        raise NotImplementedError

    async def my_trades(self, symbol: str, *, isolated: bool = False, from_id: int | None = None) -> list[Trade]:
        ledger = self._fresh()
        sym = ledger._symbol(symbol).symbol
        account = isolated_account(sym) if isolated else CROSS
        rows = [t for t in ledger.trades if t.symbol == sym and t.account == account
                and (from_id is None or t.trade_id >= from_id)]
        return [to_trade(t) for t in sorted(rows, key=lambda t: t.trade_id)]

    async def price_change_24h(self, symbol: str) -> Decimal | None:
        self._fresh()._symbol(symbol)  # an unknown symbol is refused as Binance would
        return None
