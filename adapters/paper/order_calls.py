"""The paper exchange's order calls, as the `Exchange` port names them: place, cancel, look up, list.

Why it exists: it keeps `exchange.py` (the ledger's transaction and read wrappers, accounts, loans,
drills) under a size a newcomer reads at once. `PaperExchange` provides `_run` (one engine operation
under the ledger's write lock, persisted in one transaction) and `_read` (a read of the current book),
and `book`; every call here is one of the two. Amounts arrive as Decimal (or int/str), never float.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from chatbot.exchange import Order, OrderList, OrderRequest, Side, SideEffect

if TYPE_CHECKING:
    from .book import PaperBook

T = TypeVar("T")


def _dec(value: Any, name: str = "amount") -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (bool, float)):
        raise TypeError(f"{name} must be a Decimal (or int/str), never float: {value!r}")
    return Decimal(str(value))


def _opt_dec(value: Any, name: str) -> Decimal | None:
    return None if value is None else _dec(value, name)


def _sym(value: str | None) -> str | None:
    return None if value is None else value.upper()


class OrderCalls:
    book: PaperBook

    async def _run(self, operation: Callable[[], T]) -> T:  # pragma: no cover - provided by PaperExchange
        raise NotImplementedError

    async def _read(self, read: Callable[[PaperBook], T]) -> T:  # pragma: no cover - provided by PaperExchange
        raise NotImplementedError

    async def place_order(self, request: OrderRequest) -> Order:
        req = dataclasses.replace(
            request, symbol=request.symbol.upper(),
            quantity=_opt_dec(request.quantity, "quantity"),
            quote_order_qty=_opt_dec(request.quote_order_qty, "quote_order_qty"),
            price=_opt_dec(request.price, "price"), stop_price=_opt_dec(request.stop_price, "stop_price"),
            side=Side(request.side), side_effect=SideEffect(request.side_effect),
        )
        return await self._run(lambda: self.book.place_order(req).to_order())

    async def place_oco(
        self, symbol: str, side: Side, quantity: Decimal, price: Decimal, stop_price: Decimal, *,
        stop_limit_price: Decimal | None = None, side_effect: SideEffect = SideEffect.NO_SIDE_EFFECT,
        isolated: bool = False, list_client_order_id: str | None = None,
        auto_repay_at_cancel: bool | None = None,
    ) -> OrderList:
        args = (symbol.upper(), Side(side), _dec(quantity, "quantity"), _dec(price, "price"),
                _dec(stop_price, "stop_price"))
        stop_limit = _opt_dec(stop_limit_price, "stop_limit_price")

        def run() -> OrderList:
            olist = self.book.place_oco(*args, stop_limit_price=stop_limit, side_effect=SideEffect(side_effect),
                                          isolated=isolated, list_client_order_id=list_client_order_id,
                                          auto_repay_at_cancel=auto_repay_at_cancel)
            return olist.to_order_list(self.book.orders)

        return await self._run(run)

    async def cancel_order(self, symbol: str, *, order_id: int | None = None,
                           client_order_id: str | None = None, isolated: bool = False) -> Order:
        return await self._run(lambda: self.book.cancel_order(
            symbol.upper(), order_id, client_order_id, isolated).to_order())

    async def cancel_order_list(self, symbol: str, *, order_list_id: int | None = None,
                                list_client_order_id: str | None = None, isolated: bool = False) -> OrderList:
        def run() -> OrderList:
            olist = self.book.cancel_order_list(symbol.upper(), order_list_id, list_client_order_id, isolated)
            return olist.to_order_list(self.book.orders)

        return await self._run(run)

    async def get_order(self, symbol: str, *, order_id: int | None = None,
                        client_order_id: str | None = None, isolated: bool = False) -> Order:
        return await self._read(lambda b: b.get_order(symbol.upper(), order_id, client_order_id, isolated).to_order())

    async def get_order_list(self, symbol: str, *, order_list_id: int | None = None,
                             list_client_order_id: str | None = None, isolated: bool = False) -> OrderList:
        return await self._read(lambda b: b.get_order_list(
            symbol.upper(), order_list_id, list_client_order_id, isolated).to_order_list(b.orders))

    async def open_orders(self, symbol: str | None = None, isolated: bool = False) -> list[Order]:
        return await self._read(lambda b: [o.to_order() for o in b.open_orders(_sym(symbol), isolated)])

    async def all_orders(self, symbol: str, isolated: bool = False) -> list[Order]:
        def read(b: PaperBook) -> list[Order]:
            sym = b._symbol(symbol).symbol
            return [o.to_order() for _, o in sorted(b.orders.items()) if o.symbol == sym and o.isolated == isolated]

        return await self._read(read)
