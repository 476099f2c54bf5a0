"""The paper exchange's accounting engine: synchronous, pure Decimal, driven by an injected clock.

Why it exists: the bot needs an exchange that answers exactly as Binance margin would
(`shared/reference/binance-margin.md` §4–§7) without a network, deterministically, so that
previews, alerts and tests can rely on the numbers. All margin math goes through
`chatbot.margin` (one source of truth); this module only keeps the books.

Rules of the house:
- Public operations validate first and mutate after; a rejected call (`ExchangeError`) leaves
  every structure untouched. `journal.mutated` tells the caller whether a mutation had begun.
- The clock is `now_ms`, moved only by `advance_ms()`; nothing here reads the wall clock.
- Each mutation is noted in `journal` (dirty balances, new/changed records, events) so the
  caller can persist exactly what changed, in one transaction, and then publish the events.
"""

from __future__ import annotations

from decimal import Decimal

from chatbot.exchange import (
    CROSS,
)

from .clock import Clock
from .ledger import Journal
from .model import (
    InterestRow,
    LiquidationRow,
    LoanRow,
    MarginAccount,
    OrderState,
    TradeRow,
    TransferRow,
)
from .orders import Orders
from .transfers import Transfers

__all__ = ["Journal", "PaperEngine"]

class PaperEngine(Clock, Orders, Transfers):
    """In-memory books of one paper margin exchange (spot wallet, cross, isolated accounts)."""

    # ------------------------------------------------------------------ setup & journal

    def seed(self) -> None:
        """First start: prices, clock and starting balances from the config."""
        self.set_prices({s: p for s, p in self.config.prices.items()}, emit=False)
        for asset, amount in self.config.spot.items():
            self._bal(self.spot, asset).free += amount
        cross = self.accounts[CROSS]
        for asset, amount in self.config.cross.items():
            self._require_margin_asset(asset)
            self._bal(cross, asset).free += amount
        for sym, amounts in self.config.isolated.items():
            acct = self._create_isolated(sym.upper())
            for asset, amount in amounts.items():
                if asset.upper() not in acct.balances:
                    raise ValueError(f"paper: {asset} is not an asset of {sym}")
                self._bal(acct, asset.upper()).free += amount
        self.journal.accounts.add(CROSS)
        self.journal.state = True
        self.refresh_after_load()

    def adopt_config(self) -> None:
        """After loading: symbols newly added to the config get their configured price; prices of
        symbols no longer configured are dropped (an error if a margin account still holds an asset
        that would then have no price)."""
        dropped = [s for s in self.prices if s not in self.symbols]
        for sym in dropped:
            del self.prices[sym]
        added = {s: p for s, p in self.config.prices.items() if s in self.symbols and s not in self.prices}
        if added or dropped:
            self.prices.update(added)
            self.journal.state = True
        self.refresh_after_load()
        for acct in self.accounts.values():
            for asset, bal in acct.balances.items():
                if asset not in self.asset_prices and (bal.total or bal.liability):
                    raise ValueError(f"paper: {acct.key} holds {asset}, which no configured symbol prices "
                                     "any more; keep its symbol under [paper.prices]")

    # ------------------------------------------------------------------ introspection

    def dump(self) -> dict[str, object]:
        """Everything that defines the state, as plain comparable data (tests, restart checks)."""

        def bals(acct: MarginAccount) -> dict[str, tuple[Decimal, ...]]:
            return {a: b.as_tuple() for a, b in sorted(acct.balances.items())}

        def order_tuple(o: OrderState) -> tuple[object, ...]:
            res = o.reservation
            return (o.order_id, o.client_order_id, o.symbol, o.account, o.isolated, o.side, o.type, o.status,
                    o.time_in_force, o.orig_qty, o.executed_qty, o.cummulative_quote_qty, o.price,
                    o.stop_price, o.side_effect, o.time_ms, o.update_ms, o.quote_order_qty, o.working,
                    o.order_list_id, o.margin_buy_borrow_amount, o.margin_buy_borrow_asset,
                    None if res is None else (res.asset, res.amount, res.borrow_amount, res.borrow_asset,
                                              res.auto_repay_at_cancel, res.used),
                    tuple(o.fills))

        return {
            "now": self.now_ms,
            "prices": dict(sorted(self.prices.items())),
            "counters": (self.next_tx, self.next_order, self.next_list, self.next_trade, self.walk_steps,
                         self.schedule_cursor),
            "spot": bals(self.spot),
            "accounts": {k: (a.isolated_symbol, a.band, a.locked, a.created_ms, a.pending_tx, bals(a))
                         for k, a in sorted(self.accounts.items())},
            "orders": [order_tuple(o) for _, o in sorted(self.orders.items())],
            "lists": [(x.order_list_id, x.list_client_order_id, x.symbol, x.account, x.isolated, x.side,
                       x.status, x.order_ids, x.time_ms, x.margin_buy_borrow_amount, x.margin_buy_borrow_asset,
                       (x.reservation.asset, x.reservation.amount, x.reservation.borrow_amount,
                        x.reservation.borrow_asset, x.reservation.auto_repay_at_cancel, x.reservation.used))
                      for _, x in sorted(self.order_lists.items())],
            "trades": [tuple(getattr(t, f) for f in TradeRow.__slots__) for t in self.trades],
            "loans": [tuple(getattr(r, f) for f in LoanRow.__slots__) for _, r in sorted(self.loans.items())],
            "interest": [tuple(getattr(r, f) for f in InterestRow.__slots__) for r in self.interest],
            "liquidations": [tuple(getattr(r, f) for f in LiquidationRow.__slots__) for r in self.liquidations],
            "transfers": [tuple(getattr(r, f) for f in TransferRow.__slots__) for r in self.transfers],
        }
