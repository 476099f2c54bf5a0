"""Paper drills: move the paper market (`/price SYMBOL PRICE`) and the paper clock (`/clock`); the chain
checks they run on paper only. `/price SYMBOL` (no price) is a quote for everyone. A clock that crosses
the daily interest summary's time posts the summary, as the scheduled job would on a live desk; price
and clock drills also let the order watch tell requesters whose orders filled or expired."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from chatbot.commands.handlers.trader import quote
from chatbot.commands.registry import bind
from chatbot.exchange import DrillControls
from chatbot.money import fmt
from chatbot.replies import Reply, error
from chatbot.services import Call, Services
from chatbot.trader.watch import check_orders


@bind("price")
async def price(svc: Services, call: Call) -> Reply:
    if "price" not in call.args:
        return await quote(svc, call.args["symbol"])
    if not isinstance(svc.exchange, DrillControls):
        return error("/price is a paper-exchange drill.")
    await svc.exchange.set_price(call.args["symbol"], call.args["price"])
    await check_orders(svc)
    return Reply(title=f"Paper price {call.args['symbol']} = {fmt(call.args['price'])}.")


@bind("clock")
async def clock(svc: Services, call: Call) -> Reply:
    if not isinstance(svc.exchange, DrillControls):
        return error("/clock is a paper-exchange drill.")
    before = await svc.exchange.now()
    now = await svc.exchange.advance(int(call.args["duration"]))
    lines: tuple[str, ...] = ()
    if crossed(before, now, svc.desk.alerts.interest_summary_time):
        posted = await svc.summarizer.run()
        names = ", ".join(n.data.get("account", "?") for n in posted)
        lines = (f"Daily interest summary posted ({names})." if posted else
                 "Daily interest summary time passed: nothing to report.",)
    await check_orders(svc)
    return Reply(title=f"Paper clock is now {now:%Y-%m-%d %H:%M} UTC.", lines=lines)


def crossed(before: datetime, after: datetime, at: time) -> bool:
    """Whether (before, after] contains a moment of the day `at` (UTC)."""
    day = before.date()
    while True:
        moment = datetime.combine(day, at, tzinfo=UTC)
        if moment > after:
            return False
        if moment > before:
            return True
        day += timedelta(days=1)
