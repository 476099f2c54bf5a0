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

from collections.abc import Mapping
from decimal import Decimal

from chatbot.exchange import (
    CROSS,
)

from .ledger import Journal
from .model import (
    D0,
    HOUR_MS,
    InterestRow,
    LiquidationRow,
    LoanRow,
    MarginAccount,
    OrderState,
    TradeRow,
    TransferRow,
    hour_floor,
    ms_to_dt,
)
from .orders import Orders
from .transfers import Transfers
from .triggers import Triggers

__all__ = ["Journal", "PaperEngine"]

class PaperEngine(Triggers, Orders, Transfers):
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

    # ------------------------------------------------------------------ clock

    def advance_ms(self, ms: int) -> None:
        """Move the paper clock: interest every full hour (then bands/liquidation of the charged
        accounts), replayed prices as their time passes, and at the end triggers, bands, liquidation."""
        if ms < 0:
            raise ValueError("the paper clock only moves forward")
        old = self.now_ms
        target = old + ms
        self._touch()
        self._settle_pending()
        next_hour = hour_floor(old) + HOUR_MS
        charged: dict[tuple[str, str], list[Decimal]] = {}
        while True:
            next_row = self.schedule[self.schedule_cursor][0] if self.schedule_cursor < len(self.schedule) \
                else None
            if next_hour <= target and (next_row is None or next_hour <= next_row):
                self.now_ms = next_hour
                self._hourly_interest(charged)
                next_hour += HOUR_MS
            elif next_row is not None and next_row <= target:
                self.now_ms = max(self.now_ms, next_row)
                self._apply_schedule_until(next_row)
            else:
                break
        self.now_ms = target
        for (key, asset), (amount, hours) in sorted(charged.items()):
            acct = self.accounts[key]
            bal = self._peek(acct, asset)
            self._emit("liability", acct.isolated_symbol, account=key, asset=asset, type="INTEREST",
                       amount=amount, hours=int(hours), principal=bal.borrowed, interest=bal.interest)
        self._run_market(None)
        self._emit("clock", old=ms_to_dt(old), new=ms_to_dt(target))

    def _hourly_interest(self, charged: dict[tuple[str, str], list[Decimal]]) -> None:
        accts = [self.accounts[k] for k in sorted(self.debtors)]
        hit: list[MarginAccount] = []
        for acct in accts:
            any_charge = False
            for asset, bal in sorted(acct.balances.items()):
                if bal.borrowed > 0:
                    amount = self._charge(acct, asset, bal.borrowed, "PERIODIC")
                    if amount > 0:
                        entry = charged.setdefault((acct.key, asset), [D0, D0])
                        entry[0] += amount
                        entry[1] += 1
                        any_charge = True
            if any_charge:
                hit.append(acct)
        if hit:
            self._settle_accounts(hit)

    def _apply_schedule_until(self, ms: int) -> None:
        updates: dict[str, Decimal] = {}
        while self.schedule_cursor < len(self.schedule) and self.schedule[self.schedule_cursor][0] <= ms:
            _, sym, price = self.schedule[self.schedule_cursor]
            updates[sym] = price
            self.schedule_cursor += 1
        self._touch()
        self.set_prices(updates)

    def catch_up_schedule(self) -> None:
        """Apply replayed prices whose time is already past (at open)."""
        if self.schedule_cursor < len(self.schedule) and self.schedule[self.schedule_cursor][0] <= self.now_ms:
            self._apply_schedule_until(self.now_ms)

    # ------------------------------------------------------------------ random walk

    def apply_walk(self, prices: Mapping[str, Decimal]) -> None:
        self.walk_steps += 1
        self._touch()
        self.set_prices(prices)

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
