"""The event loop never waits on the database: a request stuck in a slow statement holds up nobody else.

Why it exists: every store call is synchronous SQLAlchemy. When requests ran on the event loop, one
member's statement waiting on a slow or locked database froze every chat update, every other
member's reply and the outboxes. Each request now runs on a worker thread (`chatbot.workers`); here
carol's `/borrow` is held inside its INSERT (a hook that blocks until released) while dave asks for
`/status`, and dave is answered before carol's request is let go. And since recovery now runs
beside requests, a request this process is executing is never taken for an orphan.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from tests.core.desk import DeskUnderTest, intents, short_id


async def test_a_request_held_in_the_database_holds_up_nobody_else(desk: DeskUnderTest) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PENDING_ACTIONS") and not release.is_set():
            entered.set()
            release.wait(10)  # never forever, even when the promise is broken

    event.listen(desk.core.engine, "before_cursor_execute", hold)
    try:
        borrow = asyncio.create_task(desk.say("carol", "/borrow USDT 100"))
        assert await asyncio.to_thread(entered.wait, 5), "carol's request never reached its INSERT"
        status = await asyncio.wait_for(desk.say("dave", "/status"), 5)
        assert status.title.startswith("Status") and not borrow.done()  # dave first, carol still held
        release.set()
        prompt = await asyncio.wait_for(borrow, 5)
        assert "borrow 100 USDT" in prompt.title
    finally:
        release.set()
        event.remove(desk.core.engine, "before_cursor_execute", hold)


HOLD_AFTER = {  # the commits after which a confirmed borrow is held while recovery runs beside it
    "executing": lambda statement, params: (statement.startswith("UPDATE PENDING_ACTIONS")
                                            and "executing" in str(params)),
    "intent recorded": lambda statement, params: statement.startswith("INSERT INTO INTENTS"),
}


@pytest.mark.parametrize("point", list(HOLD_AFTER))
async def test_a_recovery_pass_on_another_worker_leaves_a_request_being_executed_alone(
        desk: DeskUnderTest, point: str) -> None:
    """Recovery runs every few seconds beside the requests: a confirmed request whose state already says
    `executing`, or whose intent is recorded, but whose exchange call has not gone out yet is this
    process's own work in progress, not an orphan to settle."""
    engine, holds = desk.core.engine, HOLD_AFTER[point]
    entered, release = threading.Event(), threading.Event()
    marked: set[int] = set()

    def note(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if holds(statement.lstrip().upper(), params):
            marked.add(id(cursor.connection))  # the driver's own connection

    commit = engine.dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        commit(dbapi_connection)
        raw = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))  # unwrap the pool's proxy
        if raw in marked and not release.is_set():  # committed: hold here
            marked.discard(raw)
            entered.set()
            release.wait(10)

    event.listen(engine, "after_cursor_execute", note)
    engine.dialect.do_commit = do_commit  # type: ignore[method-assign]
    try:
        prompt = await desk.say("carol", "/borrow USDT 100")
        confirm = asyncio.create_task(desk.say("carol", f"/confirm {short_id(prompt)}"))
        assert await asyncio.to_thread(entered.wait, 5), f"the confirmation never got past {point}"
        settled = await desk.core.workers.run(desk.core.recovery.settle)  # another worker's recovery pass
        assert not settled, settled
        release.set()
        assert (await asyncio.wait_for(confirm, 5)).title.startswith("Done")
        p = desk.core.pending.by_short_id(short_id(prompt))
        assert p is not None and p.state == "done" and [i.state for i in intents(desk)] == ["DONE"]
    finally:
        release.set()
        engine.dialect.do_commit = commit  # type: ignore[method-assign]
        event.remove(engine, "after_cursor_execute", note)


async def test_the_heartbeat_lands_while_every_worker_is_busy(desk: DeskUnderTest) -> None:
    """Another process takes this one for dead when its heartbeat goes stale, and then reconciles the
    calls it is sending. With its only worker held inside a request, the heartbeat must still land."""
    from chatbot.store.tables import DeskProcess
    from chatbot.workers import Workers

    core = desk.core
    core.workers = Workers(1)  # one worker: the held request occupies all of them
    core.services.processes.heartbeat_seconds = 0.05
    entered, release = threading.Event(), threading.Event()

    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PENDING_ACTIONS") and not release.is_set():
            entered.set()
            release.wait(10)

    def last_beat() -> Any:
        with Session(core.engine) as s:
            return s.get(DeskProcess, core.services.processes.instance_id).heartbeat_at  # type: ignore[union-attr]

    event.listen(core.engine, "before_cursor_execute", hold)
    beating = asyncio.create_task(core.background())
    try:
        borrow = asyncio.create_task(desk.say("carol", "/borrow USDT 100"))
        assert await asyncio.to_thread(entered.wait, 5)
        before = await asyncio.to_thread(last_beat)
        for _ in range(100):  # up to 5 s for a beat that comes every 0.05 s
            if await asyncio.to_thread(last_beat) > before:
                break
            await asyncio.sleep(0.05)
        assert await asyncio.to_thread(last_beat) > before and not borrow.done()
        release.set()
        assert "borrow 100 USDT" in (await asyncio.wait_for(borrow, 5)).title
    finally:
        release.set()
        beating.cancel()
        event.remove(core.engine, "before_cursor_execute", hold)
