"""`PaperBook`: the paper exchange's synchronous accounting core, composed of one layer per concern.

Why it exists: the bot needs an exchange that answers exactly as Binance margin would
(`shared/reference/binance-margin.md` §4–§7) without a network, deterministically, so that
previews, alerts and tests can rely on the numbers. All margin math goes through
`chatbot.margin` (one source of truth); the paper modules only keep the books.

The layers, one class per module, each subclassing the layer it uses (`A ← B`: B builds on A):
  ledger.Books (state, `Journal`, lookups) ← valuation.Valuation ← loans.Loans ← transfers.Transfers
  loans.Loans ← fills.Fills ← orders.Orders
  fills.Fills ← liquidation.Liquidation ← triggers.Triggers ← clock.Clock
`PaperBook` is Clock + Orders + Transfers (the MRO keeps one copy of each layer). The only call from
a lower layer to a higher one (re-band and liquidate after a mutation) is the `_settle_accounts` hook
that `Books` declares and `Liquidation` fills. `rules.py` holds the stateless Binance rules they
share. This module only composes the layers and adds what concerns the whole state at once:
seeding, adopting a changed config, `dump()`.

Rules of the house:
- Public operations validate first and mutate after; a rejected call (`ExchangeError`) leaves
  every structure untouched. `journal.mutated` tells the caller whether a mutation had begun.
- The clock is `now_ms`, moved only by `advance_ms()`; nothing here reads the wall clock.
- Each mutation is noted in `journal` (dirty balances, new/changed records, events) so the
  caller can persist exactly what changed, in one transaction, and then publish the events.
"""

from __future__ import annotations

from decimal import Decimal

from chatbot.exchange import CROSS

from .clock import Clock
from .ledger import Journal
from .model import (
    InterestRow,
    LiquidationRow,
    LoanRow,
    MarginAccount,
    OrderListState,
    OrderState,
    Reservation,
    TradeRow,
    TransferRow,
)
from .orders import Orders
from .transfers import Transfers

__all__ = ["Journal", "PaperBook"]

Row = TradeRow | LoanRow | InterestRow | LiquidationRow | TransferRow


def _fields(row: Row) -> tuple[object, ...]:
    return tuple(getattr(row, f) for f in type(row).__slots__)


def _reservation(res: Reservation) -> tuple[object, ...]:
    return (res.asset, res.amount, res.borrow_amount, res.borrow_asset, res.auto_repay_at_cancel, res.used)


def _balances(acct: MarginAccount) -> dict[str, tuple[Decimal, ...]]:
    return {a: b.as_tuple() for a, b in sorted(acct.balances.items())}


def _order(o: OrderState) -> tuple[object, ...]:
    return (o.order_id, o.client_order_id, o.symbol, o.account, o.isolated, o.side, o.type, o.status,
            o.time_in_force, o.orig_qty, o.executed_qty, o.cummulative_quote_qty, o.price,
            o.stop_price, o.side_effect, o.time_ms, o.update_ms, o.quote_order_qty, o.working,
            o.order_list_id, o.margin_buy_borrow_amount, o.margin_buy_borrow_asset,
            None if o.reservation is None else _reservation(o.reservation), tuple(o.fills))


def _order_list(x: OrderListState) -> tuple[object, ...]:
    return (x.order_list_id, x.list_client_order_id, x.symbol, x.account, x.isolated, x.side, x.status,
            x.order_ids, x.time_ms, x.margin_buy_borrow_amount, x.margin_buy_borrow_asset,
            _reservation(x.reservation))


class PaperBook(Clock, Orders, Transfers):
    """In-memory books of one paper margin exchange (spot wallet, cross, isolated accounts)."""

    # ------------------------------------------------------------------ the whole state

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
        return {
            "now": self.now_ms,
            "prices": dict(sorted(self.prices.items())),
            "counters": (self.next_tx, self.next_order, self.next_list, self.next_trade, self.walk_steps,
                         self.schedule_cursor),
            "spot": _balances(self.spot),
            "accounts": {k: (a.isolated_symbol, a.band, a.locked, a.created_ms, a.pending_tx, _balances(a))
                         for k, a in sorted(self.accounts.items())},
            "orders": [_order(o) for _, o in sorted(self.orders.items())],
            "lists": [_order_list(x) for _, x in sorted(self.order_lists.items())],
            "trades": [_fields(t) for t in self.trades],
            "loans": [_fields(r) for _, r in sorted(self.loans.items())],
            "interest": [_fields(r) for r in self.interest],
            "liquidations": [_fields(r) for r in self.liquidations],
            "transfers": [_fields(r) for r in self.transfers],
        }
