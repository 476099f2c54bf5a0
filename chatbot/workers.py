"""Where the core's blocking work runs: worker threads with their own event loops, never the main loop.

Why it exists: every store call is synchronous SQLAlchemy — a few milliseconds each on a PostgreSQL
server a network hop away, about a dozen per `/confirm`. The main event loop ("home") serves every
chat update, the exchange's sockets and the outboxes; if it waited on the database, every member's
reply would wait too. So a request's whole unit of work — the chain, its handler, its store writes —
runs on one worker thread, one request per thread at a time, each thread with its own event loop
(`Workers.run`). Whatever is bound to the home loop (a chat client, the outboxes, a network client
like python-binance's) is awaited there through `on_home`; `spawn_on_home` starts background work
there (a notice's delivery), and `off_loop` runs a synchronous call off whichever loop is calling
(inline on a worker, in a thread from the home loop). All of them are no-ops where they already are,
so code that calls them works the same in a worker, on the home loop (tests), or in a script.

Why threads and not an async engine: the stores, the paper ledger and the execution records are
small synchronous units that already hold their guarantees (conditional updates, `BEGIN IMMEDIATE`,
`FOR UPDATE`); moving each request as a whole off the loop keeps them exactly as they are, and
psycopg and sqlite3 release the GIL while they wait, so requests on different workers overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_WORKERS = 8  # requests in flight at once; the database pool is sized to match (`make_engine`)

_here = threading.local()  # on a worker: `worker` (True), `home` (the loop that sent the job), `cache`
_Job = tuple[Callable[[], Awaitable[Any]], asyncio.AbstractEventLoop, asyncio.Future[Any]]


def in_worker() -> bool:
    return bool(getattr(_here, "worker", False))


def unit_cache() -> dict[Any, Any] | None:
    """A dict that lives as long as the current unit of work (one request, one recovery pass, one
    monitor cycle) on a worker; None elsewhere. For facts a unit may read once — the desk's policy,
    the paper ledger's revision — never for anything a decision must see change (a halt)."""
    return getattr(_here, "cache", None) if in_worker() else None


def _home() -> asyncio.AbstractEventLoop | None:
    return getattr(_here, "home", None) if in_worker() else None


async def on_home(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Await `factory()` on the home loop (inline when this already is the home loop)."""
    home = _home()
    if home is None:
        return await factory()
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(factory(), home))


def call_on_home(fn: Callable[[], Any]) -> None:
    """Call `fn()` on the home loop soon (now, when this is the home loop): hooks that start home work."""
    home = _home()
    if home is None:
        fn()
    else:
        with contextlib.suppress(RuntimeError):  # the home loop is closed: the process is stopping
            home.call_soon_threadsafe(fn)


def spawn_on_home(factory: Callable[[], Coroutine[Any, Any, Any]],
                  started: Callable[[asyncio.Task[Any]], None] | None = None) -> None:
    """Start `factory()` as a task on the home loop and return at once; `started` gets the task there."""
    def create() -> None:
        task = asyncio.get_running_loop().create_task(factory())
        if started is not None:
            started(task)

    call_on_home(create)


async def off_loop(fn: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
    """Run the synchronous `fn(*args)` where it cannot stall the home loop (in `executor` when given:
    a one-thread executor keeps its callers' order)."""
    if in_worker():
        return fn(*args)
    if executor is None:
        return await asyncio.to_thread(fn, *args)
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


class ThreadLock:
    """A lock for async code that may run on several threads' loops (an `asyncio.Lock` is bound to one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    async def __aenter__(self) -> None:
        if in_worker():
            self._lock.acquire()  # this worker has nothing else to do meanwhile
            return
        while not self._lock.acquire(blocking=False):  # the home loop must never block
            await asyncio.sleep(0.001)

    async def __aexit__(self, *_: object) -> None:
        self._lock.release()


class Workers:
    """A fixed pool of daemon threads, each running one job at a time on its own event loop."""

    def __init__(self, size: int = DEFAULT_WORKERS, name: str = "core") -> None:
        self.size = size
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    async def run(self, factory: Callable[[], Awaitable[T]]) -> T:
        """`await factory()` on a worker thread; inline when the caller already is one."""
        if in_worker():
            return await factory()
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((factory, loop, future))
        return await future

    def close(self) -> None:
        """Let every worker finish its current job and exit (they are daemons: a stuck one never holds
        the process up)."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)

    def _start(self) -> None:
        if len(self._threads) == self.size:
            return
        with self._lock:
            while len(self._threads) < self.size:
                thread = threading.Thread(target=self._serve, name=f"{self.name}-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _serve(self) -> None:
        _here.worker = True
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            while (job := self._jobs.get()) is not None:
                factory, home, future = job
                _here.home, _here.cache = home, {}
                try:
                    result = loop.run_until_complete(factory())
                except BaseException as exc:  # handed to the caller, whatever it is
                    _hand_over(home, future, None, exc)
                else:
                    _hand_over(home, future, result, None)
        finally:
            loop.close()


def _hand_over(home: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any,
               error: BaseException | None) -> None:
    def settle() -> None:
        if future.done():  # the caller stopped waiting (cancelled)
            return
        if isinstance(error, asyncio.CancelledError):
            future.cancel()
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the home loop is closed: nobody is waiting any more
        home.call_soon_threadsafe(settle)
