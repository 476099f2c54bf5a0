"""The scheduled jobs: importable async functions (persisted jobs cannot carry closures).

They find the running desk through `chatbot.scheduler.context()` (set at boot) and re-check
leadership right before they post anything (fencing).
"""

from __future__ import annotations

from chatbot import scheduler


async def margin_monitor() -> None:
    desk = scheduler.context()
    if scheduler.is_leader():
        await desk.monitor.check_all()
        from chatbot.trader.watch import check_orders  # resting orders that filled or expired meanwhile

        await check_orders(desk.services)


async def interest_summary() -> None:
    desk = scheduler.context()
    if scheduler.is_leader():
        await desk.summarizer.run()
