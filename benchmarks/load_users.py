"""The user side of the load benchmark: the fake Bot API and the simulated members, in a process of their own.

Why a process of its own: the bot under test must have its event loop to itself, or its loop lag
and throughput would include the fake server's JSON and HTML checking. benchmarks/load_bench.py
starts this as `python -m benchmarks.load_users --members N --requests R` and reads one JSON object a
line from its stdout: {"port": p} once the fake serves; {"phase": "measure"} when the warm-up is
done; {"result": {...}} when the load is done; it then serves until its stdin closes.

The load: R requests spread round-robin over N members (chat id = user id), each member one
request at a time (a closed loop: N concurrent users). A seeded 20 % of requests are `/borrow USDT
10` then a press on the prompt's Confirm button; the rest `/status`. A request is complete when its
expected reply reaches the fake: for /status a sendMessage saying "Status"; for a borrow a
sendMessage with a Confirm button, then, after the press, an edit saying "Done". Anything else, or
nothing within the timeout, is an error; a member whose reply never came stops there (a late reply
would otherwise be taken for the next request's), and its remaining requests count as errors too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from typing import Any

from tests.fakes.telegram import FakeTelegram

FIRST_USER = 100_000
TIMEOUT = 120.0  # a closed loop of N users queues: latency ≈ N / throughput, seconds at N = 500
WARMUP_USERS = 50


def user_ids(members: int) -> list[int]:
    return [FIRST_USER + i for i in range(members)]


class LoadFake(FakeTelegram):
    """The fake Bot API, handing each chat's next sendMessage / editMessageText to whoever waits on that chat."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future[tuple[str, dict[str, Any]]]] = {}

    def expect(self, chat_id: int) -> asyncio.Future[tuple[str, dict[str, Any]]]:
        future: asyncio.Future[tuple[str, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        return future

    def _deliver(self, params: dict[str, Any], method: str) -> None:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            return
        message = self.messages.get((params["chat_id"], int(params.get("message_id") or 0)))
        future = self.waiting.pop(chat_id, None)
        if future is not None and not future.done():
            future.set_result((method, message or {}))

    async def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        result = await super()._m_sendMessage(p)
        self._deliver({**p, "message_id": result["message_id"]}, "sendMessage")
        return result

    async def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        result = await super()._m_editMessageText(p)
        self._deliver(p, "editMessageText")
        return result


def _confirm_data(message: dict[str, Any]) -> str | None:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if "confirm" in str(button.get("text", "")).lower() and button.get("callback_data"):
                return str(button["callback_data"])
    return None


class Users:
    def __init__(self, fake: LoadFake) -> None:
        self.fake = fake
        self.latencies: list[float] = []
        self.errors: list[str] = []

    async def _reply(self, uid: int, push: Any) -> tuple[str, dict[str, Any]] | None:
        future = self.fake.expect(uid)
        push()
        try:
            return await asyncio.wait_for(future, TIMEOUT)
        except TimeoutError:
            self.fake.waiting.pop(uid, None)
            return None

    async def status(self, uid: int) -> str | None:
        got = await self._reply(uid, lambda: self.fake.command(uid, "/status"))
        if got is None:
            return "/status: no reply"
        method, msg = got
        return None if method == "sendMessage" and "Status" in msg.get("text", "") else \
            f"/status: {method} {msg.get('text', '')[:80]!r}"

    async def borrow(self, uid: int) -> str | None:
        got = await self._reply(uid, lambda: self.fake.command(uid, "/borrow USDT 10"))
        if got is None:
            return "/borrow: no prompt"
        method, prompt = got
        data = _confirm_data(prompt)
        if method != "sendMessage" or data is None:
            return f"/borrow: {method} {prompt.get('text', '')[:80]!r}"
        got = await self._reply(uid, lambda: self.fake.press(uid, prompt, data))
        if got is None:
            return "Confirm: no edit"
        method, done = got
        return None if method == "editMessageText" and "Done" in done.get("text", "") else \
            f"Confirm: {method} {done.get('text', '')[-160:]!r}"

    async def member(self, uid: int, kinds: list[str]) -> None:
        for i, kind in enumerate(kinds):
            start = time.perf_counter()
            error = await (self.status(uid) if kind == "status" else self.borrow(uid))
            if error is None:
                self.latencies.append(time.perf_counter() - start)
                continue
            self.errors.append(error)
            if error.endswith(("no reply", "no prompt", "no edit")):
                self.errors += ["abandoned after a reply that never came"] * (len(kinds) - i - 1)
                return


def plan(members: int, requests: int, seed: int) -> dict[int, list[str]]:
    """Each member's requests, in order: 20 % borrow (seeded), the rest status, dealt round-robin."""
    rng = random.Random(seed)
    uids = user_ids(members)
    out: dict[int, list[str]] = {uid: [] for uid in uids}
    for i in range(requests):
        out[uids[i % members]].append("borrow" if rng.random() < 0.2 else "status")
    return out


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def main(members: int, requests: int, seed: int) -> None:
    async with LoadFake() as fake:
        emit({"port": fake.port})
        await fake.wait_arrivals("getUpdates", 1, timeout=120)  # the bot has started polling
        warm = Users(fake)
        await asyncio.gather(*(warm.member(uid, ["status"]) for uid in user_ids(members)[:WARMUP_USERS]))
        emit({"phase": "measure", "warmup_errors": warm.errors[:3]})
        users = Users(fake)
        work = plan(members, requests, seed)
        start = time.perf_counter()
        await asyncio.gather(*(users.member(uid, kinds) for uid, kinds in work.items()))
        elapsed = time.perf_counter() - start
        borrows = sum(k.count("borrow") for k in work.values())
        emit({"result": {"elapsed": elapsed, "completed": len(users.latencies), "errors": len(users.errors),
                         "error_samples": sorted(set(users.errors))[:5], "requests": requests, "borrows": borrows,
                         "p50_ms": _ms(users.latencies, 0.5), "p99_ms": _ms(users.latencies, 0.99)}})
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes it


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.requests, args.seed))
