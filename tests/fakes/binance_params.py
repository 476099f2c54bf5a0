"""How the fake Binance reads a request's parameters: as Binance does, with Binance's refusals.

Kept apart from the endpoint table (tests/fakes/binance_routes.py), whose handlers all use it:
mandatory parameters (-1102 when missing or empty), decimals that must be plain decimal strings
(`1e-05` gets -1100), `TRUE`/`FALSE` flags, symbols the exchange lists (-1121), time windows that
default to the last N days, and `current`/`size` paging.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chatbot.exchange import ExchangeError

if TYPE_CHECKING:
    from .binance import FakeBinance

Params = dict[str, str]
NUMBER = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
DAY_MS = 86_400_000


def _err(code: int, msg: str) -> ExchangeError:
    return ExchangeError(code, msg)


def need(p: Params, name: str) -> str:
    value = p.get(name)
    if value is None or value == "":
        raise _err(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def dec(p: Params, name: str, required: bool = True) -> Decimal | None:
    if name not in p and not required:
        return None
    value = need(p, name)
    if not NUMBER.match(value):
        raise _err(-1100, f"Illegal characters found in parameter '{name}'; legal range is "
                          "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")
    return Decimal(value)


def amount(p: Params, name: str = "amount") -> Decimal:
    value = dec(p, name)
    assert value is not None
    return value


def flag(p: Params, name: str = "isIsolated") -> bool:
    value = p.get(name, "FALSE")
    if value not in ("TRUE", "FALSE"):
        raise _err(-1100, f"Illegal characters found in parameter '{name}'; legal range is 'TRUE, FALSE'.")
    return value == "TRUE"


def _int(p: Params, name: str) -> int | None:
    return int(p[name]) if p.get(name) else None


def _window(fake: FakeBinance, p: Params, span_days: int) -> tuple[int, int]:
    end = _int(p, "endTime") or fake.now_ms
    start = _int(p, "startTime")
    if start is None:
        start = end - span_days * DAY_MS
    return start, end


def _page(rows: list[Any], p: Params, render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    size = min(int(p.get("size", "10")), 100)
    current = max(int(p.get("current", "1")), 1)
    chunk = rows[(current - 1) * size: current * size]
    return {"rows": [render(r) for r in chunk], "total": len(rows)}


def _symbol(fake: FakeBinance, p: Params, name: str = "symbol") -> str:
    sym = need(p, name).upper()
    if sym not in fake.book.symbols:
        raise _err(-1121, "Invalid symbol.")
    return sym


def _account_key(fake: FakeBinance, p: Params) -> str:
    return fake.book.account_key(_symbol(fake, p) if flag(p) else None)
