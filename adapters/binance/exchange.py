"""`BinanceExchange`: the Exchange port over python-binance's AsyncClient, live endpoints only.

Why it exists: the core drives the desk's real Binance margin account through the same port the
paper exchange implements. Loans go through `POST /sapi/v1/margin/borrow-repay` (records from its
GET), transfers through `POST /sapi/v1/asset/transfer` (two hops where Binance needs them), orders
through `POST /sapi/v1/margin/order` carrying the intent's client id — never the endpoints Binance
removed that python-binance's older methods still call. Queries used to reconcile an unknown
outcome allow for Binance's eventual consistency: an order or loan this process sent moments ago
is not declared absent on the first "not found".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from chatbot.exchange import (
    AccountSnapshot,
    EventListener,
    ExchangeError,
    ExchangeEvent,
    Listeners,
    Order,
    OrderList,
    OrderNotFound,
    OrderRequest,
    Side,
    SideEffect,
    SymbolInfo,
    stop_feeds,
)
from chatbot.margin import Band, band_for

from . import accounts, wire
from .events import BandPoller, RiskStream
from .gate import RateGate
from .history import TradeHistory
from .ledger import Consistency, Ledger
from .orders import list_ref, oco_params, order_params, order_ref
from .reference import Reference
from .transport import Transport

T = TypeVar("T")
log = logging.getLogger(__name__)
RESYNC_SECONDS = 600.0
FRESH_SECONDS = 2.0  # a snapshot this young answers max_borrowable without another request
ISOLATED_LIST_TTL = 30.0


async def gather_all(*aws: Awaitable[Any]) -> list[Any]:
    """Like gather, but every call finishes before the first error is raised (no orphaned failures)."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


class BinanceExchange(TradeHistory):
    name = "binance"

    def __init__(self, transport: Transport, gate: RateGate, *, desk_symbols: tuple[str, ...] = ("BTCUSDT",),
                 stream_root: str, monitor_period: float = 30.0, consistency: Consistency | None = None) -> None:
        self.t = transport
        self.client = transport.client
        self.gate = gate
        self.ref = Reference(transport)
        self.valuation = accounts.Valuation(transport, self.ref)
        self.desk_symbols = desk_symbols
        self.desk_assets: set[str] = set()
        self.consistency = consistency or Consistency()
        self.ledger = Ledger(transport, self.consistency)
        self.listeners = Listeners()
        self.stream = RiskStream(transport, stream_root, self.listeners)
        self.poller = BandPoller(self._read_bands, self.listeners, gate, monitor_period)
        self._tasks: list[asyncio.Task[None]] = []
        self._held: dict[str | None, set[str]] = {}
        self._last: dict[str | None, tuple[float, AccountSnapshot, wire.Json | None]] = {}
        self._isolated: tuple[float, dict[str, wire.Json]] | None = None  # when, created pairs by symbol
        self._order_sends: dict[str, float] = {}
        transport.on_alarm = self._alarm
        gate.on_ban = self._banned

    # ------------------------------------------------------------------ lifecycle

    async def start(self, is_leader: Callable[[], bool] | None = None) -> None:
        """The risk stream (cross) and the band poller; the core's monitor poll runs independently.

        Every process listens for itself (its events reach its own monitor), so `is_leader` is not
        needed here; the argument exists because the runtime offers it to every exchange's feeds.
        """
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self.stream.run(), name="binance-risk-stream"),
                       asyncio.create_task(self.poller.run(self.t.now), name="binance-band-poll"),
                       asyncio.create_task(self._clock_loop(), name="binance-clock")]

    async def _clock_loop(self) -> None:
        """Re-measure the server clock now and then, so signed requests stay inside recvWindow."""
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            try:
                await self.t.resync(background=True)
            except Exception as exc:  # rate limited or unreachable: -1021 on a read resyncs anyway
                log.info("binance: periodic clock resync skipped (%s)", type(exc).__name__)

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        await stop_feeds(tasks)
        if tasks:
            await self.stream.close_key()
        await self.t.close()

    def subscribe(self, listener: EventListener) -> None:
        self.listeners.add(listener)

    async def _alarm(self, what: str, data: dict[str, object]) -> None:
        """Something an admin must hear about (a ban, a wrong clock): an `alarm` event for listeners."""
        await self.listeners.emit(ExchangeEvent("alarm", self.t.now(), None, {"what": what, **data}))

    async def _banned(self, until: float) -> None:
        await self._alarm("ban", {"until": datetime.fromtimestamp(until, UTC)})

    # ------------------------------------------------------------------ reference data

    async def now(self) -> datetime:
        return self.t.now()

    async def symbols(self) -> dict[str, SymbolInfo]:
        return dict(await self.ref.symbols.get())

    async def margin_pairs(self) -> list[str]:
        return sorted(await self.ref.symbols.get())

    async def index_price(self, symbol: str) -> Decimal:
        return await self.valuation.index(symbol.upper())

    async def prices(self) -> dict[str, Decimal]:
        """Margin price index of the desk's pairs."""
        values = await gather_all(*(self.valuation.index(s) for s in self.desk_symbols))
        return dict(zip(self.desk_symbols, values, strict=True))

    async def daily_interest_rates(self, isolated_symbol: str | None = None) -> dict[str, Decimal]:
        """Cross: the assets held and those of the desk's pairs; isolated: the pair's two assets."""
        if isolated_symbol is not None:
            return {c: daily for c, (daily, _) in (await self.ref.isolated_rates(isolated_symbol.upper())).items()}
        rates = await self.ref.cross_rates.get()
        wanted = self.desk_assets | self._held.get(None, set())
        return {a: rates[a].daily for a in sorted(wanted) if a in rates and rates[a].borrowable}

    async def trade_fee(self, symbol: str) -> Decimal:
        return await self.ref.taker_fee(symbol.upper())

    # ------------------------------------------------------------------ accounts

    async def _info(self, symbol: str) -> SymbolInfo:
        info = await self.ref.symbol(symbol)
        if info is None:
            raise ExchangeError(-1121, "Invalid symbol.")
        return info

    async def account(self, isolated_symbol: str | None = None) -> AccountSnapshot:
        if isolated_symbol is None:
            return await self._cross()
        return await self._isolated_account(isolated_symbol.upper())

    async def _cross(self) -> AccountSnapshot:
        wanted = self.desk_assets | self._held.get(None, set())
        try:
            raw, prices, bars = await gather_all(
                self.t.read(self.client.get_margin_account, what="GET /sapi/v1/margin/account"),
                self.valuation.usdt_prices(wanted), self.ref.cross_bars.get())
        except ExchangeError as exc:
            if exc.code != -3003:  # "Margin account does not exist": never funded
                raise
            prices, bars = await gather_all(self.valuation.usdt_prices(wanted), self.ref.cross_bars.get())
            return accounts.empty_cross(prices, bars, self.t.now())
        held = accounts.held_assets(raw)
        if held - prices.keys():
            prices.update(await self.valuation.usdt_prices(held - prices.keys()))
        self._held[None] = held
        snap = accounts.cross_snapshot(raw, prices, bars, self.t.now())
        self._last[None] = (time.monotonic(), snap, raw)
        return snap

    async def _isolated_pair(self, symbol: str) -> wire.Json | None:
        """The pair's account: from the all-pairs answer just read (a monitor cycle), else one request."""
        listed = self._isolated
        if listed is not None and time.monotonic() - listed[0] <= FRESH_SECONDS and symbol in listed[1]:
            return listed[1][symbol]
        raw = await self.t.read(self.client.get_isolated_margin_account, what="GET /sapi/v1/margin/isolated/account",
                                symbols=symbol)
        return next((p for p in raw.get("assets", ()) if p.get("symbol") == symbol), None)

    def _list_isolated(self, raw: wire.Json) -> dict[str, wire.Json]:
        created = {p["symbol"]: p for p in raw.get("assets", ()) if p.get("isolatedCreated", True)}
        self._isolated = (time.monotonic(), created)
        return created

    async def _pairs(self, max_age: float) -> dict[str, wire.Json]:
        """Created isolated pairs by symbol, from an all-pairs answer at most `max_age` seconds old, else a new one."""
        listed = self._isolated
        if listed is not None and time.monotonic() - listed[0] < max_age:
            return listed[1]
        raw = await self.t.read(self.client.get_isolated_margin_account, what="GET /sapi/v1/margin/isolated/account")
        return self._list_isolated(raw)

    async def _isolated_account(self, symbol: str) -> AccountSnapshot:
        info = await self._info(symbol)
        quote_price = self.valuation.usdt_prices({info.quote}) if info.quote != accounts.VALUATION else None
        pair, tiers, quote_prices = await gather_all(
            self._isolated_pair(symbol), self.ref.isolated_tiers(symbol),
            quote_price or _const({accounts.VALUATION: accounts.D1}))
        return self._isolated_snapshot(info, pair, tiers, quote_prices)

    def _isolated_snapshot(self, info: SymbolInfo, pair: wire.Json | None, tiers: list[dict[str, Any]],
                           quote_prices: dict[str, Decimal]) -> AccountSnapshot:
        bars = wire.isolated_thresholds(tiers, wire.opt_dec(pair, "marginRatio") if pair else None)
        snap = accounts.isolated_snapshot(pair, info, quote_prices.get(info.quote, accounts.D0), bars, self.t.now())
        self._last[info.symbol] = (time.monotonic(), snap, None)
        return snap

    async def accounts(self) -> dict[str | None, AccountSnapshot]:
        """Cross, and every isolated pair from one all-pairs read (one `FRESH_SECONDS` old serves), not one each."""
        cross, pairs = await gather_all(self._cross(), self._pairs(FRESH_SECONDS))
        infos = [await self._info(s) for s in sorted(pairs)]
        quotes = {i.quote for i in infos} - {accounts.VALUATION}  # a quote's price is read once for all its pairs
        quote_prices = {accounts.VALUATION: accounts.D1} | (await self.valuation.usdt_prices(quotes) if quotes else {})
        tiers = [await self.ref.isolated_tiers(i.symbol) for i in infos]  # cached an hour: a request each at most
        return {None: cross} | {i.symbol: self._isolated_snapshot(i, pairs.get(i.symbol), t, quote_prices)
                                for i, t in zip(infos, tiers, strict=True)}

    async def isolated_symbols(self) -> list[str]:
        """Isolated accounts that exist (created by a transfer in)."""
        return sorted(await self._pairs(ISOLATED_LIST_TTL))

    async def spot_balances(self) -> dict[str, Decimal]:
        raw = await self.t.read(self.client.get_account, what="GET /api/v3/account")
        out = {b["asset"]: wire.opt_dec(b, "free") for b in raw.get("balances", ())}
        return {a: v for a, v in sorted(out.items()) if v}

    async def max_borrowable(self, asset: str, isolated_symbol: str | None = None) -> Decimal:
        """From the account snapshot just taken when there is one (a /status or a preview), else Binance's
        `GET /sapi/v1/margin/maxBorrowable`."""
        asset, iso = asset.upper(), isolated_symbol.upper() if isolated_symbol else None
        last = self._last.get(iso)
        if last is not None and time.monotonic() - last[0] <= FRESH_SECONDS:
            _, snap, raw = last
            if iso is None:
                rate = (await self.ref.cross_rates.get()).get(asset)
                limit = None if rate is None else rate.borrow_limit
                if rate is not None and not rate.borrowable:
                    return accounts.D0
            else:
                limit = (await self.ref.isolated_rates(iso)).get(asset, (accounts.D0, None))[1]
            derived = accounts.derived_max_borrowable(snap, accounts.collateral_value(raw, snap), asset, limit)
            if derived is not None:
                return derived
        params: dict[str, Any] = {"asset": asset} | ({"isolatedSymbol": iso} if iso else {})
        row = await self.t.read(self.client.get_max_margin_loan, what="GET /sapi/v1/margin/maxBorrowable", **params)
        value = wire.dec(wire.field(row, "amount"), "amount")
        return min(value, wire.opt_dec(row, "borrowLimit", value))

    async def max_transferable(self, asset: str, isolated_symbol: str | None = None) -> Decimal:
        params: dict[str, Any] = {"asset": asset.upper()} | (
            {"isolatedSymbol": isolated_symbol.upper()} if isolated_symbol else {})
        row = await self.t.read(self.client.get_max_margin_transfer, what="GET /sapi/v1/margin/maxTransferable",
                                **params)
        return wire.dec(wire.field(row, "amount"), "amount")

    async def _read_bands(self) -> dict[str | None, tuple[Decimal, Band]]:
        """For the band poller: cross (while its stream is down) and every isolated pair, at two requests."""
        out: dict[str | None, tuple[Decimal, Band]] = {}
        if not self.stream.connected.is_set():
            raw = await self.t.read(self.client.get_margin_account, what="GET /sapi/v1/margin/account",
                                    background=True)
            level = wire.opt_dec(raw, "marginLevel")
            out[None] = (level, band_for(level, await self.ref.cross_bars.get()))
        raw = await self.t.read(self.client.get_isolated_margin_account, what="GET /sapi/v1/margin/isolated/account",
                                background=True)
        for pair in self._list_isolated(raw).values():
            bars = wire.isolated_thresholds(await self.ref.isolated_tiers(pair["symbol"]),
                                            wire.opt_dec(pair, "marginRatio"))
            level = wire.opt_dec(pair, "marginLevel")
            out[pair["symbol"]] = (level, band_for(level, bars))
        return out

    def _changed(self, account: str | None) -> None:
        """After a write: the account's cached figures are stale."""
        self._last.pop(account, None)
        if account is not None:
            self._isolated = None

    # ------------------------------------------------------------------ loans & transfers (see ledger.py)

    async def borrow(self, asset: str, amount: Decimal, isolated_symbol: str | None = None) -> int:
        iso = _upper(isolated_symbol)
        try:
            return await self.ledger.loan("BORROW", asset.upper(), amount, iso)
        finally:
            self._changed(iso)

    async def repay(self, asset: str, amount: Decimal, isolated_symbol: str | None = None) -> int:
        iso = _upper(isolated_symbol)
        try:
            return await self.ledger.loan("REPAY", asset.upper(), amount, iso)
        finally:
            self._changed(iso)

    async def transfer(self, asset: str, amount: Decimal, from_account: str, to_account: str) -> int:
        """Spot ↔ cross ↔ isolated through universal transfer; spot ↔ isolated is two hops via cross."""
        try:
            return await self.ledger.transfer(asset.upper(), amount, from_account, to_account)
        finally:
            self._isolated = None
            self._last.clear()

    # ------------------------------------------------------------------ orders

    async def place_order(self, request: OrderRequest) -> Order:
        params = order_params(request)
        self._order_sends[params["newClientOrderId"]] = time.monotonic()
        try:
            answer = await self.t.write(self.client.create_margin_order, what="POST /sapi/v1/margin/order",
                                        **params)
        finally:
            self._changed(request.symbol.upper() if request.isolated else None)
        return wire.order(answer, symbol=params["symbol"], isolated=request.isolated)

    async def place_oco(self, symbol: str, side: Side, quantity: Decimal, price: Decimal, stop_price: Decimal, *,
                        stop_limit_price: Decimal | None = None, side_effect: SideEffect = SideEffect.NO_SIDE_EFFECT,
                        isolated: bool = False, list_client_order_id: str | None = None) -> OrderList:
        params = oco_params(symbol, side, quantity, price, stop_price, stop_limit_price=stop_limit_price,
                            side_effect=side_effect, isolated=isolated, list_client_order_id=list_client_order_id)
        try:
            answer = await self.t.write(self.client.create_margin_oco_order, what="POST /sapi/v1/margin/order/oco",
                                        **params)
        finally:
            self._changed(symbol.upper() if isolated else None)
        return wire.order_list(answer)

    async def cancel_order(self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None,
                           isolated: bool = False) -> Order:
        params = order_ref(symbol, order_id, client_order_id, isolated)
        answer = await self.t.write(self.client.cancel_margin_order, what="DELETE /sapi/v1/margin/order", cancel=True,
                                    **params)
        return wire.order(answer, symbol=params["symbol"], isolated=isolated)

    async def get_order(self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None,
                        isolated: bool = False) -> Order:
        """By id or client id. An order this process sent moments ago is looked up a few times before
        "not found" is believed (Binance is eventually consistent right after an order)."""
        params = order_ref(symbol, order_id, client_order_id, isolated)
        sent = self._order_sends.get(client_order_id or "")
        doubt = sent is not None and time.monotonic() - sent < self.consistency.recent_seconds
        for check in range(self.consistency.checks if doubt else 1):
            try:
                answer = await self.t.read(self.client.get_margin_order, what="GET /sapi/v1/margin/order", **params)
                return wire.order(answer, symbol=params["symbol"], isolated=isolated)
            except OrderNotFound:
                if check + 1 >= (self.consistency.checks if doubt else 1):
                    raise
                await asyncio.sleep(self.consistency.spacing)
        raise AssertionError("unreachable")  # pragma: no cover

    async def cancel_order_list(self, symbol: str, *, order_list_id: int | None = None,
                                list_client_order_id: str | None = None, isolated: bool = False) -> OrderList:
        params = list_ref(symbol, order_list_id, list_client_order_id, isolated, "listClientOrderId")
        answer = await self.t.write(self.client.cancel_margin_oco_order, what="DELETE /sapi/v1/margin/orderList",
                                    cancel=True, **params)
        return wire.order_list(answer)

    async def get_order_list(self, symbol: str, *, order_list_id: int | None = None,
                             list_client_order_id: str | None = None, isolated: bool = False) -> OrderList:
        params = list_ref(symbol, order_list_id, list_client_order_id, isolated, "origClientOrderId")
        answer = await self.t.read(self.client.get_margin_oco_order, what="GET /sapi/v1/margin/orderList", **params)
        return wire.order_list(answer)

    async def open_orders(self, symbol: str | None = None, isolated: bool = False) -> list[Order]:
        params: dict[str, Any] = {"isIsolated": wire.flag(isolated)} | ({"symbol": symbol.upper()} if symbol else {})
        rows = await self.t.read(self.client.get_open_margin_orders, what="GET /sapi/v1/margin/openOrders", **params)
        return [wire.order(r, isolated=isolated) for r in rows]

    async def all_orders(self, symbol: str, isolated: bool = False) -> list[Order]:
        rows = await self.t.read(self.client.get_all_margin_orders, what="GET /sapi/v1/margin/allOrders",
                                 symbol=symbol.upper(), isIsolated=wire.flag(isolated))
        return [wire.order(r, isolated=isolated) for r in rows]


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


async def _const(value: T) -> T:
    return value
