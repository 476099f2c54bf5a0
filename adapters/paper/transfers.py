"""Transfers between the spot wallet, the cross account and isolated pairs.

Why it exists: a transfer touches two wallets of different kinds (spot has no margin rules, an
isolated account may not exist yet and is then created) and is capped by what the source may give
away without breaching its transfer-out ratio, which loans.py computes (`max_transferable`). It is
the only operation that moves funds between accounts, so it sits on its own above the loan rules.
"""

from __future__ import annotations

from decimal import Decimal

from chatbot.exchange import CROSS, SPOT, isolated_account

from .loans import Loans
from .model import MarginAccount, TransferRow
from .rules import ISOLATED_PREFIX, MSG_BALANCE, MSG_NO_ACCOUNT, check_amount, check_unlocked, err, missing


class Transfers(Loans):
    """`transfer()` and the wallet names it accepts (SPOT, CROSS, ISOLATED:<symbol>)."""

    def _wallet(self, name: str, *, create: bool = False) -> MarginAccount:
        if name == SPOT:
            return self.spot
        if name == CROSS:
            return self.accounts[CROSS]
        if name.startswith(ISOLATED_PREFIX):
            symbol = self._symbol(name[len(ISOLATED_PREFIX):]).symbol
            acct = self.accounts.get(isolated_account(symbol))
            if acct is not None:
                return acct
            if create:
                return MarginAccount(isolated_account(symbol), symbol, self._isolated_thresholds(symbol))
            raise err(-3003, MSG_NO_ACCOUNT)
        raise missing("type")

    def transfer(self, asset: str, amount: Decimal, from_account: str, to_account: str) -> int:
        asset = asset.upper()
        amount = check_amount(amount)
        if from_account == to_account:
            raise missing("type")
        src = self._wallet(from_account)
        dst = self._wallet(to_account, create=True)
        for acct in (src, dst):
            if acct is not self.spot:
                self._require_account_asset(acct, asset)
                self._require_margin_asset(asset)  # an isolated pair's asset must have a price too
        check_unlocked(src, dst)
        if self._peek(src, asset).free < amount:
            raise err(-3041, MSG_BALANCE)
        if src is not self.spot and amount > self.max_transferable(src.key, asset):
            raise err(-3020, "Transfer out amount exceeds max amount.")
        # ---- mutate
        if dst.key not in self.accounts and dst is not self.spot:
            dst = self._create_isolated(dst.isolated_symbol or "")
        self._bal(src, asset).free -= amount
        self._bal(dst, asset).free += amount
        row = TransferRow(self._new_tx(), asset, amount, src.key, dst.key, self.now_ms)
        self.transfers.append(row)
        self.journal.transfers.append(row)
        self._touch()
        self._settle_accounts([a for a in (src, dst) if a is not self.spot])
        return row.tx_id
