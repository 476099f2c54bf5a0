"""The scheduled jobs: importable async functions (persisted jobs cannot carry closures).

They find the running desk through `chatbot.scheduler.context()` (set at boot), re-check leadership
right before they post anything (fencing), and do their work on the desk's worker threads, off the
event loop the scheduler runs on.
"""

from __future__ import annotations

from chatbot import scheduler


async def margin_monitor() -> None:
    desk = scheduler.context()
    if scheduler.is_leader():
        from chatbot.trader.watch import check_orders  # resting orders that filled or expired meanwhile

        async def cycle() -> None:
            await desk.monitor.check_all()
            await check_orders(desk.services)

        await desk.workers.run(cycle)


async def interest_summary() -> None:
    desk = scheduler.context()
    if scheduler.is_leader():
        await desk.workers.run(desk.summarizer.run)
