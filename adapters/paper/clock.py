"""The paper clock and what time drives: hourly interest, replayed prices, random-walk steps.

Why it exists: paper time moves only when told (`advance_ms`, from the manual drill or the realtime
loop in exchange.py), and a long jump must play out in order: pending async loans settle first,
then each full hour charges interest on every open loan (and re-bands and liquidates the accounts
charged) and replay rows apply as their time passes, and at the end triggers run and the interest
of the jump is published. It is the top layer of the books: a tick of time can set off everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from chatbot.money import D0

from .model import HOUR_MS, MarginAccount, hour_floor, ms_to_dt
from .triggers import Triggers


class Clock(Triggers):
    """`advance_ms()`, the hourly interest pass, and the replay / random-walk price feeds."""

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
            next_row = self._next_replay_ms()
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

    # ------------------------------------------------------------------ price feeds: replay, random walk

    def _next_replay_ms(self) -> int | None:
        """When the next replay row applies (None when the replay is used up or there is none)."""
        return self.schedule[self.schedule_cursor][0] if self.schedule_cursor < len(self.schedule) else None

    def _apply_schedule_until(self, ms: int) -> None:
        updates: dict[str, Decimal] = {}
        while (next_row := self._next_replay_ms()) is not None and next_row <= ms:
            _, sym, price = self.schedule[self.schedule_cursor]
            updates[sym] = price
            self.schedule_cursor += 1
        self._touch()
        self.set_prices(updates)

    def catch_up_schedule(self) -> None:
        """Apply replayed prices whose time is already past (at open)."""
        next_row = self._next_replay_ms()
        if next_row is not None and next_row <= self.now_ms:
            self._apply_schedule_until(self.now_ms)

    def apply_walk(self, prices: Mapping[str, Decimal]) -> None:
        self.walk_steps += 1
        self._touch()
        self.set_prices(prices)
