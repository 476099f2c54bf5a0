"""Stateful property test: random transfers, loans, orders, OCOs, cancels, price moves and clock jumps.

After every step the books must still add up:
- no negative free/locked/borrowed/interest anywhere, and interest rows are positive;
- each snapshot agrees with `chatbot.margin` (level, band) and with its own balances;
- locked funds equal what open orders hold;
- borrowed and interest equal what the loan and interest records say;
- per asset, the total net position over all wallets equals the start plus trades (value-neutral at
  their price) minus commissions, liquidation fees and interest;
- a rejected call changes nothing, and `max_borrowable` / `max_transferable` amounts are accepted.
At teardown the exchange is reopened from the database and must be identical.
The example budget is fixed and derandomized, so CI is deterministic.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from adapters.paper import PaperExchange, create_tables
from chatbot import margin
from chatbot.exchange import (
    CROSS,
    SPOT,
    ExchangeError,
    LoanStatus,
    LoanType,
    OrderRequest,
    OrderType,
    Side,
    SideEffect,
    isolated_account,
)
from chatbot.money import floor_to_step
from chatbot.store.db import make_engine

from .helpers import D, paper_config

T = TypeVar("T")
CONFIG = paper_config(
    taker_fee="0.001", maker_fee="0.0005",
    symbols={"BTCUSDT": {"base": "BTC", "quote": "USDT", "step_size": "0.001", "tick_size": "0.01",
                         "min_qty": "0.001", "min_notional": "5"}},
    spot={"USDT": "50000", "BTC": "1"}, cross={"USDT": "10000", "BTC": "0.2"},
    isolated={"BTCUSDT": {"USDT": "3000"}},
)
WALLETS = [SPOT, CROSS, isolated_account("BTCUSDT")]
MARGIN_ACCOUNTS = [None, "BTCUSDT"]
ASSETS = ["USDT", "BTC"]
EFFECTS = list(SideEffect)
amounts = st.decimals(min_value=D("0.00000001"), max_value=D("30000"), places=8, allow_nan=False,
                      allow_infinity=False)
quantities = st.integers(min_value=1, max_value=800).map(lambda n: D(n) * D("0.001"))


class PaperMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = make_engine("sqlite://")
        create_tables(self.db)
        self.ex = self.run(PaperExchange.open(self.db, CONFIG))
        self.initial = self.net_by_asset()
        self.accepted = 0
        self.rejected = 0

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def attempt(self, make: Callable[[], Awaitable[Any]]) -> Any:
        before = self.ex.book.dump()
        try:
            result = self.run(make())
        except ExchangeError:
            assert self.ex.book.dump() == before, "a rejected call changed the state"
            assert self.ex.recoveries == 0
            self.rejected += 1
            return None
        self.accepted += 1
        return result

    def teardown(self) -> None:
        try:
            again = self.run(PaperExchange.open(self.db, CONFIG))
            assert again.book.dump() == self.ex.book.dump(), "restart from the database differs"
        finally:
            self.loop.close()
            self.db.dispose()

    # ------------------------------------------------------------------ helpers

    def price(self) -> Decimal:
        return self.ex.book.prices["BTCUSDT"]

    def net_by_asset(self) -> dict[str, Decimal]:
        core = self.ex.book
        out: dict[str, Decimal] = defaultdict(Decimal)
        for asset, b in core.spot.balances.items():
            out[asset] += b.free + b.locked - b.borrowed - b.interest
        for acct in core.accounts.values():
            for asset, b in acct.balances.items():
                out[asset] += b.free + b.locked - b.borrowed - b.interest
        return dict(out)

    # ------------------------------------------------------------------ rules

    @rule(asset=st.sampled_from(ASSETS), amount=amounts, src=st.sampled_from(WALLETS),
          dst=st.sampled_from(WALLETS))
    def transfer(self, asset: str, amount: Decimal, src: str, dst: str) -> None:
        self.attempt(lambda: self.ex.transfer(asset, amount, src, dst))

    @rule(asset=st.sampled_from(ASSETS), account=st.sampled_from(MARGIN_ACCOUNTS), dst=st.sampled_from(WALLETS))
    def transfer_max(self, asset: str, account: str | None, dst: str) -> None:
        src = CROSS if account is None else isolated_account(account)
        amount = self.run(self.ex.max_transferable(asset, account))
        if amount > 0 and src != dst:
            assert self.attempt(lambda: self.ex.transfer(asset, amount, src, dst)) is not None

    @rule(asset=st.sampled_from(ASSETS), amount=amounts, account=st.sampled_from(MARGIN_ACCOUNTS))
    def borrow(self, asset: str, amount: Decimal, account: str | None) -> None:
        self.attempt(lambda: self.ex.borrow(asset, amount, account))

    @rule(asset=st.sampled_from(ASSETS), account=st.sampled_from(MARGIN_ACCOUNTS))
    def borrow_max(self, asset: str, account: str | None) -> None:
        amount = self.run(self.ex.max_borrowable(asset, account))
        if amount > 0:
            assert self.attempt(lambda: self.ex.borrow(asset, amount, account)) is not None

    @rule(asset=st.sampled_from(ASSETS), account=st.sampled_from(MARGIN_ACCOUNTS), amount=amounts,
          everything=st.booleans())
    def repay(self, asset: str, account: str | None, amount: Decimal, everything: bool) -> None:
        if everything:
            bal = self.run(self.ex.account(account)).asset(asset)
            amount = min(bal.liability, bal.free)
            if amount <= 0:
                return
        self.attempt(lambda: self.ex.repay(asset, amount, account))

    @rule(side=st.sampled_from(list(Side)),
          otype=st.sampled_from([OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT,
                                 OrderType.TAKE_PROFIT_LIMIT]),
          qty=quantities, offset=st.integers(min_value=-12, max_value=12), effect=st.sampled_from(EFFECTS),
          isolated=st.booleans(), tif=st.sampled_from(["GTC", "GTC", "IOC"]))
    def order(self, side: Side, otype: OrderType, qty: Decimal, offset: int, effect: SideEffect,
              isolated: bool, tif: str) -> None:
        p = self.price()
        level = (p * (100 + offset) / 100).quantize(D("0.01"))
        price = stop = None
        if otype == OrderType.LIMIT:
            price = level
        elif otype != OrderType.MARKET:
            stop = level
            price = (level * (D("1.002") if side == Side.BUY else D("0.998"))).quantize(D("0.01"))
        req = OrderRequest("BTCUSDT", side, otype, quantity=qty, price=price, stop_price=stop,
                           time_in_force=tif if otype == OrderType.LIMIT else None, side_effect=effect,
                           isolated=isolated)
        self.attempt(lambda: self.ex.place_order(req))

    @rule(side=st.sampled_from(list(Side)), qty=quantities, up=st.integers(1, 12), down=st.integers(1, 12),
          effect=st.sampled_from(EFFECTS), isolated=st.booleans(), stop_limit=st.booleans())
    def oco(self, side: Side, qty: Decimal, up: int, down: int, effect: SideEffect, isolated: bool,
            stop_limit: bool) -> None:
        p = self.price()
        high = (p * (100 + up) / 100).quantize(D("0.01"))
        low = (p * (100 - down) / 100).quantize(D("0.01"))
        price, stop = (low, high) if side == Side.BUY else (high, low)
        limit_price = None
        if stop_limit:
            limit_price = (stop * (D("1.002") if side == Side.BUY else D("0.998"))).quantize(D("0.01"))
        self.attempt(lambda: self.ex.place_oco("BTCUSDT", side, qty, price, stop, stop_limit_price=limit_price,
                                               side_effect=effect, isolated=isolated))

    @rule(pick=st.integers(min_value=0, max_value=50), isolated=st.booleans())
    def cancel(self, pick: int, isolated: bool) -> None:
        orders = self.run(self.ex.open_orders("BTCUSDT", isolated))
        order_id = orders[pick % len(orders)].order_id if orders else 10_000 + pick
        self.attempt(lambda: self.ex.cancel_order("BTCUSDT", order_id=order_id, isolated=isolated))

    @rule(side=st.sampled_from(list(Side)), isolated=st.booleans(), share=st.sampled_from(["0.5", "0.9", "0.99"]))
    def leverage_up(self, side: Side, isolated: bool, share: str) -> None:
        """Open a position using most of what can be borrowed (so that price moves can liquidate)."""
        account = "BTCUSDT" if isolated else None
        snap = self.run(self.ex.account(account))
        p = self.price()
        if side == Side.BUY:
            room = (snap.asset("USDT").free + self.run(self.ex.max_borrowable("USDT", account))) / p
        else:
            room = snap.asset("BTC").free + self.run(self.ex.max_borrowable("BTC", account))
        qty = floor_to_step(room * D(share), D("0.001"))
        if qty * p >= 5:
            req = OrderRequest("BTCUSDT", side, OrderType.MARKET, quantity=qty, side_effect=SideEffect.MARGIN_BUY,
                               isolated=isolated)
            assert self.attempt(lambda: self.ex.place_order(req)) is not None

    @rule(pct=st.sampled_from([-35, -25, -15, -8, -3, -1, 1, 3, 8, 15, 25, 35]))
    def move_price(self, pct: int) -> None:
        new = (self.price() * (100 + pct) / 100).quantize(D("0.01"))
        self.run(self.ex.set_price("BTCUSDT", max(new, D("1000"))))

    @rule(seconds=st.sampled_from([0, 59, 1800, 3600, 7200, 86400, 3 * 86400]))
    def advance(self, seconds: int) -> None:
        before = self.ex.book.now_ms
        self.run(self.ex.advance(seconds))
        assert self.ex.book.now_ms == before + seconds * 1000

    # ------------------------------------------------------------------ invariants

    @invariant()
    def nothing_negative(self) -> None:
        core = self.ex.book
        for acct in [core.spot, *core.accounts.values()]:
            for asset, b in acct.balances.items():
                assert min(b.free, b.locked, b.borrowed, b.interest) >= 0, (acct.key, asset, b)
        assert all(row.interest > 0 and row.principal > 0 for row in core.interest)

    @invariant()
    def snapshots_agree_with_margin_math(self) -> None:
        for sym in MARGIN_ACCOUNTS:
            snap = self.run(self.ex.account(sym))
            assets = sum((a.total * snap.prices[a.asset] for a in snap.assets), D(0))
            liab = sum((a.liability * snap.prices[a.asset] for a in snap.assets), D(0))
            assert (snap.total_asset_value, snap.total_liability_value) == (assets, liab)
            assert snap.net_value == sum((a.net * snap.prices[a.asset] for a in snap.assets), D(0))
            assert snap.margin_level == margin.margin_level(assets, liab)
            assert snap.band == margin.band_for(snap.margin_level, snap.thresholds)
            key = CROSS if sym is None else isolated_account(sym)
            assert self.ex.book.accounts[key].band == snap.band
            assert not snap.locked

    @invariant()
    def locks_match_open_orders(self) -> None:
        core = self.ex.book
        held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        lists_seen: set[int] = set()
        for order in core.orders.values():
            if not order.is_open:
                continue
            if order.reservation is not None:
                held[(order.account, order.reservation.asset)] += order.reservation.amount
            elif order.order_list_id not in lists_seen:
                lists_seen.add(order.order_list_id)
                res = core.order_lists[order.order_list_id].reservation
                held[(order.account, res.asset)] += res.amount
        for acct in core.accounts.values():
            for asset, b in acct.balances.items():
                assert b.locked == held.get((acct.key, asset), D(0)), (acct.key, asset)

    @invariant()
    def ledgers_match_records(self) -> None:
        core = self.ex.book
        borrowed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        interest: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for loan in core.loans.values():
            if loan.status != LoanStatus.CONFIRMED:
                continue
            sign = 1 if loan.type == LoanType.BORROW else -1
            borrowed[(loan.account, loan.asset)] += sign * loan.principal
            interest[(loan.account, loan.asset)] -= loan.interest
            assert loan.principal + loan.interest == loan.amount
        for row in core.interest:
            interest[(row.account, row.asset)] += row.interest
        for acct in core.accounts.values():
            for asset, b in acct.balances.items():
                assert b.borrowed == borrowed.get((acct.key, asset), D(0)), (acct.key, asset)
                assert b.interest == interest.get((acct.key, asset), D(0)), (acct.key, asset)

    @invariant()
    def value_is_conserved_except_fees_and_interest(self) -> None:
        core = self.ex.book
        expected: dict[str, Decimal] = defaultdict(Decimal, self.initial)
        for t in core.trades:
            assert t.quote_qty == t.qty * t.price
            sign = 1 if t.side == Side.BUY else -1
            expected["BTC"] += sign * t.qty
            expected["USDT"] -= sign * t.quote_qty
            expected[t.commission_asset] -= t.commission
        for r in core.liquidations:
            sign = 1 if r.side == Side.BUY else -1
            expected["BTC"] += sign * r.qty
            expected["USDT"] -= sign * r.qty * r.price
            expected[r.fee_asset] -= r.fee
        for row in core.interest:
            expected[row.asset] -= row.interest
        actual = self.net_by_asset()
        for asset in set(actual) | set(expected):
            assert actual.get(asset, D(0)) == expected.get(asset, D(0)), asset


PaperMachine.TestCase.settings = settings(
    max_examples=80, stateful_step_count=40, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPaperMachine = PaperMachine.TestCase
