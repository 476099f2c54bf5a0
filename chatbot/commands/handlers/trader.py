"""The trader's view: positions, P&L, balances, open orders, quotes; transfers, orders and cancels propose.

Reads never change anything (apart from the desk's own records: new fills from the exchange's history and
an equity mark). `/transfer`, `/order`, `/oco` and `/cancelorder` move money, so like `/long` they
become a previewed prompt (`chatbot.flows.proposals`), never an execution.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from chatbot.commands.registry import bind
from chatbot.exchange import CROSS, SPOT, AccountSnapshot, isolated_account
from chatbot.flows.proposals import propose
from chatbot.replies import Reply, error
from chatbot.services import Call, Services
from chatbot.trader import views
from chatbot.trader.book import read_accounts
from chatbot.trader.outcomes import fill_book
from chatbot.trader.proposals import open_orders
from chatbot.trader.watch import check_orders, owners

DEFAULT_PNL_DAYS = 7


@bind("transfer")
@bind("order")
@bind("oco")
@bind("cancelorder")
async def money_moving(svc: Services, call: Call) -> Reply:
    return await propose(svc, call)


@bind("positions")
async def positions(svc: Services, call: Call) -> Reply:
    accounts = await read_accounts(svc.exchange)
    book = fill_book(svc)
    await book.sync(accounts)
    ledger = await book.ledger(accounts)
    rates = {key: await svc.exchange.daily_interest_rates(snap.isolated_symbol)
             for key, snap in accounts.snapshots.items()}
    bases = {s: info.base for s, info in svc.market.symbols.items()}
    return views.positions_reply(accounts, ledger, rates, call.args.get("symbol"), bases)


@bind("pnl")
async def pnl(svc: Services, call: Call) -> Reply:
    days = int(call.args.get("days", DEFAULT_PNL_DAYS))
    now = await svc.exchange.now()
    start = now - timedelta(days=days)
    accounts = await read_accounts(svc.exchange)
    book = fill_book(svc)
    await book.sync(accounts)
    ledger = await book.ledger(accounts, since=start)
    equity_start = book.equity_at(start)
    book.record_equity(now, accounts.equity, "pnl")
    transfers = await _transfers_in(svc, accounts.snapshots, start)
    return views.pnl_reply(days, now, start, accounts, ledger, equity_start, transfers)


async def _transfers_in(svc: Services, snapshots: dict[str, AccountSnapshot], start: datetime) -> Decimal:
    """Net value moved from spot into the margin accounts since `start` (at today's prices)."""
    seen: dict[int, tuple[str, Decimal, str, str]] = {}
    for key in snapshots:
        view = CROSS if key == "cross" else isolated_account(key)
        for r in await svc.exchange.transfer_records(account=view, start=start):
            seen[r.tx_id] = (r.asset, r.amount, r.from_account, r.to_account)
    marks = {"USDT": Decimal(1)}
    for snap in snapshots.values():
        marks.update(snap.prices)
    total = Decimal(0)
    for asset, amount, source, target in seen.values():
        value = amount * marks.get(asset, Decimal(0))
        total += value if source == SPOT else -value if target == SPOT else Decimal(0)
    return total


@bind("balance")
async def balance(svc: Services, call: Call) -> Reply:
    accounts = await read_accounts(svc.exchange)
    return views.balance_reply(accounts, await svc.exchange.spot_balances(), accounts.marks())


@bind("orders")
async def orders(svc: Services, call: Call) -> Reply:
    await check_orders(svc)
    found = await open_orders(svc)
    symbol = call.args.get("symbol")
    if symbol:
        found = [o for o in found if o.symbol == symbol]
    return views.orders_reply(found, owners(svc))


async def quote(svc: Services, symbol: str) -> Reply:
    price = (await svc.exchange.prices()).get(symbol)
    if price is None:
        return error(f"No price for {symbol} on this exchange now.", "Try /price BTCUSDT")
    return views.quote_reply(symbol, price, await svc.exchange.price_change_24h(symbol))
