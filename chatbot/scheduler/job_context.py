"""What a running job may ask of its process: the desk it works for, and whether this process still leads.

Why it exists: persisted jobs are "module:function" references and cannot carry closures, so the
objects they need (the desk core, the exchange…) are registered once per process at boot
(`set_context`) and looked up inside the job (`context()`). Leadership is process-wide too: the
`LeaderScheduler` that holds the lease registers itself here while it runs, and jobs call
`ensure_leader()` (or check `is_leader()`) right before a side effect, as a fencing check. This module
holds only that process-wide state, so jobs can import it without the scheduler machinery.
"""

from __future__ import annotations

from typing import Any, Protocol


class Leadership(Protocol):
    """What `is_leader()` asks of the running `LeaderScheduler` (kept abstract: no import cycle)."""

    @property
    def is_leader(self) -> bool: ...


_context: Any = None
_active: Leadership | None = None


def set_context(obj: Any) -> None:
    """Register what jobs need at run time (the desk core, the exchange…). Call once at boot."""
    global _context
    _context = obj


def clear_context() -> None:
    set_context(None)


def context() -> Any:
    """The object given to `set_context()`; jobs call this instead of capturing closures."""
    if _context is None:
        raise RuntimeError("scheduler context not set: call chatbot.scheduler.set_context() at boot")
    return _context


class NotLeaderError(RuntimeError):
    """Raised by `ensure_leader()` when this process no longer holds the scheduler lease."""


def is_leader() -> bool:
    """True while this process's `LeaderScheduler` holds the lease (a local check, no I/O)."""
    return _active is not None and _active.is_leader


def ensure_leader() -> None:
    """Fencing check for jobs: call right before a side effect (order, loan, message)."""
    if not is_leader():
        raise NotLeaderError("this process is not the scheduler leader any more")


def activate(leader: Leadership) -> None:
    """`LeaderScheduler.start()`: this instance answers `is_leader()` from now on."""
    global _active
    _active = leader


def deactivate(leader: Leadership) -> None:
    """`LeaderScheduler.stop()`: forget `leader`, unless another instance has started since."""
    global _active
    if _active is leader:
        _active = None
