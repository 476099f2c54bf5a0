"""Loans and interest: borrow gates, borrow/repay (sync or PENDING), hourly interest rows, max amounts.

Why it exists: a loan is more than a balance change. Binance checks a fixed sequence of gates
(reference §5.7), charges the first hour's interest at borrow time, records every loan and repay,
aggregates interest per (account, asset, hour) and can confirm loans asynchronously; orders
(MARGIN_BUY, AUTO_REPAY), transfers and liquidation all borrow or repay through here, so it sits
right above valuation. `_settle_accounts` (bands, liquidation) is a hook that `liquidation.py` fills.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from chatbot import margin
from chatbot.exchange import ExchangeError, LoanStatus, LoanType, isolated_account
from chatbot.money import D0, q8

from .model import Balance, InterestRow, LoanRow, MarginAccount, hour_floor
from .rules import ISOLATED_PREFIX, MSG_BALANCE, MSG_PENDING, check_amount, check_unlocked, err, not_margin_asset
from .valuation import Valuation


class Loans(Valuation):
    """Interest rates, borrow caps and gates, loan records, hourly interest, manual borrow and repay."""

    def daily_rate(self, acct_key: str, asset: str) -> Decimal | None:
        rates = self.config.daily_interest_rates
        if acct_key.startswith(ISOLATED_PREFIX):
            override = rates.get(f"{acct_key[len(ISOLATED_PREFIX):]}:{asset}")
            if override is not None:
                return override
        return rates.get(asset)

    def daily_rates(self, isolated_symbol: str | None) -> dict[str, Decimal]:
        if isolated_symbol is None:
            return {a: r for a, r in self.config.daily_interest_rates.items() if ":" not in a}
        info = self._symbol(isolated_symbol)
        key = isolated_account(info.symbol)
        out: dict[str, Decimal] = {}
        for asset in (info.base, info.quote):
            rate = self.daily_rate(key, asset)
            if rate is not None:
                out[asset] = rate
        return out

    # ------------------------------------------------------------------ max borrow / transfer

    def _borrow_caps(self, acct: MarginAccount, asset: str) -> tuple[Decimal, Decimal | None, Decimal | None]:
        """(margin-ratio gate in units, VIP limit left, system inventory left)."""
        assets, liab = self.values(acct)
        gate = margin.max_borrowable(assets, liab, acct.thresholds.initial, self.asset_prices[asset])
        limits = self.config.borrow_limits
        limit = None
        if acct.isolated_symbol:
            limit = limits.get(f"{acct.isolated_symbol}:{asset}")
        if limit is None:
            limit = limits.get(asset)
        limit_left = None if limit is None else max(D0, limit - self._peek(acct, asset).borrowed)
        inventory = self.config.system_inventory.get(asset)
        inv_left = None
        if inventory is not None:
            out = sum((a.balances[asset].borrowed for a in self.accounts.values() if asset in a.balances), D0)
            inv_left = max(D0, inventory - out)
        return gate, limit_left, inv_left

    def _require_account_asset(self, acct: MarginAccount, asset: str) -> None:
        """-3027 unless `asset` belongs to `acct`: its pair's base or quote, or (cross) any priced asset."""
        if acct.isolated_symbol:
            info = self.symbols[acct.isolated_symbol]
            if asset not in (info.base, info.quote):
                raise not_margin_asset()
        else:
            self._require_margin_asset(asset)

    def max_borrowable(self, acct_key: str, asset: str) -> Decimal:
        acct = self._account(acct_key)
        self._require_account_asset(acct, asset)
        if self.daily_rate(acct_key, asset) is None:
            return D0
        gate, limit_left, inv_left = self._borrow_caps(acct, asset)
        caps = [c for c in (gate, limit_left, inv_left) if c is not None]
        return q8(min(caps), ROUND_DOWN)

    def max_transferable(self, acct_key: str, asset: str) -> Decimal:
        acct = self._account(acct_key)
        self._require_account_asset(acct, asset)
        bal = self._peek(acct, asset)
        assets, liab = self.values(acct)
        return margin.max_transferable(bal.free, assets, liab, self.asset_prices[asset],
                                       acct.thresholds.transfer_out)

    def _check_borrow(self, acct: MarginAccount, asset: str, amount: Decimal, *, manual: bool) -> None:
        """Binance's borrow gates, in the reference order (§5.7) [choice for -3008]."""
        self._require_account_asset(acct, asset)
        if self.daily_rate(acct.key, asset) is None:
            raise err(-3012, "Borrow is banned for this asset.")
        minimum = self.config.min_borrow.get(asset)
        if manual and minimum is not None and amount < minimum:
            raise err(-3013, "Borrow amount less than minimum borrowable amount.")
        if acct.pending_tx is not None:
            raise err(-3007, MSG_PENDING)
        assets, liab = self.values(acct)
        if liab > 0 and margin.margin_level(assets, liab) <= acct.thresholds.margin_call:
            raise err(-3008, "Borrow not allowed. Your borrow amount has exceed maximum borrow amount.")
        gate, limit_left, inv_left = self._borrow_caps(acct, asset)
        cap = gate if limit_left is None else min(gate, limit_left)
        if amount > cap:
            if limit_left is not None and limit_left < gate:
                raise err(-11008, "Exceeding the account's maximum borrowable limit.")
            raise err(-3006, "Your borrow amount has exceed maximum borrow amount.")
        if inv_left is not None and amount > inv_left:
            raise err(-3045, "The system does not have enough asset now.")

    # ------------------------------------------------------------------ loan and interest records

    def _set_debtor(self, acct: MarginAccount) -> None:
        if acct.has_debt():
            self.debtors.add(acct.key)
        else:
            self.debtors.discard(acct.key)

    def _charge(self, acct: MarginAccount, asset: str, principal: Decimal, kind: str) -> Decimal:
        """One hourly interest charge on `principal`, aggregated per (account, asset, hour)."""
        rate = self.daily_rate(acct.key, asset) or D0
        amount = margin.interest_for_hours(principal, rate, 1)
        if amount <= 0:
            return D0
        self._bal(acct, asset).interest += amount
        hour = hour_floor(self.now_ms)
        key = (acct.key, asset)
        row = self.interest_last.get(key)
        if row is not None and row.time_ms == hour:
            row.principal += principal
            row.interest += amount
        else:
            row = InterestRow(self._new_tx(), acct.key, asset, acct.isolated_symbol, hour, principal, amount,
                              rate, kind)
            self.interest.append(row)
            self.interest_last[key] = row
        self.journal.interest[row.tx_id] = row
        self._touch()
        return amount

    def _record_loan(self, acct: MarginAccount, type_: LoanType, kind: str, asset: str, amount: Decimal,
                     principal: Decimal, interest: Decimal, status: LoanStatus = LoanStatus.CONFIRMED) -> LoanRow:
        row = LoanRow(self._new_tx(), type_, kind, acct.key, asset, acct.isolated_symbol, amount,
                      principal, interest, status, self.now_ms)
        self.loans[row.tx_id] = row
        self.journal.loans[row.tx_id] = row
        self._touch()
        return row

    @staticmethod
    def _split_repay(bal: Balance, amount: Decimal) -> tuple[Decimal, Decimal]:
        """(principal, interest) that repaying `amount` settles: interest first, then principal."""
        interest = min(amount, bal.interest)
        return amount - interest, interest

    def _lend(self, acct: MarginAccount, asset: str, amount: Decimal) -> Balance:
        """Credit a borrow: free and borrowed grow by `amount`; its first hour of interest is charged."""
        bal = self._bal(acct, asset)
        bal.free += amount
        bal.borrowed += amount
        self._charge(acct, asset, amount, "ON_BORROW")
        return bal

    def _pay_back(self, acct: MarginAccount, asset: str, amount: Decimal) -> tuple[Balance, Decimal, Decimal]:
        """Debit a repay from free, interest first; (the balance, principal repaid, interest repaid)."""
        bal = self._bal(acct, asset)
        principal, interest = self._split_repay(bal, amount)
        bal.free -= amount
        bal.interest -= interest
        bal.borrowed -= principal
        return bal, principal, interest

    def _liability_changed(self, acct: MarginAccount, asset: str, type_: LoanType, amount: Decimal,
                           bal: Balance) -> None:
        self._set_debtor(acct)
        self._emit("liability", acct.isolated_symbol, account=acct.key, asset=asset, type=type_.value,
                   amount=amount, principal=bal.borrowed, interest=bal.interest)

    def _apply_borrow(self, acct: MarginAccount, asset: str, amount: Decimal, kind: str) -> LoanRow:
        bal = self._lend(acct, asset, amount)
        row = self._record_loan(acct, LoanType.BORROW, kind, asset, amount, amount, D0)
        self._liability_changed(acct, asset, LoanType.BORROW, amount, bal)
        return row

    def _apply_repay(self, acct: MarginAccount, asset: str, amount: Decimal, kind: str) -> LoanRow:
        bal, principal, interest = self._pay_back(acct, asset, amount)
        row = self._record_loan(acct, LoanType.REPAY, kind, asset, amount, principal, interest)
        self._liability_changed(acct, asset, LoanType.REPAY, amount, bal)
        return row

    # ------------------------------------------------------------------ borrow / repay

    def borrow(self, acct_key: str, asset: str, amount: Decimal) -> int:
        asset = asset.upper()
        amount = check_amount(amount)
        acct = self._account(acct_key)
        check_unlocked(acct)
        self._check_borrow(acct, asset, amount, manual=True)
        return self._manual(acct, LoanType.BORROW, asset, amount, amount, D0)

    def _check_repay(self, acct: MarginAccount, asset: str, amount: Decimal) -> None:
        bal = self._peek(acct, asset)
        if amount > bal.liability:
            raise err(-3015, "Repay amount exceeds borrow amount.")
        if amount > bal.free:
            raise err(-3041, MSG_BALANCE)

    def repay(self, acct_key: str, asset: str, amount: Decimal) -> int:
        asset = asset.upper()
        amount = check_amount(amount)
        acct = self._account(acct_key)
        check_unlocked(acct)
        self._require_account_asset(acct, asset)
        self._check_repay(acct, asset, amount)
        if acct.pending_tx is not None:
            raise err(-3007, MSG_PENDING)
        principal, interest = self._split_repay(self._peek(acct, asset), amount)
        return self._manual(acct, LoanType.REPAY, asset, amount, principal, interest)

    def _manual(self, acct: MarginAccount, type_: LoanType, asset: str, amount: Decimal, principal: Decimal,
                interest: Decimal) -> int:
        """A checked manual borrow or repay: applied now, or (async_loans) recorded PENDING for the next tick."""
        if self.config.async_loans:
            row = self._record_loan(acct, type_, "MANUAL", asset, amount, principal, interest,
                                    status=LoanStatus.PENDING)
            acct.pending_tx = row.tx_id
            return row.tx_id
        apply = self._apply_borrow if type_ == LoanType.BORROW else self._apply_repay
        row = apply(acct, asset, amount, "MANUAL")
        self._settle_accounts([acct])
        return row.tx_id

    def _settle_pending(self) -> None:
        """async_loans: PENDING records become CONFIRMED (applied) or FAILED (nothing changes)."""
        for acct in self.accounts.values():
            if acct.pending_tx is None:
                continue
            row = self.loans[acct.pending_tx]
            acct.pending_tx = None
            try:
                if row.type == LoanType.BORROW:
                    self._check_borrow(acct, row.asset, row.amount, manual=True)
                else:
                    self._check_repay(acct, row.asset, row.amount)
            except ExchangeError:
                row.status = LoanStatus.FAILED
            else:
                row.status = LoanStatus.CONFIRMED
                self._confirm(acct, row)
            self.journal.loans[row.tx_id] = row
            self._touch()

    def _confirm(self, acct: MarginAccount, row: LoanRow) -> None:
        """Apply a PENDING loan record in place (it keeps its tx id and time; a repay gets its split)."""
        if row.type == LoanType.BORROW:
            bal = self._lend(acct, row.asset, row.amount)
            self._liability_changed(acct, row.asset, LoanType.BORROW, row.amount, bal)
        else:
            bal, row.principal, row.interest = self._pay_back(acct, row.asset, row.amount)
            self._liability_changed(acct, row.asset, LoanType.REPAY, row.amount, bal)
