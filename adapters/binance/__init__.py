"""The live Binance margin exchange behind the `Exchange` port (`CHATBOT_EXCHANGE=binance`).

`open_exchange(engine, desk, settings)` is the entry point `chatbot.runtime` calls: it checks the
settings and the API key with Binance (no trading call before that) and returns a
`BinanceExchange` on python-binance's `AsyncClient`. `connect()` is the same with knobs for tests,
benchmarks and `chatbot config check`. Modules: `transport` (client, gate, clock, retries),
`errors`, `gate`, `wire` (Decimal ↔ strings), `reference` (cached filters, pairs, rates, bars),
`accounts` (snapshots), `orders`, `exchange` (the port), `events` (risk stream, band poll),
`startup`.
"""

from .exchange import BinanceExchange
from .ledger import Consistency
from .startup import BinanceOptions, StartupReport, check_connection, connect, open_exchange
from .transport import Timeouts

__all__ = ["BinanceExchange", "BinanceOptions", "Consistency", "StartupReport", "Timeouts", "check_connection",
           "connect", "open_exchange"]
