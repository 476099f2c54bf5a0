"""The trader's exchange calls as intents: transfers, OCO lists and cancels, each recorded before it is sent.

Why it exists: `chatbot.execution.Executor` records every call as an intent first and reconciles an
unknown outcome by querying, never by sending again. Borrow, repay and single orders live there; the
calls the trader's view adds live here, built on the same `_send` / `_settle` / `_absent`, so a
timeout after the exchange applied a transfer or an OCO is found, not re-sent:
- a transfer has no client id on Binance: one per wallet and asset is in flight at a time, the records
  seen before the send are noted, and a record found afterwards is claimed by one intent only;
- an OCO carries the intent's client id as its list client id, and is looked up by it;
- a cancel is known by the order's status (cancelled: done; still open: it never happened).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from typing import Any

from chatbot.exchange import CROSS, SPOT, ExchangeError, ExchangeUnavailable, OrderNotFound, OrderStatus
from chatbot.execution import DONE, LOAN_CLOCK_SKEW, LOAN_WINDOW, REJECTED, Executor, NotSent
from chatbot.plans import CancelStep, OrderStep, TransferStep


def _view(step_source: str, step_target: str) -> str:
    """The margin account whose transfer records show this transfer."""
    return step_target if step_target != SPOT else step_source


async def transfer(ex: Executor, step: TransferStep, *, pending_id: int | None, actor: str) -> Any:
    view = _view(step.source, step.target)
    try:
        now = await ex.exchange.now()
        before = await ex.exchange.transfer_records(asset=step.asset, account=view, start=now - LOAN_WINDOW)
    except (ExchangeError, ExchangeUnavailable) as exc:  # nothing was sent yet
        raise NotSent(f"could not read the {step.asset} transfer records before sending: {exc}") from exc
    params = {"asset": step.asset, "amount": str(step.amount), "source": step.source, "target": step.target,
              "view": view, "seen_before": sorted(r.tx_id for r in before)}
    return await ex.send("transfer", params, pending_id, actor,
                          lambda _cid: ex.exchange.transfer(step.asset, step.amount, step.source, step.target),
                          key=f"transfer:{step.source}:{step.asset}")


async def oco(ex: Executor, step: OrderStep, isolated: bool, *, pending_id: int | None, actor: str) -> Any:
    assert step.price is not None and step.stop_price is not None
    params = {"symbol": step.symbol, "side": step.side.value, "qty": str(step.qty), "price": str(step.price),
              "stop_price": str(step.stop_price), "side_effect": step.side_effect.value, "isolated": isolated}

    def call(client_id: str) -> Awaitable[Any]:
        assert step.price is not None and step.stop_price is not None
        return ex.exchange.place_oco(step.symbol, step.side, step.qty, step.price, step.stop_price,
                                     side_effect=step.side_effect, isolated=isolated, list_client_order_id=client_id)

    return await ex.send("oco", params, pending_id, actor, call)


async def cancel(ex: Executor, step: CancelStep, *, pending_id: int | None, actor: str) -> Any:
    params = {"symbol": step.symbol, "order_id": step.order_id, "list_id": step.list_id, "isolated": step.isolated}

    def call(_cid: str) -> Awaitable[Any]:
        if step.list_id != -1:
            return ex.exchange.cancel_order_list(step.symbol, order_list_id=step.list_id, isolated=step.isolated)
        return ex.exchange.cancel_order(step.symbol, order_id=step.order_id, isolated=step.isolated)

    return await ex.send("cancel", params, pending_id, actor, call)


async def reconcile(ex: Executor, intent_id: int, kind: str, params: dict[str, Any], client_id: str,
                    sent: datetime) -> str:
    """What happened to an intent of the trader's kinds whose outcome is unknown (exchange errors propagate)."""
    iso = bool(params.get("isolated"))
    if kind == "oco":
        try:
            olist = await ex.exchange.get_order_list(params["symbol"], list_client_order_id=client_id, isolated=iso)
        except OrderNotFound:
            return await ex.absent(intent_id, sent, "OCO list not found on the exchange")
        ex.settle(intent_id, DONE, exchange_ref=str(olist.order_list_id), result_json=_dump(olist))
        return DONE
    if kind == "cancel":
        order = await ex.exchange.get_order(params["symbol"], order_id=int(params["order_id"]), isolated=iso)
        if order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            ex.settle(intent_id, DONE, exchange_ref=str(order.order_id), result_json=_dump(order))
            return DONE
        if order.status is OrderStatus.FILLED:
            ex.settle(intent_id, REJECTED, error="the order filled before it could be cancelled")
            return REJECTED
        return await ex.absent(intent_id, sent, "the order is still open")
    return await _reconcile_transfer(ex, intent_id, params, sent)


async def _reconcile_transfer(ex: Executor, intent_id: int, params: dict[str, Any], sent: datetime) -> str:
    records = await ex.exchange.transfer_records(asset=params["asset"], account=params["view"],
                                                 start=sent - LOAN_CLOCK_SKEW, end=sent + LOAN_WINDOW)
    seen = set(params.get("seen_before", []))
    amount = Decimal(params["amount"])
    sources = {params["source"], CROSS}  # spot ↔ isolated goes through cross on Binance
    found = sorted((r for r in records if r.amount == amount and r.to_account == params["target"]
                    and r.from_account in sources and r.tx_id not in seen), key=lambda r: (r.time, r.tx_id))
    return await ex.claim(intent_id, found, sent, "no matching transfer record")


def _dump(value: object) -> str:
    from chatbot.execution import _json

    return _json(value)[:4000]



