"""Paper drills: move the paper market (`/price`) and the paper clock (`/clock`). Paper only (the chain checks)."""

from __future__ import annotations

from chatbot.commands.registry import bind
from chatbot.exchange import DrillControls
from chatbot.money import fmt
from chatbot.replies import Reply, error
from chatbot.services import Call, Services


@bind("price")
async def price(svc: Services, call: Call) -> Reply:
    if not isinstance(svc.exchange, DrillControls):
        return error("/price is a paper-exchange drill.")
    await svc.exchange.set_price(call.args["symbol"], call.args["price"])
    return Reply(title=f"Paper price {call.args['symbol']} = {fmt(call.args['price'])}.")


@bind("clock")
async def clock(svc: Services, call: Call) -> Reply:
    if not isinstance(svc.exchange, DrillControls):
        return error("/clock is a paper-exchange drill.")
    now = await svc.exchange.advance(int(call.args["duration"]))
    return Reply(title=f"Paper clock is now {now:%Y-%m-%d %H:%M} UTC.")
