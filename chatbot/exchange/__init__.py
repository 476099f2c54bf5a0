"""The Exchange port: what the core may ask of a margin exchange, in Decimal value types.

The core (commands, previews, alerts) talks only to this Protocol. `adapters/paper` implements it
with a Binance-faithful simulator; `adapters/binance` with python-binance. Names follow ccxt's
unified margin API where one exists, so a ccxt-backed adapter could be added later.

Accounts are addressed by `isolated_symbol`: `None` is the cross margin account, `"BTCUSDT"` the
isolated account of that pair. Errors carry Binance's numeric code and message.
"""

from chatbot.exchange.errors import (
    ExchangeError,
    ExchangeNotReached,
    ExchangeUnavailable,
    OrderNotFound,
    RateLimited,
)
from chatbot.exchange.events import EventListener, ExchangeEvent, Listeners, stop_feeds
from chatbot.exchange.port import DrillControls, Exchange
from chatbot.exchange.values import (
    CROSS,
    SPOT,
    AccountSnapshot,
    AssetBalance,
    Fill,
    InterestRecord,
    LiquidationRecord,
    LoanRecord,
    LoanStatus,
    LoanType,
    Order,
    OrderList,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SideEffect,
    SymbolInfo,
    Trade,
    TransferRecord,
    account_key,
    account_label,
    account_of_key,
    isolated_account,
)

__all__ = [
    "CROSS", "SPOT", "AccountSnapshot", "AssetBalance", "DrillControls", "EventListener", "Exchange",
    "ExchangeError", "ExchangeEvent", "ExchangeNotReached", "ExchangeUnavailable", "Fill", "InterestRecord",
    "LiquidationRecord", "Listeners", "LoanRecord", "LoanStatus", "LoanType", "Order", "OrderList", "OrderNotFound",
    "OrderRequest", "OrderStatus", "OrderType", "RateLimited", "Side", "SideEffect", "SymbolInfo", "Trade",
    "TransferRecord", "account_key", "account_label", "account_of_key", "isolated_account", "stop_feeds",
]
