"""The paper margin exchange: a Binance-faithful simulator behind the `Exchange` port (the default backend).

`await PaperExchange.open(engine, config)` loads or seeds the state in the project database;
`open_exchange(engine, desk, settings)` is the entry point `chatbot.runtime` calls; `PaperBook` is
the synchronous accounting core (also usable by a fake Binance REST server).
"""

from .book import PaperBook
from .exchange import PaperExchange, open_exchange
from .feeds import RandomWalk, SystemClock, WallClock
from .tables import create_tables, paper_tables

__all__ = ["PaperBook", "PaperExchange", "RandomWalk", "SystemClock", "WallClock", "create_tables",
           "open_exchange", "paper_tables"]
