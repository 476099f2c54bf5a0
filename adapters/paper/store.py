"""Write the book's journal to the `paper_*` tables in one transaction, and load it all back.

Why a separate module: the book stays pure (no SQL), and the exchange front end stays small.
Writes are upserts of what the journal marks as changed, through SQLAlchemy Core executemany
(fast enough for a 30-day clock advance writing ~14k interest rows). Loading rebuilds an engine
whose `dump()` equals the one that was written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from chatbot.exchange import CROSS, SPOT, Fill, LoanStatus, LoanType, OrderStatus, OrderType, Side, SideEffect
from chatbot.margin import Band
from chatbot.store.db import table_of

from .book import Journal, PaperBook
from .model import (
    Balance,
    InterestRow,
    LiquidationRow,
    LoanRow,
    MarginAccount,
    OrderListState,
    OrderState,
    Reservation,
    TradeRow,
    TransferRow,
    dt_to_ms,
    ms_to_dt,
)
from .tables import (
    PaperAccount,
    PaperBalance,
    PaperInterest,
    PaperLiquidation,
    PaperLoan,
    PaperOrder,
    PaperOrderList,
    PaperState,
    PaperTrade,
    PaperTransfer,
)

STATE_ID = "paper"
DOC_VERSION = 1


def _t(model: type[SQLModel]) -> sa.Table:
    return table_of(model)


T_STATE, T_ACCOUNTS, T_BALANCES = _t(PaperState), _t(PaperAccount), _t(PaperBalance)
T_ORDERS, T_LISTS, T_TRADES = _t(PaperOrder), _t(PaperOrderList), _t(PaperTrade)
T_LOANS, T_INTEREST, T_LIQ, T_TRANSFERS = _t(PaperLoan), _t(PaperInterest), _t(PaperLiquidation), _t(PaperTransfer)


def _upsert(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
        )
        conn.execute(stmt, list(rows))
        return
    for row in rows:  # pragma: no cover - other databases: delete + insert
        conn.execute(table.delete().where(sa.and_(*(table.c[k] == row[k] for k in keys))))
        conn.execute(table.insert(), row)


def _insert(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), list(rows))


def _dt(value: Any) -> int:
    return dt_to_ms(value)


class PaperStore:
    """The paper exchange's rows in the project database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ write

    def write(self, core: PaperBook, journal: Journal, *, revision: int, everything: bool = False,
              conn: Connection | None = None) -> None:
        """Persist what `journal` says changed (or everything), in one transaction (or in `conn`'s),
        and record the ledger's new `revision`."""
        if conn is None:
            with self.engine.begin() as own:
                self._write(own, core, journal, everything, revision)
            return
        self._write(conn, core, journal, everything, revision)

    def revision(self) -> int | None:
        """The ledger's revision in the database (None before it was seeded): one cheap read."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(T_STATE.c.revision).where(T_STATE.c.id == STATE_ID)).scalar()
        return None if value is None else int(value)

    @staticmethod
    def lock(conn: Connection) -> int | None:
        """Inside a write transaction: lock the ledger and return its revision (None before seeding)."""
        stmt = sa.select(T_STATE.c.revision).where(T_STATE.c.id == STATE_ID)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        value = conn.execute(stmt).scalar()
        return None if value is None else int(value)

    def _write(self, conn: Connection, core: PaperBook, journal: Journal, everything: bool,
               revision: int) -> None:
        _upsert(conn, T_STATE, [{**self._state_row(core), "revision": revision}])
        if everything:
            accounts = list(core.accounts)
            balances = [(SPOT, a) for a in core.spot.balances] + [
                (k, a) for k, acct in core.accounts.items() for a in acct.balances]
            orders = list(core.orders.values())
            lists = list(core.order_lists.values())
            trades, loans, interest = core.trades, list(core.loans.values()), core.interest
            liqs, transfers = core.liquidations, core.transfers
        else:
            accounts = sorted(journal.accounts)
            balances = sorted(journal.balances)
            orders = list(journal.orders.values())
            lists = list(journal.lists.values())
            trades, loans, interest = journal.trades, list(journal.loans.values()), list(journal.interest.values())
            liqs, transfers = journal.liquidations, journal.transfers
        _upsert(conn, T_ACCOUNTS, [self._account_row(core.accounts[k]) for k in accounts if k in core.accounts])
        _upsert(conn, T_BALANCES, [self._balance_row(core, k, a) for k, a in balances])
        _upsert(conn, T_ORDERS, [self._order_row(o) for o in orders])
        _upsert(conn, T_LISTS, [self._list_row(x) for x in lists])
        _upsert(conn, T_LOANS, [self._loan_row(r) for r in loans])
        _upsert(conn, T_INTEREST, [self._interest_row(r) for r in interest])
        if everything:
            _upsert(conn, T_TRADES, [self._trade_row(r) for r in trades])
            _upsert(conn, T_LIQ, [self._liq_row(r) for r in liqs])
            _upsert(conn, T_TRANSFERS, [self._transfer_row(r) for r in transfers])
        else:
            _insert(conn, T_TRADES, [self._trade_row(r) for r in trades])
            _insert(conn, T_LIQ, [self._liq_row(r) for r in liqs])
            _insert(conn, T_TRANSFERS, [self._transfer_row(r) for r in transfers])

    @staticmethod
    def _state_row(core: PaperBook) -> dict[str, Any]:
        doc = {
            "version": DOC_VERSION,
            "prices": {s: str(p) for s, p in sorted(core.prices.items())},
            "counters": {"tx": core.next_tx, "order": core.next_order, "list": core.next_list,
                         "trade": core.next_trade},
            "walk_steps": core.walk_steps,
            "replay_cursor": core.schedule_cursor,
        }
        return {"id": STATE_ID, "clock": ms_to_dt(core.now_ms), "doc": json.dumps(doc, sort_keys=True)}

    @staticmethod
    def _account_row(acct: MarginAccount) -> dict[str, Any]:
        return {"account": acct.key, "isolated_symbol": acct.isolated_symbol, "band": acct.band.value,
                "locked": acct.locked, "created_at": ms_to_dt(acct.created_ms)}

    @staticmethod
    def _balance_row(core: PaperBook, key: str, asset: str) -> dict[str, Any]:
        acct = core.spot if key == SPOT else core.accounts[key]
        b = acct.balances[asset]
        return {"account": key, "asset": asset, "free": b.free, "locked": b.locked, "borrowed": b.borrowed,
                "interest": b.interest}

    @staticmethod
    def _order_row(o: OrderState) -> dict[str, Any]:
        r = o.reservation
        return {
            "order_id": o.order_id, "client_order_id": o.client_order_id, "symbol": o.symbol,
            "account": o.account, "isolated": o.isolated, "side": o.side.value, "type": o.type.value,
            "status": o.status.value, "time_in_force": o.time_in_force, "orig_qty": o.orig_qty,
            "executed_qty": o.executed_qty, "cummulative_quote_qty": o.cummulative_quote_qty,
            "price": o.price, "stop_price": o.stop_price, "quote_order_qty": o.quote_order_qty,
            "side_effect": o.side_effect.value, "working": o.working, "order_list_id": o.order_list_id,
            "margin_buy_borrow_amount": o.margin_buy_borrow_amount,
            "margin_buy_borrow_asset": o.margin_buy_borrow_asset,
            "res_asset": r.asset if r else None, "res_amount": r.amount if r else None,
            "res_borrow_amount": r.borrow_amount if r else None, "res_borrow_asset": r.borrow_asset if r else None,
            "res_auto_repay": r.auto_repay_at_cancel if r else None, "res_used": r.used if r else None,
            "time": ms_to_dt(o.time_ms), "update_time": ms_to_dt(o.update_ms),
        }

    @staticmethod
    def _list_row(x: OrderListState) -> dict[str, Any]:
        r = x.reservation
        return {
            "order_list_id": x.order_list_id, "list_client_order_id": x.list_client_order_id,
            "symbol": x.symbol, "account": x.account, "isolated": x.isolated, "side": x.side.value,
            "status": x.status, "stop_order_id": x.order_ids[0], "limit_order_id": x.order_ids[1],
            "margin_buy_borrow_amount": x.margin_buy_borrow_amount,
            "margin_buy_borrow_asset": x.margin_buy_borrow_asset, "res_asset": r.asset, "res_amount": r.amount,
            "res_borrow_amount": r.borrow_amount, "res_borrow_asset": r.borrow_asset,
            "res_auto_repay": r.auto_repay_at_cancel, "res_used": r.used, "time": ms_to_dt(x.time_ms),
        }

    @staticmethod
    def _trade_row(t: TradeRow) -> dict[str, Any]:
        return {"trade_id": t.trade_id, "order_id": t.order_id, "symbol": t.symbol, "account": t.account,
                "side": t.side.value, "price": t.price, "qty": t.qty, "quote_qty": t.quote_qty,
                "commission": t.commission, "commission_asset": t.commission_asset, "is_maker": t.is_maker,
                "time": ms_to_dt(t.time_ms)}

    @staticmethod
    def _loan_row(r: LoanRow) -> dict[str, Any]:
        return {"tx_id": r.tx_id, "type": r.type.value, "kind": r.kind, "account": r.account, "asset": r.asset,
                "isolated_symbol": r.isolated_symbol, "amount": r.amount, "principal": r.principal,
                "interest": r.interest, "status": r.status.value, "time": ms_to_dt(r.time_ms)}

    @staticmethod
    def _interest_row(r: InterestRow) -> dict[str, Any]:
        return {"tx_id": r.tx_id, "account": r.account, "asset": r.asset, "isolated_symbol": r.isolated_symbol,
                "time": ms_to_dt(r.time_ms), "principal": r.principal, "interest": r.interest,
                "daily_rate": r.daily_rate, "type": r.type}

    @staticmethod
    def _liq_row(r: LiquidationRow) -> dict[str, Any]:
        return {"order_id": r.order_id, "account": r.account, "symbol": r.symbol, "isolated": r.isolated,
                "side": r.side.value, "qty": r.qty, "price": r.price, "avg_price": r.avg_price, "fee": r.fee,
                "fee_asset": r.fee_asset, "time": ms_to_dt(r.time_ms)}

    @staticmethod
    def _transfer_row(r: TransferRow) -> dict[str, Any]:
        return {"tx_id": r.tx_id, "asset": r.asset, "amount": r.amount, "from_account": r.from_account,
                "to_account": r.to_account, "time": ms_to_dt(r.time_ms)}

    # ------------------------------------------------------------------ load

    def load(self, core: PaperBook, conn: Connection | None = None) -> int | None:
        """Fill a fresh engine from the database; its revision, or None when there is no saved state."""
        if conn is None:
            with self.engine.connect() as own:
                return self.load(core, own)
        state = conn.execute(sa.select(T_STATE).where(T_STATE.c.id == STATE_ID)).mappings().first()
        if state is None:
            return None
        self._load(conn, core, state)
        core.adopt_config()
        return int(state["revision"])

    def _load(self, conn: Connection, core: PaperBook, state: Any) -> None:
        doc = json.loads(state["doc"])
        core.now_ms = _dt(state["clock"])
        core.prices = {s: Decimal(p) for s, p in doc["prices"].items()}
        counters = doc["counters"]
        core.next_tx, core.next_order = counters["tx"], counters["order"]
        core.next_list, core.next_trade = counters["list"], counters["trade"]
        core.walk_steps = doc.get("walk_steps", 0)
        core.schedule_cursor = doc.get("replay_cursor", 0)

        core.accounts = {}
        for row in conn.execute(sa.select(T_ACCOUNTS).order_by(T_ACCOUNTS.c.account)).mappings():
            sym = row["isolated_symbol"]
            thresholds = core.thresholds_for(sym)
            core.accounts[row["account"]] = MarginAccount(row["account"], sym, thresholds, band=Band(row["band"]),
                                                          locked=row["locked"], created_ms=_dt(row["created_at"]))
        if CROSS not in core.accounts:  # pragma: no cover - always written at seed
            core.accounts[CROSS] = MarginAccount(CROSS, None, core.thresholds_for(None))
        core.spot.balances = {}
        query = sa.select(T_BALANCES).order_by(T_BALANCES.c.account, T_BALANCES.c.asset)
        for row in conn.execute(query).mappings():
            acct = core.spot if row["account"] == SPOT else core.accounts[row["account"]]
            acct.balances[row["asset"]] = Balance(row["free"], row["locked"], row["borrowed"], row["interest"])

        fills: dict[int, list[Fill]] = {}
        core.trades = []
        for row in conn.execute(sa.select(T_TRADES).order_by(T_TRADES.c.trade_id)).mappings():
            t = TradeRow(row["trade_id"], row["order_id"], row["symbol"], row["account"], Side(row["side"]),
                         row["price"], row["qty"], row["quote_qty"], row["commission"], row["commission_asset"],
                         row["is_maker"], _dt(row["time"]))
            core.trades.append(t)
            fills.setdefault(t.order_id, []).append(Fill(t.price, t.qty, t.commission, t.commission_asset))

        core.order_lists = {}
        for row in conn.execute(sa.select(T_LISTS).order_by(T_LISTS.c.order_list_id)).mappings():
            res = Reservation(row["account"], row["res_asset"], row["res_amount"], row["res_borrow_amount"],
                              row["res_borrow_asset"], row["res_auto_repay"], row["res_used"])
            core.order_lists[row["order_list_id"]] = OrderListState(
                row["order_list_id"], row["list_client_order_id"], row["symbol"], row["account"],
                row["isolated"], Side(row["side"]), row["status"], (row["stop_order_id"], row["limit_order_id"]),
                res, _dt(row["time"]), row["margin_buy_borrow_amount"], row["margin_buy_borrow_asset"])

        core.orders = {}
        for row in conn.execute(sa.select(T_ORDERS).order_by(T_ORDERS.c.order_id)).mappings():
            held: Reservation | None = None
            if row["res_asset"] is not None:
                held = Reservation(row["account"], row["res_asset"], row["res_amount"], row["res_borrow_amount"],
                                   row["res_borrow_asset"], row["res_auto_repay"], row["res_used"])
            core.orders[row["order_id"]] = OrderState(
                order_id=row["order_id"], client_order_id=row["client_order_id"], symbol=row["symbol"],
                account=row["account"], isolated=row["isolated"], side=Side(row["side"]),
                type=OrderType(row["type"]), status=OrderStatus(row["status"]),
                time_in_force=row["time_in_force"], orig_qty=row["orig_qty"], price=row["price"],
                stop_price=row["stop_price"], side_effect=SideEffect(row["side_effect"]),
                time_ms=_dt(row["time"]), update_ms=_dt(row["update_time"]), executed_qty=row["executed_qty"],
                cummulative_quote_qty=row["cummulative_quote_qty"], quote_order_qty=row["quote_order_qty"],
                working=row["working"], order_list_id=row["order_list_id"],
                margin_buy_borrow_amount=row["margin_buy_borrow_amount"],
                margin_buy_borrow_asset=row["margin_buy_borrow_asset"], reservation=held,
                fills=fills.get(row["order_id"], []),
            )

        core.loans = {}
        for row in conn.execute(sa.select(T_LOANS).order_by(T_LOANS.c.tx_id)).mappings():
            core.loans[row["tx_id"]] = LoanRow(
                row["tx_id"], LoanType(row["type"]), row["kind"], row["account"], row["asset"],
                row["isolated_symbol"], row["amount"], row["principal"], row["interest"],
                LoanStatus(row["status"]), _dt(row["time"]))
        core.interest = [
            InterestRow(row["tx_id"], row["account"], row["asset"], row["isolated_symbol"], _dt(row["time"]),
                        row["principal"], row["interest"], row["daily_rate"], row["type"])
            for row in conn.execute(sa.select(T_INTEREST).order_by(T_INTEREST.c.tx_id)).mappings()
        ]
        core.liquidations = [
            LiquidationRow(row["order_id"], row["account"], row["symbol"], row["isolated"], Side(row["side"]),
                           row["qty"], row["price"], row["avg_price"], row["fee"], row["fee_asset"],
                           _dt(row["time"]))
            for row in conn.execute(sa.select(T_LIQ).order_by(T_LIQ.c.order_id)).mappings()
        ]
        core.transfers = [
            TransferRow(row["tx_id"], row["asset"], row["amount"], row["from_account"], row["to_account"],
                        _dt(row["time"]))
            for row in conn.execute(sa.select(T_TRANSFERS).order_by(T_TRANSFERS.c.tx_id)).mappings()
        ]
