"""The event loop never waits on the database: a request stuck in a slow statement holds up nobody else.

Why it exists: every store call is synchronous SQLAlchemy. When requests ran on the event loop, one
member's statement waiting on a slow or locked database froze every chat update, every other
member's reply and the outboxes. Each request now runs on a worker thread (`chatbot.workers`); here
carol's `/borrow` is held inside its INSERT (a hook that blocks until released) while dave asks for
`/status`, and dave is answered before carol's request is let go.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy import event

from tests.core.desk import DeskUnderTest


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
