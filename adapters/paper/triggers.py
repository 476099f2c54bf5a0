"""Index prices and what they set off: resting limits, stop-loss / take-profit triggers, OCO legs.

Why it exists: a price tick is the exchange's other source of change besides requests. New
prices are rounded to tickSize and published as one event; then the books of the moved symbols are
walked in order-id order (a stop whose condition is met starts working and expires its OCO
sibling, a marketable limit fills at its price), and finally every account that is touched,
in debt or not in the excessive band is re-banded and liquidated where due. It builds on
liquidation.py (which builds on fills.py); the clock replays prices through `set_prices` too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from chatbot.exchange import OrderStatus, OrderType
from chatbot.margin import Band

from .liquidation import Liquidation
from .model import resolve_asset_prices
from .rules import crosses, stop_triggered, to_tick


class Triggers(Liquidation):
    """`set_prices()` and the trigger pass it runs over the order books."""

    def set_prices(self, updates: Mapping[str, Decimal], *, emit: bool = True) -> None:
        """New index prices (rounded to tickSize); then triggers, bands and liquidation checks."""
        clean: dict[str, Decimal] = {}
        for sym, price in updates.items():
            info = self._symbol(sym)
            if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
                raise ValueError(f"price for {sym} must be a positive Decimal")
            clean[info.symbol] = to_tick(price, info.tick_size)
        changed = [s for s, p in clean.items() if self.prices.get(s) != p]
        if not changed:
            return
        self._touch()
        old = {s: self.prices.get(s) for s in changed}
        for sym in changed:
            self.prices[sym] = clean[sym]
        if emit:  # one event per tick, however many symbols moved (listeners re-check once)
            single: dict[str, object] = {"symbol": changed[0], "price": clean[changed[0]]} if len(changed) == 1 else {}
            self._emit("price", None, prices={s: clean[s] for s in changed}, old=old, **single)
        self.asset_prices = resolve_asset_prices(self.symbols, self.prices)
        if emit:
            self._run_market(changed)

    def _run_market(self, symbols: Iterable[str] | None) -> None:
        """Triggers (for `symbols`, or every symbol with open orders), then bands, then liquidations."""
        pool = sorted(self.open_by_symbol) if symbols is None else sorted(symbols)
        touched: set[str] = set()
        for sym in pool:
            touched |= self._trigger(sym)
        keys = sorted(self.debtors | touched | {k for k, a in self.accounts.items()
                                                if a.band != Band.EXCESSIVE})
        self._settle_accounts([self.accounts[k] for k in keys])

    def _trigger(self, symbol: str) -> set[str]:
        book = self.open_by_symbol.get(symbol)
        if not book:
            return set()
        price = self.prices[symbol]
        touched: set[str] = set()
        for oid in sorted(book):
            order = book.get(oid)
            if order is None or not order.is_open:
                continue
            res = self._reservation_of(order)
            if not order.working:
                if not stop_triggered(order.type, order.side, order.stop_price, price):
                    continue
                touched.add(order.account)
                self._expire_siblings(order)
                order.working = True
                order.update_ms = self.now_ms
                self.journal.orders[oid] = order
                market_now = order.type in (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT) or crosses(
                    order.side, order.price, price)
                if market_now and not self._fill(order, res, price, maker=False):
                    self._close(order, OrderStatus.EXPIRED)  # a market stop the funds no longer cover
                continue
            if crosses(order.side, order.price, price):
                touched.add(order.account)
                self._expire_siblings(order)
                if not self._fill(order, res, order.price, maker=True):  # pragma: no cover - locked
                    self._close(order, OrderStatus.EXPIRED)
        return touched
