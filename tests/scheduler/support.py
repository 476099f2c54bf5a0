"""Shared helpers for the scheduler tests (imported by conftest and the test modules)."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # the project may not be pip-installed in the venv
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy.engine import Engine  # noqa: E402

from chatbot.store.db import make_engine  # noqa: E402


@dataclass
class Db:
    """One test database: its URL and a factory for engines (one per simulated process)."""

    kind: str  # "sqlite" | "postgres"
    url: str
    schema: str | None = None  # PostgreSQL: a private schema, selected through search_path
    engines: list[Engine] = field(default_factory=list)

    def engine_kwargs(self) -> dict[str, Any]:
        if self.schema:
            return {"connect_args": {"options": f"-csearch_path={self.schema}"}}
        return {}

    def engine(self) -> Engine:
        engine = make_engine(self.url, **self.engine_kwargs())
        self.engines.append(engine)
        return engine


@dataclass
class Recorder:
    """The runtime context the test jobs find through `chatbot.scheduler.context()`."""

    runs: list[tuple[str, float]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.02) -> Any:
    """Poll `predicate` until truthy (returned) or raise AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def func_ref(func: Callable[..., Any]) -> str:
    """The `module:function` reference of a module-level function, whatever pytest named its module."""
    return f"{func.__module__}:{func.__qualname__}"
