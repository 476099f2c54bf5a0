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

from collections.abc import Iterable, Mapping
from decimal import ROUND_UP, Decimal
from typing import Any

from chatbot import margin
from chatbot.exchange import (
    CROSS,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SideEffect,
    isolated_account,
)
from chatbot.margin import Band
from chatbot.money import floor_to_step, q8

from .ledger import Journal
from .liquidation import Liquidation
from .model import (
    CLIENT_ID_RE,
    D0,
    HOUR_MS,
    InterestRow,
    LiquidationRow,
    LoanRow,
    MarginAccount,
    OrderListState,
    OrderState,
    Reservation,
    TradeRow,
    TransferRow,
    hour_floor,
    ms_to_dt,
    resolve_asset_prices,
)
from .rules import (
    BORROWING,
    LIMIT_TYPES,
    MSG_INSUFFICIENT,
    MSG_LOCKED,
    MSG_NO_ORDER,
    MSG_UNKNOWN_ORDER,
    STOP_TYPES,
    check_amount,
    check_unlocked,
    crosses,
    err,
    filter_notional,
    filter_price,
    filter_qty,
    missing,
    stop_triggered,
    to_tick,
)
from .transfers import Transfers

__all__ = ["Journal", "PaperEngine"]

class PaperEngine(Liquidation, Transfers):
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

    # ------------------------------------------------------------------ argument checks

    def _check_side_effect(self, side_effect: SideEffect) -> None:
        if side_effect == SideEffect.AUTO_BORROW_REPAY and not self.config.allow_auto_borrow_repay:
            raise missing("sideEffectType")

    # ------------------------------------------------------------------ orders: placement

    def _client_id(self, given: str | None, symbol: str, order_id: int, prefix: str = "paper") -> str:
        if given is None:
            return f"{prefix}-{order_id}"
        if not CLIENT_ID_RE.match(given):
            raise err(-1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                              "'^[A-Za-z0-9._-]{1,36}$'.")
        for oid in self.client_index.get((symbol, given), ()):
            if self.orders[oid].is_open:
                raise err(-2010, "Duplicate order sent.")
        return given

    def _trading_account(self, symbol: str, isolated: bool) -> MarginAccount:
        acct = self._account(isolated_account(symbol) if isolated else CROSS)
        check_unlocked(acct)
        return acct

    def _check_level_for_trading(self, acct: MarginAccount) -> None:
        assets, liab = self.values(acct)
        if liab > 0 and margin.margin_level(assets, liab) <= acct.thresholds.liquidation:
            raise err(-3023, MSG_LOCKED)

    def _funding_plan(self, acct: MarginAccount, asset: str, need: Decimal,
                      side_effect: SideEffect) -> Decimal:
        """Validate that `need` of `asset` can be locked; return the MARGIN_BUY shortfall to borrow."""
        free = self._peek(acct, asset).free
        if side_effect in BORROWING:
            shortfall = q8(max(D0, need - free), ROUND_UP)
            if shortfall > 0:
                self._check_borrow(acct, asset, shortfall, manual=False)
            return shortfall
        if free < need:
            raise err(-2010, MSG_INSUFFICIENT)
        return D0

    def _fund(self, acct: MarginAccount, asset: str, need: Decimal, shortfall: Decimal,
              auto_repay_at_cancel: bool) -> Reservation:
        if shortfall > 0:
            self._apply_borrow(acct, asset, shortfall, "AUTO")
        bal = self._bal(acct, asset)
        bal.free -= need
        bal.locked += need
        return Reservation(acct.key, asset, need, shortfall, asset if shortfall > 0 else None,
                           auto_repay_at_cancel)

    def place_order(self, req: OrderRequest) -> OrderState:
        info = self._symbol(req.symbol)
        symbol = info.symbol
        acct = self._trading_account(symbol, req.isolated)
        self._check_side_effect(req.side_effect)
        now_price = self._price(symbol)
        otype, side = OrderType(req.type), Side(req.side)
        tif = (req.time_in_force or "GTC").upper()
        if tif not in ("GTC", "IOC", "FOK"):
            raise err(-1115, "Invalid timeInForce.")
        limit = stop = D0
        quote_qty: Decimal | None = None
        if otype in LIMIT_TYPES:
            if req.price is None:
                raise missing("price")
            limit = req.price
            filter_price(info, limit)
        if otype in STOP_TYPES:
            if req.stop_price is None:
                raise missing("stopPrice")
            stop = req.stop_price
            filter_price(info, stop)
        if otype == OrderType.MARKET and req.quote_order_qty is not None:
            if req.quantity is not None:
                raise missing("quantity")
            quote_qty = check_amount(req.quote_order_qty, "quoteOrderQty")
            qty = floor_to_step(quote_qty / now_price, info.step_size)
            filter_qty(info, qty)
            filter_notional(info, quote_qty)
        else:
            if req.quantity is None:
                raise missing("quantity")
            qty = req.quantity
            filter_qty(info, qty)
            ref = limit if otype in LIMIT_TYPES else stop if otype in STOP_TYPES else now_price
            filter_notional(info, qty * ref)
        if otype in STOP_TYPES and stop_triggered(otype, side, stop, now_price):
            raise err(-2010, "Order would trigger immediately.")
        if otype == OrderType.LIMIT_MAKER and crosses(side, limit, now_price):
            raise err(-2010, "Order would immediately match and take.")
        order_id = self.next_order
        cid = self._client_id(req.client_order_id, symbol, order_id)
        self._check_level_for_trading(acct)
        if side == Side.SELL:
            asset, need = info.base, qty
        elif otype == OrderType.MARKET:
            asset, need = info.quote, (quote_qty if quote_qty is not None else qty * now_price)
        else:
            asset, need = info.quote, qty * (limit if otype in LIMIT_TYPES else stop)
        shortfall = self._funding_plan(acct, asset, need, req.side_effect)
        # ---- mutate (nothing below may raise ExchangeError)
        self.next_order += 1
        res = self._fund(acct, asset, need, shortfall, req.auto_repay_at_cancel)
        order = OrderState(
            order_id=order_id, client_order_id=cid, symbol=symbol, account=acct.key, isolated=req.isolated,
            side=side, type=otype, status=OrderStatus.NEW, time_in_force=tif, orig_qty=qty,
            price=limit, stop_price=stop, side_effect=req.side_effect, time_ms=self.now_ms,
            update_ms=self.now_ms, quote_order_qty=quote_qty, working=otype not in STOP_TYPES,
            margin_buy_borrow_amount=shortfall, margin_buy_borrow_asset=asset if shortfall > 0 else None,
            reservation=res,
        )
        self._register(order)
        if otype == OrderType.MARKET or (otype == OrderType.LIMIT and crosses(side, limit, now_price)):
            if not self._fill(order, res, now_price, maker=False):  # pragma: no cover - funded above
                self._close(order, OrderStatus.EXPIRED)
        elif otype == OrderType.LIMIT and tif in ("IOC", "FOK"):
            self._close(order, OrderStatus.EXPIRED)
        self._settle_accounts([acct])
        return order

    def _register(self, order: OrderState) -> None:
        self.orders[order.order_id] = order
        self.client_index.setdefault((order.symbol, order.client_order_id), []).append(order.order_id)
        if order.is_open:
            self.open_by_symbol.setdefault(order.symbol, {})[order.order_id] = order
        self.journal.orders[order.order_id] = order
        self._touch()

    def place_oco(self, symbol: str, side: Side, quantity: Decimal, price: Decimal, stop_price: Decimal, *,
                  stop_limit_price: Decimal | None = None,
                  side_effect: SideEffect = SideEffect.NO_SIDE_EFFECT, isolated: bool = False,
                  list_client_order_id: str | None = None,
                  auto_repay_at_cancel: bool | None = None) -> OrderListState:
        info = self._symbol(symbol)
        symbol = info.symbol
        side = Side(side)
        acct = self._trading_account(symbol, isolated)
        self._check_side_effect(side_effect)
        now_price = self._price(symbol)
        filter_qty(info, quantity)
        for p in (price, stop_price) if stop_limit_price is None else (price, stop_price, stop_limit_price):
            filter_price(info, p)
        stop_ref = stop_limit_price if stop_limit_price is not None else stop_price
        filter_notional(info, quantity * price)
        filter_notional(info, quantity * stop_ref)
        ok = price < now_price < stop_price if side == Side.BUY else price > now_price > stop_price
        if not ok:
            raise err(-2010, "The relationship of the prices for the orders is not correct.")
        list_id = self.next_list
        stop_id, limit_id = self.next_order, self.next_order + 1
        list_cid = self._client_id(list_client_order_id, symbol, list_id, prefix="paperlist")
        self._check_level_for_trading(acct)
        if side == Side.SELL:
            asset, need = info.base, quantity
        else:
            asset, need = info.quote, quantity * max(price, stop_ref)
        shortfall = self._funding_plan(acct, asset, need, side_effect)
        # ---- mutate
        self.next_list += 1
        self.next_order += 2
        repay_at_cancel = self.config.auto_repay_at_cancel_default if auto_repay_at_cancel is None \
            else auto_repay_at_cancel
        res = self._fund(acct, asset, need, shortfall, repay_at_cancel)
        stop_type = OrderType.STOP_LOSS if stop_limit_price is None else OrderType.STOP_LOSS_LIMIT
        common: dict[str, Any] = {
            "symbol": symbol, "account": acct.key, "isolated": isolated, "side": side,
            "status": OrderStatus.NEW, "orig_qty": quantity, "side_effect": side_effect,
            "time_ms": self.now_ms, "update_ms": self.now_ms, "order_list_id": list_id,
        }
        stop_leg = OrderState(order_id=stop_id, client_order_id=f"paper-{stop_id}", type=stop_type,
                              time_in_force="GTC", price=stop_limit_price or D0, stop_price=stop_price,
                              working=False, **common)
        limit_leg = OrderState(order_id=limit_id, client_order_id=f"paper-{limit_id}",
                               type=OrderType.LIMIT_MAKER, time_in_force="GTC", price=price, stop_price=D0,
                               **common)
        olist = OrderListState(list_id, list_cid, symbol, acct.key, isolated, side, "EXEC_STARTED",
                               (stop_id, limit_id), res, self.now_ms, shortfall,
                               asset if shortfall > 0 else None)
        self.order_lists[list_id] = olist
        self.journal.lists[list_id] = olist
        self._register(stop_leg)
        self._register(limit_leg)
        self._settle_accounts([acct])
        return olist

    def _find_open(self, symbol: str, order_id: int | None, client_order_id: str | None,
                   isolated: bool) -> OrderState | None:
        ids: Iterable[int]
        if order_id is not None:
            ids = (order_id,)
        else:
            ids = reversed(self.client_index.get((symbol, client_order_id or ""), []))
        for oid in ids:
            order = self.orders.get(oid)
            if order and order.is_open and order.symbol == symbol and order.isolated == isolated and (
                    client_order_id is None or order.client_order_id == client_order_id):
                return order
        return None

    def get_order(self, symbol: str, order_id: int | None, client_order_id: str | None,
                  isolated: bool) -> OrderState:
        symbol = self._symbol(symbol).symbol
        if order_id is None and client_order_id is None:
            raise missing("orderId")
        if order_id is not None:
            candidates = [order_id]
        else:
            candidates = list(reversed(self.client_index.get((symbol, client_order_id or ""), [])))
        for oid in candidates:
            order = self.orders.get(oid)
            if order and order.symbol == symbol and order.isolated == isolated and (
                    client_order_id is None or order.client_order_id == client_order_id):
                return order
        raise OrderNotFound(-2013, MSG_NO_ORDER)

    def cancel_order(self, symbol: str, order_id: int | None, client_order_id: str | None,
                     isolated: bool) -> OrderState:
        symbol = self._symbol(symbol).symbol
        if order_id is None and client_order_id is None:
            raise missing("orderId")
        order = self._find_open(symbol, order_id, client_order_id, isolated)
        if order is None:
            raise OrderNotFound(-2011, MSG_UNKNOWN_ORDER)
        # ---- mutate: cancelling one leg of an OCO cancels the whole list (Binance)
        if order.order_list_id != -1:
            for oid in self.order_lists[order.order_list_id].order_ids:
                if self.orders[oid].is_open:
                    self._close(self.orders[oid], OrderStatus.CANCELED)
        else:
            self._close(order, OrderStatus.CANCELED)
        self._settle_accounts([self.accounts[order.account]])
        return order

    def cancel_order_list(self, symbol: str, order_list_id: int | None, list_client_order_id: str | None,
                          isolated: bool) -> OrderListState:
        symbol = self._symbol(symbol).symbol
        olist = self._find_list(symbol, order_list_id, list_client_order_id, isolated)
        if olist is None or olist.status != "EXEC_STARTED":
            raise OrderNotFound(-2011, MSG_UNKNOWN_ORDER)
        for oid in olist.order_ids:
            if self.orders[oid].is_open:
                self._close(self.orders[oid], OrderStatus.CANCELED)
        self._settle_accounts([self.accounts[olist.account]])
        return olist

    def _find_list(self, symbol: str, order_list_id: int | None, list_client_order_id: str | None,
                   isolated: bool) -> OrderListState | None:
        if order_list_id is None and list_client_order_id is None:
            raise missing("orderListId")
        for olist in sorted(self.order_lists.values(), key=lambda x: -x.order_list_id):
            if olist.symbol != symbol or olist.isolated != isolated:
                continue
            if order_list_id is not None and olist.order_list_id != order_list_id:
                continue
            if list_client_order_id is not None and olist.list_client_order_id != list_client_order_id:
                continue
            return olist
        return None

    def get_order_list(self, symbol: str, order_list_id: int | None, list_client_order_id: str | None,
                       isolated: bool) -> OrderListState:
        olist = self._find_list(self._symbol(symbol).symbol, order_list_id, list_client_order_id, isolated)
        if olist is None:
            raise OrderNotFound(-2013, MSG_NO_ORDER)
        return olist

    def open_orders(self, symbol: str | None, isolated: bool) -> list[OrderState]:
        if symbol is not None:
            symbol = self._symbol(symbol).symbol
            pool = list(self.open_by_symbol.get(symbol, {}).values())
        else:
            pool = [o for orders in self.open_by_symbol.values() for o in orders.values()]
        return sorted((o for o in pool if o.isolated == isolated), key=lambda o: o.order_id)

    # ------------------------------------------------------------------ market: prices & triggers

    def set_prices(self, updates: Mapping[str, Decimal], *, emit: bool = True) -> None:
        """New index prices (rounded to tickSize); then triggers, bands and liquidation checks."""
        clean: dict[str, Decimal] = {}
        for sym, price in updates.items():
            info = self._symbol(sym)
            if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
                raise ValueError(f"price for {sym} must be a positive Decimal")
            clean[info.symbol] = to_tick(price, info.tick_size)
        changed = [s for s, p in clean.items() if self.prices.get(s) != p]
        if not changed:
            return
        self._touch()
        old = {s: self.prices.get(s) for s in changed}
        for sym in changed:
            self.prices[sym] = clean[sym]
        if emit:  # one event per tick, however many symbols moved (listeners re-check once)
            single = {"symbol": changed[0], "price": clean[changed[0]]} if len(changed) == 1 else {}
            self._emit("price", prices={s: clean[s] for s in changed}, old=old, **single)
        self.asset_prices = resolve_asset_prices(self.symbols, self.prices)
        if emit:
            self._run_market(changed)

    def _run_market(self, symbols: Iterable[str] | None) -> None:
        """Triggers (for `symbols`, or every symbol with open orders), then bands, then liquidations."""
        pool = sorted(self.open_by_symbol) if symbols is None else sorted(symbols)
        touched: set[str] = set()
        for sym in pool:
            touched |= self._trigger(sym)
        keys = sorted(self.debtors | touched | {k for k, a in self.accounts.items()
                                                if a.band != Band.EXCESSIVE})
        self._settle_accounts([self.accounts[k] for k in keys])

    def _trigger(self, symbol: str) -> set[str]:
        book = self.open_by_symbol.get(symbol)
        if not book:
            return set()
        price = self.prices[symbol]
        touched: set[str] = set()
        for oid in sorted(book):
            order = book.get(oid)
            if order is None or not order.is_open:
                continue
            res = self._reservation_of(order)
            if not order.working:
                if not stop_triggered(order.type, order.side, order.stop_price, price):
                    continue
                touched.add(order.account)
                self._expire_siblings(order)
                order.working = True
                order.update_ms = self.now_ms
                self.journal.orders[oid] = order
                market_now = order.type in (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT) or crosses(
                    order.side, order.price, price)
                if market_now and not self._fill(order, res, price, maker=False):
                    self._close(order, OrderStatus.EXPIRED)  # a market stop the funds no longer cover
                continue
            if crosses(order.side, order.price, price):
                touched.add(order.account)
                self._expire_siblings(order)
                if not self._fill(order, res, order.price, maker=True):  # pragma: no cover - locked
                    self._close(order, OrderStatus.EXPIRED)
        return touched

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
