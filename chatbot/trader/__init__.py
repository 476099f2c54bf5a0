"""The trader's view: the desk's fills and P&L, transfers, partial closes and orders beyond market.

`tables` (fills, equity marks, tracked orders), `book` (syncing fills from the exchange and replaying
them through `chatbot.pnl`), `plans` (previews of transfers, partial closes, orders and cancels),
`views` (positions, P&L, balances, quotes, interest, rendered for a phone), `watch` (telling a
requester when their order fills or expires).
"""
