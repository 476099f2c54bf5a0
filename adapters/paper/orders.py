"""Orders and OCO lists: placement (validate, then reserve and maybe fill), lookup and cancellation.

Why it exists: placing an order is the longest rule chain of the exchange. Filters, trigger
sanity, client ids, the margin level, funding (MARGIN_BUY borrows the shortfall) are all checked
before anything changes, then the funds are reserved and a marketable order fills at once. Cancels
and queries find orders by id or client id the way Binance does (an OCO is cancelled as a whole).
It builds on fills.py for how orders end; later price moves reach resting orders in triggers.py.
"""

from __future__ import annotations

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
from chatbot.money import D0, floor_to_step, q8

from .fills import Fills
from .model import CLIENT_ID_RE, MarginAccount, OrderListState, OrderState, Reservation
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
    price_param,
    stop_triggered,
)


class Orders(Fills):
    """`place_order`, `place_oco`, `get_order(_list)`, `cancel_order(_list)`, `open_orders`."""

    # ------------------------------------------------------------------ placement checks

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

    def _check_side_effect(self, side_effect: SideEffect) -> None:
        if side_effect == SideEffect.AUTO_BORROW_REPAY and not self.config.allow_auto_borrow_repay:
            raise missing("sideEffectType")

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

    # ------------------------------------------------------------------ placement

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
            limit = price_param(info, req.price, "price")
        if otype in STOP_TYPES:
            stop = price_param(info, req.stop_price, "stopPrice")
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

    # ------------------------------------------------------------------ lookup & cancellation

    def _named_orders(self, symbol: str, order_id: int | None, client_order_id: str | None,
                      isolated: bool) -> list[OrderState]:
        """The orders of `symbol` that `order_id` or `client_order_id` names (a client id may have been
        reused: newest first), open or not."""
        symbol = self._symbol(symbol).symbol
        if order_id is None and client_order_id is None:
            raise missing("orderId")
        if order_id is not None:
            ids = [order_id]
        else:
            ids = list(reversed(self.client_index.get((symbol, client_order_id or ""), [])))
        found: list[OrderState] = []
        for oid in ids:
            order = self.orders.get(oid)
            if order and order.symbol == symbol and order.isolated == isolated and (
                    client_order_id is None or order.client_order_id == client_order_id):
                found.append(order)
        return found

    def get_order(self, symbol: str, order_id: int | None, client_order_id: str | None,
                  isolated: bool) -> OrderState:
        for order in self._named_orders(symbol, order_id, client_order_id, isolated):
            return order
        raise OrderNotFound(-2013, MSG_NO_ORDER)

    def cancel_order(self, symbol: str, order_id: int | None, client_order_id: str | None,
                     isolated: bool) -> OrderState:
        named = self._named_orders(symbol, order_id, client_order_id, isolated)
        order = next((o for o in named if o.is_open), None)
        if order is None:
            raise OrderNotFound(-2011, MSG_UNKNOWN_ORDER)
        # ---- mutate: cancelling one leg of an OCO cancels the whole list (Binance)
        if order.order_list_id != -1:
            self._cancel_legs(self.order_lists[order.order_list_id])
        else:
            self._close(order, OrderStatus.CANCELED)
        self._settle_accounts([self.accounts[order.account]])
        return order

    def _cancel_legs(self, olist: OrderListState) -> None:
        for oid in olist.order_ids:
            if self.orders[oid].is_open:
                self._close(self.orders[oid], OrderStatus.CANCELED)

    def cancel_order_list(self, symbol: str, order_list_id: int | None, list_client_order_id: str | None,
                          isolated: bool) -> OrderListState:
        symbol = self._symbol(symbol).symbol
        olist = self._find_list(symbol, order_list_id, list_client_order_id, isolated)
        if olist is None or olist.status != "EXEC_STARTED":
            raise OrderNotFound(-2011, MSG_UNKNOWN_ORDER)
        self._cancel_legs(olist)
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
