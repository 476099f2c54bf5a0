"""The books of the paper exchange: its state, the journal of what changed, lookups and balance rows.

Why it sits at the bottom: every other part (valuation, loans, transfers, orders, triggers, the
clock, liquidation) reads and writes this state, and every mutation must be noted in the same
`Journal`, so that the caller can persist exactly what changed in one transaction and then publish
the events. Nothing here knows margin rules beyond looking things up; the layers built on `Books`
add them. `refresh_after_load()` rebuilds the derived indexes after seeding or loading.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from chatbot.config import PaperConfig
from chatbot.exchange import (
    CROSS,
    SPOT,
    ExchangeError,
    ExchangeEvent,
    LoanStatus,
    SymbolInfo,
    isolated_account,
)
from chatbot.margin import Thresholds
from chatbot.money import D1

from .model import (
    VALUATION_ASSET,
    Balance,
    InterestRow,
    LiquidationRow,
    LoanRow,
    MarginAccount,
    OrderListState,
    OrderState,
    TradeRow,
    TransferRow,
    build_symbols,
    dt_to_ms,
    ms_to_dt,
    resolve_asset_prices,
)
from .rules import MSG_NO_ACCOUNT, err, not_margin_asset


@dataclass
class Journal:
    """What one public operation changed: for persistence (one transaction) and for listeners."""

    mutated: bool = False
    state: bool = False  # prices, clock, counters
    balances: set[tuple[str, str]] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    orders: dict[int, OrderState] = field(default_factory=dict)
    lists: dict[int, OrderListState] = field(default_factory=dict)
    trades: list[TradeRow] = field(default_factory=list)
    loans: dict[int, LoanRow] = field(default_factory=dict)
    interest: dict[int, InterestRow] = field(default_factory=dict)
    liquidations: list[LiquidationRow] = field(default_factory=list)
    transfers: list[TransferRow] = field(default_factory=list)
    events: list[ExchangeEvent] = field(default_factory=list)


class Books:
    """The state of one paper margin exchange (spot wallet, cross, isolated accounts) and its journal."""

    def __init__(self, config: PaperConfig, *, now_ms: int | None = None) -> None:
        self.config = config
        self.symbols: dict[str, SymbolInfo] = build_symbols(config)
        self.now_ms = dt_to_ms(config.start_time) if now_ms is None else now_ms
        self.prices: dict[str, Decimal] = {}
        self.asset_prices: dict[str, Decimal] = {VALUATION_ASSET: D1}
        self.spot = MarginAccount(SPOT, None, Thresholds.cross(config.max_leverage))
        self.accounts: dict[str, MarginAccount] = {
            CROSS: MarginAccount(CROSS, None, Thresholds.cross(config.max_leverage), created_ms=self.now_ms)
        }
        self.orders: dict[int, OrderState] = {}
        self.open_by_symbol: dict[str, dict[int, OrderState]] = {}
        self.client_index: dict[tuple[str, str], list[int]] = {}
        self.order_lists: dict[int, OrderListState] = {}
        self.trades: list[TradeRow] = []
        self.loans: dict[int, LoanRow] = {}
        self.interest: list[InterestRow] = []
        self.interest_last: dict[tuple[str, str], InterestRow] = {}
        self.liquidations: list[LiquidationRow] = []
        self.transfers: list[TransferRow] = []
        self.next_tx = 1
        self.next_order = 1
        self.next_list = 1
        self.next_trade = 1
        self.walk_steps = 0
        self.schedule: list[tuple[int, str, Decimal]] = []  # replay rows, sorted by time
        self.schedule_cursor = 0
        self.debtors: set[str] = set()
        self.journal = Journal()
        self.isolated_leverage = {s.upper(): lev for s, lev in config.isolated_leverage.items()}
        for sym in self.isolated_leverage:
            self._symbol(sym, bad=ValueError)
        for sym in config.isolated:
            self._symbol(sym.upper(), bad=ValueError)

    # ------------------------------------------------------------------ derived state & journal

    def refresh_after_load(self) -> None:
        """Recompute derived state (asset prices, debtor set, indexes) after seeding or loading."""
        self.asset_prices = resolve_asset_prices(self.symbols, self.prices)
        self.debtors = {k for k, a in self.accounts.items() if a.has_debt()}
        self.open_by_symbol = {}
        self.client_index = {}
        for order in sorted(self.orders.values(), key=lambda o: o.order_id):
            self.client_index.setdefault((order.symbol, order.client_order_id), []).append(order.order_id)
            if order.is_open:
                self.open_by_symbol.setdefault(order.symbol, {})[order.order_id] = order
        self.interest_last = {}
        for row in self.interest:
            key = (row.account, row.asset)
            last = self.interest_last.get(key)
            if last is None or row.time_ms >= last.time_ms:
                self.interest_last[key] = row
        for acct in self.accounts.values():
            acct.pending_tx = None
        for loan in self.loans.values():
            if loan.status == LoanStatus.PENDING:
                self.accounts[loan.account].pending_tx = loan.tx_id

    def take_journal(self) -> Journal:
        journal, self.journal = self.journal, Journal()
        return journal

    def _touch(self) -> None:
        self.journal.mutated = True
        self.journal.state = True

    def _emit(self, kind: str, isolated_symbol: str | None = None, **data: object) -> None:
        self.journal.events.append(ExchangeEvent(kind, ms_to_dt(self.now_ms), isolated_symbol, data))

    # ------------------------------------------------------------------ lookups

    def _symbol(self, symbol: str, bad: type[Exception] = ExchangeError) -> SymbolInfo:
        info = self.symbols.get(symbol.upper())
        if info is None:
            if bad is ExchangeError:
                raise err(-1121, "Invalid symbol.")
            raise bad(f"paper: unknown symbol {symbol}")
        return info

    def _price(self, symbol: str) -> Decimal:
        price = self.prices.get(symbol)
        if price is None:
            raise err(-3042, "PriceIndex not available for this margin pair.")
        return price

    def account_key(self, isolated_symbol: str | None) -> str:
        if isolated_symbol is None:
            return CROSS
        return isolated_account(self._symbol(isolated_symbol).symbol)

    def _account(self, key: str) -> MarginAccount:
        acct = self.accounts.get(key)
        if acct is None:
            raise err(-3003, MSG_NO_ACCOUNT)
        return acct

    def thresholds_for(self, isolated_symbol: str | None) -> Thresholds:
        if isolated_symbol is None:
            return Thresholds.cross(self.config.max_leverage)
        return self._isolated_thresholds(isolated_symbol)

    def _isolated_thresholds(self, symbol: str) -> Thresholds:
        lev = self.isolated_leverage.get(symbol, self.config.default_isolated_leverage)
        return Thresholds.isolated_for_leverage(lev)

    def _create_isolated(self, symbol: str) -> MarginAccount:
        key = isolated_account(symbol)
        acct = self.accounts.get(key)
        if acct is None:
            info = self._symbol(symbol)
            acct = MarginAccount(key, symbol, self._isolated_thresholds(symbol), created_ms=self.now_ms)
            self.accounts[key] = acct
            self._bal(acct, info.base)
            self._bal(acct, info.quote)
            self.journal.accounts.add(key)
            self._touch()
        return acct

    def _bal(self, acct: MarginAccount, asset: str) -> Balance:
        """The balance row to mutate (created if absent); marks it dirty."""
        bal = acct.balances.get(asset)
        if bal is None:
            bal = acct.balances[asset] = Balance()
        self.journal.balances.add((acct.key, asset))
        self.journal.mutated = True
        return bal

    @staticmethod
    def _peek(acct: MarginAccount, asset: str) -> Balance:
        return acct.balances.get(asset) or Balance()

    def _require_margin_asset(self, asset: str) -> None:
        if asset not in self.asset_prices:
            raise not_margin_asset()

    def _new_tx(self) -> int:
        """The next transaction id (loans, interest rows, transfers share one sequence)."""
        tx, self.next_tx = self.next_tx, self.next_tx + 1
        return tx

    # ------------------------------------------------------------------ hooks the later layers fill in

    def _settle_accounts(self, accts: Iterable[MarginAccount]) -> None:
        """After a mutation: re-band `accts` and liquidate where due (see `liquidation.Liquidation`)."""
        raise NotImplementedError
