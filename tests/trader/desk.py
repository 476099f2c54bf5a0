"""The trader's test desks: two pairs (BTC at 35,000, ETH at 2,000), 20,000 USDT in cross, 5,000 in spot, no fees."""

from __future__ import annotations

from decimal import Decimal

from chatbot.config import PaperConfig

RATES = {"BTC": Decimal("0.00024"), "ETH": Decimal("0.00024"), "USDT": Decimal("0.00024")}
TWO_PAIRS = PaperConfig(prices={"BTCUSDT": Decimal("35000"), "ETHUSDT": Decimal("2000")}, daily_interest_rates=RATES,
                        cross={"USDT": Decimal("20000")}, spot={"USDT": Decimal("5000")}, taker_fee=Decimal("0"),
                        maker_fee=Decimal("0"))


def worked(cross: str, price: str) -> PaperConfig:
    """The issue's worked examples: one pair, `cross` USDT, BTC at `price`, no fees."""
    return PaperConfig(prices={"BTCUSDT": Decimal(price)}, daily_interest_rates=RATES, cross={"USDT": Decimal(cross)},
                       taker_fee=Decimal("0"), maker_fee=Decimal("0"))


# The desk day, step by step: (who, command) and what the answer must say, to the digit.
DESK_DAY: list[tuple[str, str, tuple[str, ...]]] = [
    ("carol", "/long BTCUSDT 1", ("Confirm long 1 BTCUSDT (cross)?",
                                  "Exchange calls: MARKET BUY 1 BTCUSDT MARGIN_BUY")),
    ("carol", "/confirm", ("Done [",)),
    ("carol", "/short ETHUSDT 5", ("Confirm short 5 ETHUSDT (cross)?",)),
    ("carol", "/confirm", ("Done [",)),
    ("dave", "/positions", ("cross · BTC long 1 BTC", "Entry 35,000.00 · mark 35,000.00", "P&L +0.00 USDT",
                            "cross · ETH short 5.00005 ETH", "Entry 2,000.00 · mark 2,000.00",
                            "Interest/day 0.0012 ETH (2.40 USDT), 3.60 USDT")),
    ("alice", "/price BTCUSDT 33000", ("Paper price BTCUSDT = 33,000.00.",)),
    ("alice", "/price ETHUSDT 2200", ("Paper price ETHUSDT = 2,200.00.",)),
    ("dave", "/positions", ("P&L -2,000.00 USDT (-5.71%)", "P&L -1,000.00 USDT (-10.00%)",
                            "Margin call 23,800.34 (-27.88%)", "Liquidation 18,600.29 (-43.64%)")),
    ("dave", "/balance", ("Balances — net 21,999.74 USDT", "spot", "5,000.00", "43,000.00", "26,000.26",
                          "16,999.74")),
    ("carol", "/transfer USDT 5000 spot cross", ("Confirm transfer 5000 USDT spot → cross?",
                                                 "Cross margin level: 1.6538 → 1.8461", "Max from spot: 5000 USDT",
                                                 "Exchange calls: TRANSFER 5000 USDT SPOT → CROSS")),
    ("carol", "/confirm", ("Done [", "transfer 5000 USDT spot → cross", "Margin level now: 1.8461")),
    ("dave", "/balance", ("Balances — net 21,999.74 USDT", "48,000.00", "21,999.74")),
    ("carol", "/close BTCUSDT 50%", ("Confirm close 50% of BTCUSDT (cross)?",
                                     "MARKET SELL 0.50000 BTCUSDT NO_SIDE_EFFECT (cross); REPAY 7500.07500000 USDT")),
    ("carol", "/confirm", ("Realized P&L: -1,000.00 USDT trading",)),
    ("carol", "/close ETHUSDT 50%", ("MARKET BUY 2.50003 ETHUSDT AUTO_REPAY",)),
    ("carol", "/confirm", ("Realized P&L: -500.01 USDT trading",)),
    ("dave", "/positions", ("cross · BTC long 0.5 BTC", "P&L -1,000.00 USDT (-5.71%)", "cross · ETH short 2.50002 ETH",
                            "P&L -499.99 USDT (-10.00%)")),
    ("dave", "/pnl", ("Equity at start: 20,000.00 USDT", "Trading (realized): -1,500.01 USDT", "Interest: 0.15 USDT",
                      "Unrealized: -1,499.99 USDT", "Interest owed: 0.00005 ETH (0.11 USDT)",
                      "Transfers in: +5,000.00 USDT", "Equity now: 21,999.74 USDT")),
    ("carol", "/close BTCUSDT", ("MARKET SELL 0.50000 BTCUSDT AUTO_REPAY",)),
    ("carol", "/confirm", ("Realized P&L: -1,000.00 USDT trading",)),
    ("carol", "/close ETHUSDT", ("MARKET BUY 2.50002 ETHUSDT AUTO_REPAY",)),
    ("carol", "/confirm", ("Realized P&L: -499.99 USDT trading, interest paid 0.11 USDT", "∞ (no debt)")),
    ("dave", "/positions", ("No open positions.",)),
    ("dave", "/pnl", ("Trading (realized): -3,000.00 USDT", "Interest: 0.26 USDT", "Realized net: -3,000.26 USDT",
                      "Unrealized: +0.00 USDT", "Equity now: 21,999.74 USDT")),
    ("dave", "/balance", ("Balances — net 21,999.74 USDT",)),
]
