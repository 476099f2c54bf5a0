"""How an order ends: a fill at a price (fees, AUTO_REPAY), or a close that releases what it held.

Why it exists: orders placed now, stop orders triggered later by a price tick, and liquidation's
cancellations all end through the same few steps. A fill consumes the order's (or its OCO list's)
reservation and books a trade; a close frees the rest and, for a cancelled MARGIN_BUY that never
filled, repays the borrow (auto-repay at cancel). Placement (orders.py), triggers and liquidation
build on this module; it builds on the loans it may repay.
"""

from __future__ import annotations

from decimal import Decimal

from chatbot.exchange import Fill, OrderStatus, Side
from chatbot.money import D0, q8

from .loans import Loans
from .model import OrderState, Reservation, TradeRow
from .rules import REPAYING


class Fills(Loans):
    """Filling, closing and releasing orders (and OCO siblings)."""

    def _reservation_of(self, order: OrderState) -> Reservation:
        if order.reservation is not None:
            return order.reservation
        return self.order_lists[order.order_list_id].reservation

    def _fill(self, order: OrderState, res: Reservation, price: Decimal, *, maker: bool) -> bool:
        """Fill the whole order at `price`; False (nothing changed) if the funds are not there."""
        info = self.symbols[order.symbol]
        acct = self.accounts[order.account]
        qty = order.orig_qty
        quote_qty = qty * price
        if order.side == Side.BUY:
            cost_asset, cost, recv_asset, recv = info.quote, quote_qty, info.base, qty
        else:
            cost_asset, cost, recv_asset, recv = info.base, qty, info.quote, quote_qty
        from_lock = min(cost, res.amount)
        from_free = cost - from_lock
        if from_free > 0 and self._peek(acct, cost_asset).free < from_free:
            return False
        commission = q8(recv * (self.config.maker_fee if maker else self.config.taker_fee))
        cb = self._bal(acct, cost_asset)
        cb.locked -= from_lock
        cb.free -= from_free
        res.amount -= from_lock
        res.used = True
        rb = self._bal(acct, recv_asset)
        rb.free += recv - commission
        trade = TradeRow(self.next_trade, order.order_id, order.symbol, acct.key, order.side, price, qty,
                         quote_qty, commission, recv_asset, maker, self.now_ms)
        self.next_trade += 1
        self.trades.append(trade)
        self.journal.trades.append(trade)
        order.executed_qty = qty
        order.cummulative_quote_qty = quote_qty
        order.fills.append(Fill(price, qty, commission, recv_asset))
        self._emit("fill", acct.isolated_symbol, account=acct.key, order_id=order.order_id,
                   client_order_id=order.client_order_id, symbol=order.symbol, side=order.side.value,
                   type=order.type.value, qty=qty, price=price, quote_qty=quote_qty, commission=commission,
                   commission_asset=recv_asset, maker=maker)
        if order.side_effect in REPAYING:
            amount = min(recv - commission, rb.liability, rb.free)
            if amount > 0:
                self._apply_repay(acct, recv_asset, amount, "AUTO")
        self._close(order, OrderStatus.FILLED)
        return True

    def _close(self, order: OrderState, status: OrderStatus) -> None:
        """Move an open order to a final status and release what it held when nothing else needs it."""
        order.status = status
        order.update_ms = self.now_ms
        self.open_by_symbol.get(order.symbol, {}).pop(order.order_id, None)
        self.journal.orders[order.order_id] = order
        self._touch()
        cancelled = status in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
        if order.order_list_id == -1:
            assert order.reservation is not None
            self._release(order.reservation, cancelled=cancelled)
            return
        olist = self.order_lists[order.order_list_id]
        if all(not self.orders[i].is_open for i in olist.order_ids):
            olist.status = "ALL_DONE"
            self.journal.lists[olist.order_list_id] = olist
            self._release(olist.reservation, cancelled=cancelled)

    def _release(self, res: Reservation, *, cancelled: bool) -> None:
        acct = self.accounts[res.account]
        if res.amount > 0:
            bal = self._bal(acct, res.asset)
            bal.locked -= res.amount
            bal.free += res.amount
            res.amount = D0
        if cancelled and not res.used and res.auto_repay_at_cancel and res.borrow_amount > 0:
            asset = res.borrow_asset or res.asset
            bal = self._bal(acct, asset)
            amount = min(res.borrow_amount, bal.free, bal.liability)
            if amount > 0:
                self._apply_repay(acct, asset, amount, "AUTO")

    def _expire_siblings(self, order: OrderState) -> None:
        if order.order_list_id == -1:
            return
        for oid in self.order_lists[order.order_list_id].order_ids:
            other = self.orders[oid]
            if oid != order.order_id and other.is_open:
                self._close(other, OrderStatus.EXPIRED)
