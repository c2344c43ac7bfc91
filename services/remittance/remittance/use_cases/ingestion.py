"""Ingesting an 835 file: each transaction set posted atomically (all of it, or held, or nothing), once.

The same interchange (sender + ISA13 + ST02), or the same payer + TRN02 trace number, again is a duplicate;
a trace number whose remittance was held (or rejected) and never posted is the payer's corrected file
instead: it supersedes that remittance.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rcm_shared.unit import Actor, Unit, Units
from rcm_shared.x12.sets.x835 import Item835, PaymentHeader, PaymentTrailer, iter_835
from sqlalchemy.exc import IntegrityError

from remittance.domain.posting import cents
from remittance.repository.remittances import UNPOSTED, RemittanceRepository
from remittance.repository.reviews import ReviewRepository
from remittance.use_cases.posting import Poster

ACTOR = Actor("inbound")  # an 835 that arrives by itself (the folder, a bench)


@dataclass
class IngestResult:
    remittance_id: str
    status: str  # posted | held | duplicate
    trace_number: str
    payer_id: str
    claim_count: int
    total_paid_cents: int
    hold_reasons: list[str] = field(default_factory=list)
    supersedes: str | None = None  # the held (or rejected) remittance with the same TRN02 this one corrects


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def take(items: Iterator[Item835], n: int) -> list[Item835]:
    return list(itertools.islice(items, n))


async def ingest_835(
    units: Units,
    path: Path,
    *,
    tenant: str,
    actor: Actor = ACTOR,
    batch_size: int = 500,
    sha256: str | None = None,
) -> list[IngestResult]:
    """Post each 835 transaction set of the file atomically: all of it, or held, or nothing.

    One pass, memory bounded by a batch: each set is balanced as it streams and posted under a savepoint
    (``use_cases.posting``), in a transaction of its own. A file that is not a readable 835 raises X12Error
    in the set where that shows; sets before it are committed.
    """
    units = units
    digest = sha256 if sha256 is not None else await asyncio.to_thread(sha256_of, path)
    results: list[IngestResult] = []
    items = iter_835(path)
    pending: list[Item835] = []
    while True:
        if not pending:
            pending = await asyncio.to_thread(take, items, batch_size)
            if not pending:
                break
        header = pending.pop(0)
        assert isinstance(header, PaymentHeader), header  # iter_835 yields each set's header first
        async with units.write(tenant, actor) as unit:
            poster = Poster(unit, header)
            existing, supersedes = await _start(unit, poster, digest)
            # Consume this transaction set's items from the stream (posting them unless a duplicate).
            while True:
                if not pending:
                    pending = await asyncio.to_thread(take, items, batch_size)
                    if not pending:
                        break
                cut = next((i for i, it in enumerate(pending) if isinstance(it, PaymentTrailer)), None)
                chunk, pending = (pending, []) if cut is None else (pending[: cut + 1], pending[cut + 1 :])
                if existing is None:
                    await poster.post(chunk)
                if cut is not None:
                    break
            if existing is not None:
                results.append(existing)
                continue
            problems = await poster.finish(path)
            results.append(
                IngestResult(
                    poster.id,
                    "held" if problems else "posted",
                    header.trace_number,
                    header.payer_id,
                    poster.totals.claims,
                    cents(header.total_paid),
                    problems,
                    supersedes,
                )
            )
    return results


class _Overtaken(Exception):
    """The held remittance this file corrects was released or corrected meanwhile."""


async def _start(unit: Unit, poster: Poster, digest: str) -> tuple[IngestResult | None, str | None]:
    """The set's remittance row, or the duplicate it is (then nothing of it is posted); with the remittance
    this one supersedes, if it corrects one."""
    h = poster.header
    dup, corrected = await _find_duplicate(unit, h)
    if dup is not None:
        return dup, None
    row: dict[str, Any] = {
        "id": poster.id,
        "tenant_id": unit.tenant,
        "status": "posted",
        "hold_reasons": [],
        "payer_id": h.payer_id,
        "payer_name": h.payer_name,
        "payee_id": h.payee_id,
        "payee_id_qualifier": h.payee_id_qualifier[:4] or None,
        "payee_name": h.payee_name,
        "trace_number": h.trace_number,
        "trace_originator": h.trace_originator,
        "payment_method": h.payment_method,
        "handling_code": h.handling_code,
        "credit_debit": h.credit_debit,
        "total_paid_cents": cents(h.total_paid),
        "plb_total_cents": 0,
        "payment_date": h.payment_date,
        "production_date": h.production_date,
        "sender_id": h.sender_id,
        "interchange_control": h.interchange,
        "transaction_control": h.transaction,
        "claim_count": 0,
        "file_sha256": digest,
        "received_at": poster.now,
        "posted_at": poster.now,
    }
    try:
        async with unit.conn.begin_nested():
            if corrected is not None and not await _supersede(unit, corrected, poster.id, poster.now):
                raise _Overtaken
            await RemittanceRepository.of(unit).add(row)
    except (IntegrityError, _Overtaken):  # a concurrent upload (or release) of this payment won the race
        dup, _corrected = await _find_duplicate(unit, h)
        if dup is None:  # another correction of the same held set came first: this one corrects it
            return await _start(unit, poster, digest)
        return dup, None
    await poster.begin()
    return None, corrected


async def _find_duplicate(unit: Unit, h: PaymentHeader) -> tuple[IngestResult | None, str | None]:
    """A duplicate of this set (the same interchange, or the same TRN02 of a remittance not held or
    rejected); else (None, the held or rejected remittance this set corrects, if any)."""
    this_file = (h.sender_id, h.interchange, h.transaction)
    found = await RemittanceRepository.of(unit).same_payment(*this_file, h.payer_id, h.trace_number)
    row = next(
        (
            f
            for f in found
            if (f.sender_id, f.interchange_control, f.transaction_control) == this_file or f.status not in UNPOSTED
        ),
        None,
    )
    if row is None:
        return None, found[0].id if found else None
    return IngestResult(
        row.id,
        "duplicate",
        row.trace_number,
        row.payer_id,
        row.claim_count,
        row.total_paid_cents,
        list(row.hold_reasons),
    ), None


async def _supersede(unit: Unit, remittance_id: str, by: str, now: datetime) -> bool:
    """The held (or rejected) remittance steps aside for the payer's corrected 835; False if it no longer
    can (a release or another correction came first)."""
    if not await RemittanceRepository.of(unit).supersede(remittance_id, by):
        return False
    await ReviewRepository.of(unit).resolve_hold(remittance_id, f"superseded by the payer's corrected 835 {by}", now)
    return True
