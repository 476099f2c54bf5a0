"""The desk's fills and P&L: synced from the exchange's trade history, kept in the database, replayed.

Why it exists: entry prices must survive restarts and include fills the bot did not watch happen (an
order that filled while it was down, a liquidation), so the exchange's own trade history is the source
and the desk's database the memory (`desk_fills`, one row per trade, claimed once however many
processes sync). `ledger()` replays every fill and interest charge through the pure `chatbot.pnl`
ledger; `record_equity` / `equity_at` keep the desk's margin equity at moments, where `/pnl` windows
start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from chatbot.exchange import AccountSnapshot, Exchange, Side, SymbolInfo, Trade, account_of_key
from chatbot.pnl import Ledger
from chatbot.store.db import session_scope
from chatbot.trader.tables import DeskEquity, DeskFill

D0 = Decimal(0)
LOOK_BACK = timedelta(hours=1)


@dataclass(frozen=True)
class Accounts:
    """Every margin account of the desk, read once: snapshots by account key (`cross`, `BTCUSDT`)."""

    snapshots: dict[str, AccountSnapshot]

    @property
    def equity(self) -> Decimal:
        return sum((s.net_value for s in self.snapshots.values()), D0)

    def marks(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for snap in self.snapshots.values():
            out.update(snap.prices)
        return out


async def read_accounts(exchange: Exchange) -> Accounts:
    snaps = {"cross": await exchange.account(None)}
    for symbol in await exchange.isolated_symbols():
        snaps[symbol] = await exchange.account(symbol)
    return Accounts(snaps)


def symbols_for(snap: AccountSnapshot, symbols: dict[str, SymbolInfo], quote: str = "USDT") -> set[str]:
    """The pairs whose fills matter for an account: its isolated pair, or (cross) a USDT pair of every
    asset it holds or owes."""
    if snap.isolated_symbol is not None:
        return {snap.isolated_symbol}
    held = {b.asset for b in snap.assets if (b.total or b.liability) and b.asset != quote}
    return {s.symbol for s in symbols.values() if s.base in held and s.quote == quote}


class FillBook:
    def __init__(self, engine: Engine, exchange: Exchange, symbols: dict[str, SymbolInfo]) -> None:
        self.engine = engine
        self.exchange = exchange
        self.symbols = symbols

    def _known(self) -> dict[tuple[str, str], int]:
        """(account, symbol) → the newest trade id stored."""
        with session_scope(self.engine) as s:
            rows = s.execute(select(col(DeskFill.account), col(DeskFill.symbol), func.max(col(DeskFill.trade_id)))
                             .group_by(col(DeskFill.account), col(DeskFill.symbol))).all()
        return {(a, sym): int(top) for a, sym, top in rows}

    async def sync(self, accounts: Accounts) -> int:
        """Store the fills the exchange has that the desk has not seen yet; returns how many were new."""
        known = self._known()
        new: list[DeskFill] = []
        for key, snap in accounts.snapshots.items():
            wanted = symbols_for(snap, self.symbols) | {sym for (acct, sym) in known if acct == key}
            for symbol in sorted(wanted):
                top = known.get((key, symbol))
                trades = await self.exchange.my_trades(symbol, isolated=key != "cross",
                                                       from_id=None if top is None else top + 1)
                new += [_row(key, t) for t in trades if top is None or t.trade_id > top]
        return self._store(new)

    def _store(self, rows: list[DeskFill]) -> int:
        if not rows:
            return 0
        try:
            with session_scope(self.engine) as s:
                s.add_all(rows)
            return len(rows)
        except IntegrityError:  # another process stored some of them a moment ago: keep the rest
            stored = 0
            for row in rows:
                try:
                    with session_scope(self.engine) as s:
                        s.add(_copy(row))
                    stored += 1
                except IntegrityError:
                    continue
            return stored

    def fills(self) -> list[DeskFill]:
        with session_scope(self.engine) as s:
            rows = s.execute(select(DeskFill).order_by(col(DeskFill.time), col(DeskFill.trade_id))).scalars().all()
            for row in rows:
                s.expunge(row)
            return list(rows)

    async def ledger(self, accounts: Accounts, since: datetime | None = None) -> Ledger:
        """Every fill and every interest charge (from the first fill, or `since` if earlier), replayed."""
        fills = self.fills()
        first = min((f.time for f in fills), default=since)
        if since is not None and first is not None:
            first = min(first, since)
        events: list[tuple[datetime, int, DeskFill | tuple[str, str, Decimal]]] = []
        for key in accounts.snapshots:
            iso = account_of_key(key)
            if first is None:
                continue
            # The loan a short sells is charged (ON_BORROW) a moment before its fill: look an hour back.
            for rec in await self.exchange.interest_history(isolated_symbol=iso, start=first - LOOK_BACK):
                events.append((rec.time, 0, (key, rec.asset, rec.interest)))
        events += [(f.time, 1, f) for f in fills]
        ledger = Ledger()
        for time, _, item in sorted(events, key=lambda e: (e[0], e[1], _tie(e[2]))):
            if isinstance(item, DeskFill):
                info = self.symbols.get(item.symbol)
                if info is None:
                    continue
                ledger.fill(account=item.account, base=info.base, side=Side(item.side), qty=item.qty,
                            price=item.price, commission=item.commission, commission_asset=item.commission_asset,
                            time=time, order_id=item.order_id)
            else:
                key, asset, units = item
                ledger.interest(account=key, asset=asset, units=units, time=time)
        return ledger

    # ------------------------------------------------------------------ equity marks

    def record_equity(self, at: datetime, equity: Decimal, note: str) -> None:
        with session_scope(self.engine) as s:
            s.add(DeskEquity(at=at, equity=equity, note=note[:64]))

    def equity_at(self, start: datetime) -> DeskEquity | None:
        """The desk's equity at `start`: the last mark at or before it, else the first one after it."""
        with session_scope(self.engine) as s:
            at, ident = col(DeskEquity.at), col(DeskEquity.id)
            row = s.execute(select(DeskEquity).where(at <= start).order_by(at.desc(), ident.desc())
                            .limit(1)).scalar_one_or_none()
            if row is None:
                row = s.execute(select(DeskEquity).where(at > start).order_by(at, ident).limit(1)).scalar_one_or_none()
            if row is not None:
                s.expunge(row)
            return row


def _tie(item: DeskFill | tuple[str, str, Decimal]) -> int:
    return item.trade_id if isinstance(item, DeskFill) else 0


def _row(account: str, t: Trade) -> DeskFill:
    return DeskFill(account=account, symbol=t.symbol, trade_id=t.trade_id, order_id=t.order_id, side=t.side.value,
                    price=t.price, qty=t.qty, commission=t.commission, commission_asset=t.commission_asset,
                    time=t.time)


def _copy(row: DeskFill) -> DeskFill:
    return DeskFill(account=row.account, symbol=row.symbol, trade_id=row.trade_id, order_id=row.order_id,
                    side=row.side, price=row.price, qty=row.qty, commission=row.commission,
                    commission_asset=row.commission_asset, time=row.time)
