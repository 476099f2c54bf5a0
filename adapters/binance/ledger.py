"""Loans, transfers and the account's records: borrow-repay, universal transfer, their histories.

Why it exists: this is where python-binance's removed methods would be tempting (`create_margin_loan`,
`repay_margin_loan`, `transfer_spot_to_margin`, `transfer_spot_to_isolated_margin` all call
endpoints Binance removed in 2024). Only the live ones are used: `margin_borrow_repay`
(`POST /sapi/v1/margin/borrow-repay`, records from its GET) and `universal_transfer`
(`POST /sapi/v1/asset/transfer`, spot ↔ isolated as two hops through cross). Histories are read
in the spans Binance accepts (≤ 30 days) and every page. A loan has no client id, so an unknown
outcome is reconciled from its records; one this process sent moments ago is waited for a little
before its absence is believed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from chatbot.exchange import (
    CROSS,
    SPOT,
    ExchangeError,
    ExchangeUnavailable,
    InterestRecord,
    LiquidationRecord,
    LoanRecord,
    LoanType,
    TransferRecord,
)

from . import wire
from .transport import Transport

WINDOW = timedelta(days=30)  # Binance's longest span for borrow-repay and interest queries
PAGE = 100
Hop = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Consistency:
    """How long "not found" is doubted for something this process sent (reliability.md §7.3)."""

    recent_seconds: float = 120.0
    checks: int = 3
    spacing: float = 5.0


def hops(from_account: str, to_account: str) -> list[Hop]:
    """Universal-transfer legs between SPOT, CROSS and ISOLATED:<symbol> (no direct spot ↔ isolated type)."""
    src, dst = from_account.upper(), to_account.upper()
    src_sym = src.split(":", 1)[1] if src.startswith("ISOLATED:") else None
    dst_sym = dst.split(":", 1)[1] if dst.startswith("ISOLATED:") else None
    into: Hop = ("MARGIN_ISOLATEDMARGIN", {"toSymbol": dst_sym or ""})
    out_of: Hop = ("ISOLATEDMARGIN_MARGIN", {"fromSymbol": src_sym or ""})
    table: dict[tuple[str, str], list[Hop]] = {
        (SPOT, CROSS): [("MAIN_MARGIN", {})], (CROSS, SPOT): [("MARGIN_MAIN", {})],
        (CROSS, "ISO"): [into], ("ISO", CROSS): [out_of],
        (SPOT, "ISO"): [("MAIN_MARGIN", {}), into], ("ISO", SPOT): [out_of, ("MARGIN_MAIN", {})],
        ("ISO", "ISO"): [("ISOLATEDMARGIN_ISOLATEDMARGIN", {"fromSymbol": src_sym or "", "toSymbol": dst_sym or ""})],
    }
    legs = table.get(("ISO" if src_sym else src, "ISO" if dst_sym else dst))
    if not legs or src == dst:
        raise ExchangeError(-1102, f"cannot transfer from {from_account} to {to_account}")
    return legs


UNDO: dict[str, str] = {"MAIN_MARGIN": "MARGIN_MAIN", "ISOLATEDMARGIN_MARGIN": "MARGIN_ISOLATEDMARGIN"}


class Ledger:
    def __init__(self, transport: Transport, consistency: Consistency) -> None:
        self.t = transport
        self.client = transport.client
        self.consistency = consistency
        self.loan_sends: dict[tuple[str, str, str | None], int] = {}  # (type, asset, symbol) -> exchange ms
        self.loan_locks: dict[tuple[str, str | None], asyncio.Lock] = {}

    # ------------------------------------------------------------------ paging

    async def pages(self, fn: Any, what: str, params: dict[str, Any]) -> list[wire.Json]:
        rows: list[wire.Json] = []
        page = 1
        while True:
            answer = await self.t.read(fn, what=what, **params, current=page, size=PAGE)
            chunk = list(answer.get("rows") or [])
            rows.extend(chunk)
            if len(chunk) < PAGE or len(rows) >= int(answer.get("total", 0)):
                return rows
            page += 1

    async def windows(self, fn: Any, what: str, params: dict[str, Any], start: datetime | None,
                      end: datetime | None) -> list[wire.Json]:
        """Query [start, end] in spans Binance accepts (≤ 30 days each), every page of each."""
        if start is None:
            return await self.pages(fn, what, params | ({"endTime": wire.ms(end)} if end else {}))
        stop = end or self.t.now() + timedelta(minutes=1)
        rows: list[wire.Json] = []
        lo = start
        while lo <= stop:
            hi = min(stop, lo + WINDOW - timedelta(milliseconds=1))
            rows.extend(await self.pages(fn, what, params | {"startTime": wire.ms(lo), "endTime": wire.ms(hi)}))
            lo = hi + timedelta(milliseconds=1)
        return rows

    # ------------------------------------------------------------------ loans

    async def loan(self, kind: str, asset: str, amount: Decimal, iso: str | None) -> int:
        """One borrow or repay at a time per (account, asset): a loan has no client id, so two in flight
        at once could not be told apart in the records if both answers were lost."""
        params: dict[str, Any] = {"asset": asset, "amount": wire.amount(amount), "type": kind,
                                  "isIsolated": wire.flag(iso is not None)} | ({"symbol": iso} if iso else {})
        async with self.loan_locks.setdefault((asset, iso), asyncio.Lock()):
            self.loan_sends[(kind, asset, iso)] = self.t.now_ms()
            answer = await self.t.write(self.client.margin_borrow_repay, what="POST /sapi/v1/margin/borrow-repay",
                                        **params)
        return int(wire.field(answer, "tranId"))

    async def loan_records(self, kind: LoanType, *, asset: str | None, iso: str | None, tx_id: int | None,
                           start: datetime | None, end: datetime | None) -> list[LoanRecord]:
        params: dict[str, Any] = {"type": kind.value}
        params |= {"asset": asset} if asset else {}
        params |= {"isolatedSymbol": iso} if iso else {}
        params |= {"txId": tx_id} if tx_id is not None else {}
        sent = self.loan_sends.get((kind.value, asset, iso)) if asset and tx_id is None else None
        checks = 1
        while True:
            rows = await self.windows(self.client.margin_get_borrow_repay_records,
                                      "GET /sapi/v1/margin/borrow-repay", params, start, end)
            records = sorted((wire.loan(r, kind) for r in rows), key=lambda r: (r.time, r.tx_id), reverse=True)
            waiting = sent is not None and self.t.now_ms() - sent < self.consistency.recent_seconds * 1000 and \
                not any(wire.ms(r.time) >= sent - 5000 for r in records)
            if not waiting or checks >= self.consistency.checks:
                return records
            checks += 1  # a loan sent moments ago may not be listed yet
            await asyncio.sleep(self.consistency.spacing)

    # ------------------------------------------------------------------ transfers

    async def _hop(self, hop: Hop, asset: str, amount: Decimal) -> int:
        kind, extra = hop
        answer = await self.t.write(self.client.universal_transfer, what=f"POST /sapi/v1/asset/transfer {kind}",
                                    type=kind, asset=asset, amount=wire.amount(amount), **extra)
        return int(wire.field(answer, "tranId"))

    async def transfer(self, asset: str, amount: Decimal, from_account: str, to_account: str) -> int:
        legs = hops(from_account, to_account)
        tx = await self._hop(legs[0], asset, amount)
        if len(legs) == 1:
            return tx
        try:
            return await self._hop(legs[1], asset, amount)
        except ExchangeError as exc:
            first_kind, first_extra = legs[0]
            undo: Hop = (UNDO[first_kind], {"toSymbol": first_extra["fromSymbol"]} if first_extra else {})
            try:
                await self._hop(undo, asset, amount)
            except (ExchangeError, ExchangeUnavailable):
                raise ExchangeUnavailable(f"the second leg was refused ({exc.msg}) and undoing the first failed: "
                                          f"{amount} {asset} is in the cross margin account") from exc
            raise ExchangeError(exc.code, f"{exc.msg} (the first leg was undone; nothing moved)") from exc
        except ExchangeUnavailable as exc:
            raise ExchangeUnavailable(f"{exc}; {amount} {asset} is in cross margin or already in {to_account}") \
                from exc

    async def transfer_records(self, *, asset: str | None, account: str | None, start: datetime | None,
                               end: datetime | None) -> list[TransferRecord]:
        params: dict[str, Any] = {"asset": asset} if asset else {}
        if account and account.startswith("ISOLATED:"):
            params["isolatedSymbol"] = account.split(":", 1)[1]
        rows = await self.windows(self.client.get_margin_transfer_history, "GET /sapi/v1/margin/transfer", params,
                                  start, end)
        return sorted((wire.transfer(r) for r in rows), key=lambda r: (r.time, r.tx_id), reverse=True)

    # ------------------------------------------------------------------ interest & liquidations

    async def interest_history(self, *, asset: str | None, iso: str | None, start: datetime | None,
                               end: datetime | None) -> list[InterestRecord]:
        params = ({"asset": asset} if asset else {}) | ({"isolatedSymbol": iso} if iso else {})
        rows = await self.windows(self.client.get_margin_interest_history, "GET /sapi/v1/margin/interestHistory",
                                  params, start, end)
        return sorted((wire.interest(r) for r in rows), key=lambda r: (r.time, r.tx_id), reverse=True)

    async def liquidation_records(self, *, iso: str | None, start: datetime | None,
                                  end: datetime | None) -> list[LiquidationRecord]:
        params: dict[str, Any] = {"isolatedSymbol": iso} if iso else {}
        params |= ({"startTime": wire.ms(start)} if start else {}) | ({"endTime": wire.ms(end)} if end else {})
        rows = await self.pages(self.client.get_margin_force_liquidation_rec,
                                "GET /sapi/v1/margin/forceLiquidationRec", params)
        records = [wire.liquidation(r) for r in rows if bool(r.get("isIsolated")) == (iso is not None)]
        return sorted(records, key=lambda r: (r.time, r.order_id), reverse=True)
