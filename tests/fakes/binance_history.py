"""The fake Binance's trade history (`GET /sapi/v1/margin/myTrades`) and 24 h ticker (`GET /api/v3/ticker/24hr`).

Why it exists: the live adapter rebuilds entry prices from myTrades and quotes the 24 h change from
the ticker; these answer from the paper engine's books in Binance's JSON shapes. The paper engine keeps
no price history, so the 24 h change is measured from `fake.day_open` (a test sets it), else 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chatbot.exchange import CROSS, Side, isolated_account

from . import binance_json as js

if TYPE_CHECKING:
    from .binance import FakeBinance

Params = dict[str, str]


def my_trades(fake: FakeBinance, p: Params) -> Any:
    from .binance_routes import _symbol, flag

    sym, iso = _symbol(fake, p), flag(p)
    account = isolated_account(sym) if iso else CROSS
    from_id = int(p["fromId"]) if p.get("fromId") else None
    limit = min(int(p.get("limit", "500")), 1000)
    rows = [t for t in fake.book.trades if t.symbol == sym and t.account == account
            and (from_id is None or t.trade_id >= from_id)]
    rows.sort(key=lambda t: t.trade_id)
    if from_id is None:
        rows = rows[-limit:]
    return [{"id": t.trade_id, "orderId": t.order_id, "symbol": t.symbol, "isIsolated": iso,
             "isBuyer": t.side == Side.BUY, "isMaker": t.is_maker, "isBestMatch": True,
             "price": js.s8(t.price), "qty": js.s8(t.qty), "commission": js.s8(t.commission),
             "commissionAsset": t.commission_asset, "time": t.time_ms} for t in rows[:limit]]


def ticker_24h(fake: FakeBinance, p: Params) -> Any:
    from .binance_routes import _symbol

    sym = _symbol(fake, p)
    last = fake.book.prices[sym]
    opened: Decimal = getattr(fake, "day_open", {}).get(sym, last)
    change = (last - opened) / opened * 100
    return {"symbol": sym, "lastPrice": js.s8(last), "openPrice": js.s8(opened),
            "priceChange": js.s8(last - opened) if last >= opened else "-" + js.s8(opened - last),
            "priceChangePercent": f"{change:.3f}"}
