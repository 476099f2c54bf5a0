"""Small helpers shared by the paper exchange tests (config, order shortcuts, rounding, refusals, funding)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from adapters.paper import PaperExchange
from chatbot.config import PaperConfig
from chatbot.exchange import ExchangeError, OrderRequest, OrderType, Side, SideEffect

D = Decimal
EIGHT = Decimal("0.00000001")
Open = Callable[..., Awaitable[PaperExchange]]  # the `open_exchange` fixture (tests/paper/conftest.py)


def q8(value: Decimal) -> Decimal:
    return value.quantize(EIGHT, rounding=ROUND_HALF_UP)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def paper_config(**overrides: Any) -> PaperConfig:
    """The reference's common settings (§6): zero fees, daily 0.00024 for BTC and USDT, BTCUSDT 35000."""
    values: dict[str, Any] = {"taker_fee": "0", "maker_fee": "0", "prices": {"BTCUSDT": "35000"}}
    values.update(overrides)
    return PaperConfig.model_validate(values)


def market(side: Side, qty: str, effect: SideEffect = SideEffect.NO_SIDE_EFFECT, *, symbol: str = "BTCUSDT",
           isolated: bool = False, **kw: Any) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.MARKET, quantity=D(qty), side_effect=effect, isolated=isolated,
                        **kw)


def limit(side: Side, qty: str, price: str, effect: SideEffect = SideEffect.NO_SIDE_EFFECT, *,
          symbol: str = "BTCUSDT", isolated: bool = False, **kw: Any) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.LIMIT, quantity=D(qty), price=D(price), side_effect=effect,
                        isolated=isolated, **kw)


async def code_of(awaitable: Awaitable[object]) -> int:
    """The Binance error code an exchange call is refused with (it must be refused)."""
    with pytest.raises(ExchangeError) as err:
        await awaitable
    return err.value.code


async def funded(open_exchange: Open, usdt: str = "20000", **cfg: object) -> PaperExchange:
    """Cross account with `usdt` USDT (spot: the same USDT and 1 BTC), BTC at 35,000."""
    values: dict[str, object] = {"spot": {"USDT": usdt, "BTC": "1"}, "cross": {"USDT": usdt}}
    values.update(cfg)
    return await open_exchange(**values)
