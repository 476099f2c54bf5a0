"""Read-only commands: status, interest, pending, members, policy, help. They never change anything."""

from __future__ import annotations

from datetime import timedelta

from chatbot.commands import views
from chatbot.commands.registry import bind
from chatbot.flows.pending import VISIBLE_STATES
from chatbot.flows.recovery import Recovery
from chatbot.replies import Reply, Table, error
from chatbot.services import Call, Services
from chatbot.trader.interest import interest_reply


@bind("status")
async def status(svc: Services, call: Call) -> Reply:
    symbol = call.args.get("symbol")
    if symbol is not None and symbol not in await svc.exchange.isolated_symbols():
        return error(f"There is no isolated {symbol} margin account yet (nothing was ever moved into it).",
                     "/status shows the cross account.")
    snap = await svc.exchange.account(symbol)
    rates = await svc.exchange.daily_interest_rates(symbol)
    pair = svc.market.symbols.get(symbol) if symbol else None
    assets = sorted(a for a in rates if pair is None or a in (pair.base, pair.quote))
    max_borrow = {asset: await svc.exchange.max_borrowable(asset, symbol) for asset in assets}
    return views.status_reply(snap, rates, max_borrow, await svc.exchange.now())


@bind("interest")
async def interest(svc: Services, call: Call) -> Reply:
    days = int(call.args.get("days", 1))
    now = await svc.exchange.now()
    parts = []
    for symbol in [None, *await svc.exchange.isolated_symbols()]:
        history = await svc.exchange.interest_history(asset=call.args.get("asset"), isolated_symbol=symbol,
                                                      start=now - timedelta(days=days), end=now)
        parts.append((await svc.exchange.account(symbol), await svc.exchange.daily_interest_rates(symbol), history))
    return interest_reply(parts, call.args.get("asset"), days, now)


@bind("pending")
async def pending(svc: Services, call: Call) -> Reply:
    Recovery(svc).expire_due()
    mine = None if call.member.role == "admin" else call.member.id
    return views.pending_reply(svc.pending.open_actions(mine, VISIBLE_STATES), svc.clock())


@bind("members")
async def members(svc: Services, call: Call) -> Reply:
    return views.members_reply(svc.members.all())


@bind("policy")
async def policy(svc: Services, call: Call) -> Reply:
    overrides = svc.policy_overrides()
    rows = tuple((key, str(value), "chat (approved)" if key in overrides else "TOML")
                 for key, value in svc.policy().model_dump().items())
    return Reply(title="Desk policy", table=Table(("Key", "Value", "From"), rows),
                 lines=("Admins change a value with /setpolicy KEY VALUE; a second admin approves.",))


@bind("help")
async def help_(svc: Services, call: Call) -> Reply:
    return views.help_reply(call.member, call.request.actor.platform, svc.paper, call.args.get("command"))
