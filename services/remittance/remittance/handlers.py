"""Use cases of the remittance service. One use case, one transaction (per 835 transaction set)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rcm_shared.bus.outbox import Outbox, staged
from rcm_shared.db import bulk_insert, bulk_update, filter_only, write_transaction
from rcm_shared.events import Envelope, EventPayload
from rcm_shared.ids import new_id
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import (
    AdjustmentOut,
    ClaimAdjudicatedV1,
    ClaimReversedV1,
    LinePaymentOut,
    ProviderAdjustedV1,
)
from rcm_shared.x12.sets.x835 import ClaimPayment, Item835, PaymentHeader, PaymentTrailer, ProviderAdjustment, iter_835
from sqlalchemy import and_, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from remittance import crossover
from remittance.domain.posting import (
    CONTRACTUAL,
    PATIENT_TYPES,
    PROVIDER_ADJUSTMENT,
    REVERSAL,
    Totals,
    cents,
    check_claim,
    check_payment,
    check_plb,
    claim_entries,
    patient_responsibility_cents,
)
from remittance.models import (
    NOT_SUPERSEDED,
    billed_claim,
    billed_line,
    bus,
    claim_payment,
    deposit,
    held_set,
    ledger_entry,
    provider_adjustment,
    remittance,
    review_item,
    service_payment,
)
from remittance.patients import PatientShare, post_patient_share, post_shares
from remittance.x12 import held_set_x12

SOURCE = "/remittance"


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


def _take(items: Iterator[Item835], n: int) -> list[Item835]:
    return list(itertools.islice(items, n))


async def ingest_835(
    engine: AsyncEngine,
    path: Path,
    *,
    tenant: str,
    batch_size: int = 500,
    sha256: str | None = None,
    topic_prefix: str = "",
) -> list[IngestResult]:
    """Post each 835 transaction set of the file atomically: all of it, or held, or nothing.

    One pass, memory bounded by a batch: each set is balanced as it streams and posted under a
    savepoint; a set that does not balance (a claim or line on its way, BPR02 at its end) is rolled
    back to that savepoint and held with its reasons, so nothing of it stays posted. A file that is not
    a readable 835 raises X12Error in the set where that shows; sets before it are committed.
    """
    digest = sha256 if sha256 is not None else await asyncio.to_thread(sha256_of, path)
    results: list[IngestResult] = []
    items = iter_835(path)
    pending: list[Item835] = []
    while True:
        if not pending:
            pending = await asyncio.to_thread(_take, items, batch_size)
            if not pending:
                break
        header = pending.pop(0)
        assert isinstance(header, PaymentHeader), header  # iter_835 yields each set's header first
        poster = _Poster(tenant, header, digest, Outbox(bus, topic_prefix))
        async with write_transaction(engine) as conn:
            existing = await poster.start(conn)
            # Consume this transaction set's items from the stream (posting them unless a duplicate).
            while True:
                if not pending:
                    pending = await asyncio.to_thread(_take, items, batch_size)
                    if not pending:
                        break
                cut = next((i for i, it in enumerate(pending) if isinstance(it, PaymentTrailer)), None)
                chunk, pending = (pending, []) if cut is None else (pending[: cut + 1], pending[cut + 1 :])
                if existing is None:
                    await poster.post(conn, chunk)
                if cut is not None:
                    break
            results.append(existing if existing is not None else await poster.finish(conn, path))
    return results


class _Overtaken(Exception):
    """The held remittance this file corrects was released or corrected meanwhile."""


class _Poster:
    # whether this set's payments may be the originals of reversals posted before them (a held set released
    # after the payer's reversal of one of its payments came: that reversal found no original then)
    pairs_earlier_reversals = False

    def __init__(self, tenant: str, header: PaymentHeader, digest: str, outbox: Outbox) -> None:
        self.outbox = outbox
        self.tenant = tenant
        self.header = header
        self.digest = digest
        self.id = new_id()
        self.now = datetime.now(UTC)
        self.totals = Totals()
        self.postings: AsyncTransaction | None = None  # the savepoint everything posted from this set is under
        self.held = False
        self.plb_total = 0
        self.supersedes: str | None = None

    async def start(self, conn: AsyncConnection) -> IngestResult | None:
        h = self.header
        dup, corrected = await _find_duplicate(conn, self.tenant, h)
        if dup is not None:
            return dup
        row = {
            "id": self.id,
            "tenant_id": self.tenant,
            "status": "posted",
            "hold_reasons": [],
            "payer_id": h.payer_id,
            "payer_name": h.payer_name,
            "payee_id": h.payee_id,
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
            "file_sha256": self.digest,
            "received_at": self.now,
            "posted_at": self.now,
        }
        try:
            async with conn.begin_nested():
                if corrected is not None and not await _supersede(conn, self.tenant, corrected, self.id, self.now):
                    raise _Overtaken
                await conn.execute(insert(remittance).values(**row))
        except (IntegrityError, _Overtaken):  # a concurrent upload (or release) of this payment won the race
            dup, _corrected = await _find_duplicate(conn, self.tenant, h)
            if dup is None:  # another correction of the same held set came first: this one corrects it
                return await self.start(conn)
            return dup
        self.supersedes = corrected
        self.postings = await conn.begin_nested()
        return None

    async def _hold(self) -> None:
        """Undo every posting of this set (its ledger rows, events and review items): it will be held."""
        if not self.held:
            assert self.postings is not None
            await self.postings.rollback()
            self.held = True

    async def post(self, conn: AsyncConnection, chunk: Sequence[Item835]) -> None:
        claims = [i for i in chunk if isinstance(i, ClaimPayment)]
        plbs = [i for i in chunk if isinstance(i, ProviderAdjustment)]
        for c in claims:
            check_claim(c, self.totals)
        for p in plbs:
            check_plb(p, self.totals)
        if self.totals.problems:
            await self._hold()  # keep counting (the hold names every problem), post nothing more
        if self.held:
            return
        if claims:
            await self._post_claims(conn, claims)
        if plbs:
            await self._post_plbs(conn, plbs)

    async def _post_claims(self, conn: AsyncConnection, claims: list[ClaimPayment]) -> None:
        tenant, now = self.tenant, self.now
        billed = await _billed(conn, tenant, [c.patient_control_number for c in claims])
        waiting = await crossover.waiting(
            conn, tenant, [c.patient_control_number for c in claims], self.header.payer_id
        )
        early = await crossover.answered_already(conn, tenant, claims, self.header.payer_id)
        entries = [claim_entries(c) for c in claims]
        rows = []
        claim_ids = [new_id() for _ in claims]
        for c, es, cp_id in zip(claims, entries, claim_ids, strict=True):
            rows.append(
                {
                    "id": cp_id,
                    "tenant_id": tenant,
                    "remittance_id": self.id,
                    "claim_id": c.patient_control_number,
                    "payer_claim_control_number": c.payer_claim_control_number,
                    "status_code": c.status,
                    "charge_cents": cents(c.charge),
                    "paid_cents": cents(c.paid),
                    "patient_responsibility_cents": patient_responsibility_cents(es),
                    "filing_indicator": c.filing_indicator,
                    "frequency": c.frequency,
                    "remarks": " ".join(c.remarks)[:200],
                    "matched": c.patient_control_number in billed,
                    "reversal_of": None,
                    "reversed_by": None,
                    "posted_at": now,
                    **_held_name(c, c.patient_control_number in billed),
                    **crossover.row_values(c),
                }
            )
        await bulk_insert(conn, claim_payment, rows)
        reversed_already = (
            await self._pair_earlier_reversals(conn, claims, claim_ids) if self.pairs_earlier_reversals else set()
        )
        line_rows: list[dict[str, Any]] = []
        reviews: list[dict[str, Any]] = []
        for c, cp_id in zip(claims, claim_ids, strict=True):
            used: set[int] = set()
            for n, s in enumerate(c.services, start=1):
                billed_id, method = _match_line(billed.get(c.patient_control_number, []), s, used)
                code = s.original_procedure.code if s.original_procedure else s.procedure.code
                line_rows.append(
                    {
                        "id": new_id(),
                        "tenant_id": tenant,
                        "claim_payment_id": cp_id,
                        "line_number": n,
                        "line_control_number": s.line_control_number,
                        "procedure_code": s.procedure.code,
                        "modifiers": " ".join(s.procedure.modifiers),
                        "original_procedure_code": s.original_procedure.code if s.original_procedure else None,
                        "charge_cents": cents(s.charge),
                        "paid_cents": cents(s.paid),
                        "allowed_cents": cents(s.amounts["B6"]) if "B6" in s.amounts else None,
                        "units": str(s.units) if s.units is not None else None,
                        "original_units": str(s.original_units) if s.original_units is not None else None,
                        "service_date": s.service_date,
                        "billed_line_id": billed_id,
                        "match_method": method,
                    }
                )
                if billed_id is None and c.patient_control_number in billed:
                    reviews.append(
                        _review_row(
                            tenant,
                            self.id,
                            "unmatched_line",
                            c.patient_control_number,
                            f"line {n} ({code}) matches no billed line",
                            now,
                        )
                    )
        line_ids = [row["id"] for row in line_rows]
        if line_rows:
            await bulk_insert(conn, service_payment, line_rows)
        ledger_rows = []
        line_cursor = 0
        events: list[tuple[Envelope, str, str | None]] = []
        answered: dict[str, str] = {}  # forwarded payment -> the crossover payer's answer to it
        taken_back: list[PatientShare] = []
        for c, es, cp_id in zip(claims, entries, claim_ids, strict=True):
            first_line = line_cursor
            line_cursor += len(c.services)
            forwarded = waiting.get(c.patient_control_number)
            is_answer = forwarded is not None and crossover.answers(c, forwarded) and forwarded.id not in answered
            posted = es
            answered_first = early.get(c.patient_control_number) if c.forwarded else None
            if answered_first is not None and answered_first.id not in answered.values():
                # the crossover payer's 835 came first (this one was held): answered, nothing to wait for
                answered[cp_id] = answered_first.id
                posted = es + crossover.early_offsets(es, answered_first)
            elif is_answer:
                assert forwarded is not None
                answered[forwarded.id] = cp_id
                posted = es + crossover.offsets(c, es, forwarded)
                if (share := crossover.taken_back(c, self.id, forwarded)) is not None:
                    taken_back.append(share)
            for e in posted:
                ledger_rows.append(
                    {
                        "tenant_id": tenant,
                        "remittance_id": self.id,
                        "claim_payment_id": cp_id,
                        "service_payment_id": None if e.line_index is None else line_ids[first_line + e.line_index],
                        "claim_id": c.patient_control_number,
                        "entry_type": e.entry_type,
                        "group_code": e.group_code,
                        "reason_code": e.reason_code,
                        "amount_cents": e.amount_cents,
                    }
                )
            matched = c.patient_control_number in billed
            if not matched:
                reviews.append(
                    _review_row(
                        tenant,
                        self.id,
                        "unmatched_claim",
                        c.patient_control_number,
                        f"no billed claim {c.patient_control_number} is known; payment posted to it",
                        now,
                    )
                )
            if c.status == REVERSAL:
                events.append(await self._reversal(conn, c, cp_id))
            events.append(self._adjudicated_event(c, es, matched, is_answer, cp_id in reversed_already))
        if ledger_rows:
            await bulk_insert(conn, ledger_entry, ledger_rows)
        await bulk_insert(conn, review_item, reviews)
        # a payment its reversal already took back leaves the patient nothing (the reversal took nothing back)
        standing = [i for i, cp_id in enumerate(claim_ids) if cp_id not in reversed_already]
        await post_patient_share(
            conn,
            self.outbox,
            tenant,
            self.id,
            [claims[i] for i in standing],
            [entries[i] for i in standing],
            [claim_ids[i] for i in standing],
            now,
        )
        if taken_back:
            await post_shares(conn, self.outbox, tenant, taken_back, now)
        await crossover.mark_answered(conn, answered, {f.id: f.state for f in waiting.values()})
        await self.outbox.add_many(conn, events)

    def _event(self, payload: EventPayload, key: str) -> tuple[Envelope, str, str]:
        return staged(payload, source=SOURCE, tenant_id=self.tenant, key=key)

    def _adjudicated_event(
        self,
        c: ClaimPayment,
        es: list[Any],
        matched: bool,
        crossover_answer: bool = False,
        reversed_already: bool = False,
    ) -> tuple[Envelope, str, str | None]:
        payload = ClaimAdjudicatedV1(
            remittance_id=self.id,
            claim_id=c.patient_control_number,
            payer_id=self.header.payer_id,
            payer_claim_control_number=c.payer_claim_control_number,
            status_code=c.status,
            charge_cents=cents(c.charge),
            paid_cents=cents(c.paid),
            patient_responsibility_cents=patient_responsibility_cents(es),
            contractual_cents=sum(e.amount_cents for e in es if e.entry_type == CONTRACTUAL),
            adjustments=[
                AdjustmentOut(
                    group=e.group_code,
                    reason=e.reason_code,
                    amount_cents=e.amount_cents,
                    line_number=None if e.line_index is None else e.line_index + 1,
                )
                for e in es
                if e.group_code
            ],
            remarks=c.remarks + [code for s in c.services for _q, code in s.remarks],
            lines=[
                LinePaymentOut(
                    line_number=n,
                    line_control_number=s.line_control_number,
                    procedure_code=s.procedure.code,
                    charge_cents=cents(s.charge),
                    paid_cents=cents(s.paid),
                    allowed_cents=cents(s.amounts["B6"]) if "B6" in s.amounts else None,
                    remarks=[code for _q, code in s.remarks],
                )
                for n, s in enumerate(c.services, start=1)
            ],
            payment_date=self.header.payment_date,
            matched=matched,
            crossover_payer_id=c.crossover_carrier.get("id") if c.forwarded else None,
            crossover_payer_name=c.crossover_carrier.get("name") if c.forwarded else None,
            crossover_answer=crossover_answer,
            reversed_already=reversed_already,
        )
        key = c.patient_control_number
        return self._event(payload, key)

    async def _reversal(self, conn: AsyncConnection, c: ClaimPayment, cp_id: str) -> tuple[Envelope, str, str | None]:
        """Pair a CLP02=22 reversal with the original posting of the same payer claim control number: the one
        it negates (the same amount) first, then one from an earlier 835 (a payer that keeps the claim number
        sends the corrected payment in the reversal's own 835, right after it), then the latest."""
        cp = claim_payment.c
        original = (
            await conn.execute(
                select(cp.id, cp.remittance_id)
                .where(
                    and_(
                        cp.tenant_id == self.tenant,
                        cp.claim_id == c.patient_control_number,
                        cp.payer_claim_control_number == c.payer_claim_control_number,
                        cp.status_code != REVERSAL,
                        cp.reversed_by.is_(None),
                    )
                )
                .order_by(
                    case((cp.paid_cents == -cents(c.paid), 0), else_=1),
                    case((cp.remittance_id == self.id, 1), else_=0),
                    cp.posted_at.desc(),
                )
                .limit(1)
            )
        ).first()
        if original is None:
            await _review(
                conn,
                self.tenant,
                self.id,
                "unpaired_reversal",
                c.patient_control_number,
                f"reversal of payer claim {c.payer_claim_control_number}: no original posting found",
                self.now,
            )
        else:
            await conn.execute(update(claim_payment).where(claim_payment.c.id == original.id).values(reversed_by=cp_id))
            await conn.execute(update(claim_payment).where(claim_payment.c.id == cp_id).values(reversal_of=original.id))
        payload = ClaimReversedV1(
            remittance_id=self.id,
            claim_id=c.patient_control_number,
            payer_id=self.header.payer_id,
            payer_claim_control_number=c.payer_claim_control_number,
            reversed_paid_cents=cents(c.paid),
            reversed_charge_cents=cents(c.charge),
            original_remittance_id=original.remittance_id if original is not None else None,
        )
        return self._event(payload, c.patient_control_number)

    async def _pair_earlier_reversals(
        self, conn: AsyncConnection, claims: list[ClaimPayment], claim_ids: list[str]
    ) -> set[str]:
        """Pair this set's payments with the payer's reversals of them that were posted first and found no
        original (same claim, payer claim number and amount): the pair is marked as ``_reversal`` marks one,
        and the reversal's review item resolved. Claims applied the reversal's money when it came, so no
        event is emitted again: the payment's own adjudication (marked ``reversed_already``) nets with it
        there, leaving the state and patient share the reversal set. Returns the payment ids paired."""
        cp, v = claim_payment.c, review_item.c
        wanted = {
            (c.patient_control_number, c.payer_claim_control_number, -cents(c.paid)): cp_id
            for c, cp_id in zip(claims, claim_ids, strict=True)
            if c.status != REVERSAL
        }
        if not wanted:
            return set()
        found = await conn.execute(
            select(cp.id, cp.remittance_id, cp.claim_id, cp.payer_claim_control_number, cp.paid_cents)
            .where(
                and_(
                    cp.tenant_id == self.tenant,
                    cp.claim_id.in_(list({claim_id for claim_id, _n, _p in wanted})),
                    cp.status_code == REVERSAL,
                    cp.reversal_of.is_(None),
                    cp.remittance_id != self.id,
                )
            )
            .order_by(cp.posted_at, cp.id)
        )
        paired: dict[str, Any] = {}
        for r in found:
            payment = wanted.pop((r.claim_id, r.payer_claim_control_number, r.paid_cents), None)
            if payment is not None:
                paired[payment] = r
        for payment, r in paired.items():
            await conn.execute(update(claim_payment).where(cp.id == payment).values(reversed_by=r.id))
            await conn.execute(update(claim_payment).where(cp.id == r.id).values(reversal_of=payment))
            await conn.execute(
                update(review_item)
                .where(
                    and_(
                        v.tenant_id == self.tenant,
                        v.remittance_id == r.remittance_id,
                        v.claim_id == r.claim_id,
                        v.kind == "unpaired_reversal",
                        v.status == "open",
                    )
                )
                .values(
                    status="resolved",
                    resolved_at=self.now,
                    note=f"paired with its original, released from held remittance {self.id}",
                )
            )
        return set(paired)

    async def _post_plbs(self, conn: AsyncConnection, plbs: list[ProviderAdjustment]) -> None:
        refs = {p.reference for p in plbs if p.reference}
        linked: dict[str, str] = {}
        cp = claim_payment.c
        for column in (cp.payer_claim_control_number, cp.claim_id) if refs else ():  # one index each
            rows = await conn.execute(
                select(cp.claim_id, cp.payer_claim_control_number).where(
                    and_(cp.tenant_id == self.tenant, column.in_(refs))
                )
            )
            for claim_id, pccn in rows:
                linked[pccn] = claim_id
                linked[claim_id] = claim_id
        events: list[tuple[Envelope, str, str | None]] = []
        for p in plbs:
            amount = cents(p.amount)
            self.plb_total += amount
            claim_id = linked.get(p.reference)
            await conn.execute(
                insert(provider_adjustment).values(
                    tenant_id=self.tenant,
                    remittance_id=self.id,
                    provider_id=p.provider_id,
                    fiscal_period_end=p.fiscal_period_end,
                    reason=p.reason,
                    reference=p.reference,
                    amount_cents=amount,
                    claim_id=claim_id,
                )
            )
            await conn.execute(
                insert(ledger_entry).values(
                    tenant_id=self.tenant,
                    remittance_id=self.id,
                    claim_payment_id=None,
                    service_payment_id=None,
                    claim_id=claim_id,
                    entry_type=PROVIDER_ADJUSTMENT,
                    group_code=None,
                    reason_code=p.reason,
                    amount_cents=-amount,
                )
            )
            payload = ProviderAdjustedV1(
                remittance_id=self.id,
                provider_id=p.provider_id,
                reason=p.reason,
                reference=p.reference,
                amount_cents=amount,
                claim_id=claim_id,
            )
            events.append(self._event(payload, self.id))
        await self.outbox.add_many(conn, events)

    async def finish(self, conn: AsyncConnection, source: Path) -> IngestResult:
        h = self.header
        problems = check_payment(h, self.totals)
        if problems:
            await self._hold()
            signed = -h.total_paid if h.credit_debit == "D" else h.total_paid
            await conn.execute(
                update(remittance)
                .where(remittance.c.id == self.id)
                .values(
                    status="held",
                    hold_reasons=problems,
                    posted_at=None,
                    claim_count=self.totals.claims,
                    # to the cent for the reviewer: a held set may carry an amount finer than a cent
                    imbalance_cents=int(((signed - self.totals.paid + self.totals.plb) * 100).to_integral_value()),
                )
            )
            x12 = await asyncio.to_thread(held_set_x12, source, h.sender_id, h.interchange, h.transaction)
            await conn.execute(
                insert(held_set).values(remittance_id=self.id, tenant_id=self.tenant, x12_zlib=x12, created_at=self.now)
            )
            await conn.execute(
                insert(review_item).values(
                    tenant_id=self.tenant,
                    remittance_id=self.id,
                    kind="unbalanced",
                    claim_id=None,
                    detail="; ".join(problems),
                    status="open",
                    created_at=self.now,
                )
            )
        else:
            assert self.postings is not None
            await self.postings.commit()
            await conn.execute(
                update(remittance)
                .where(remittance.c.id == self.id)
                .values(plb_total_cents=self.plb_total, claim_count=self.totals.claims)
            )
            await _match_deposit_for(conn, self.tenant, self.id, h.trace_number, cents(h.total_paid))
        return IngestResult(
            self.id,
            "held" if problems else "posted",
            h.trace_number,
            h.payer_id,
            self.totals.claims,
            cents(h.total_paid),
            problems,
            self.supersedes,
        )


UNPOSTED = ("held", "rejected")  # a remittance the payer's corrected 835 (same TRN02) supersedes


async def _find_duplicate(
    conn: AsyncConnection, tenant: str, h: PaymentHeader
) -> tuple[IngestResult | None, str | None]:
    """The same interchange (sender + ISA13 + ST02), or the same payer + TRN02 trace number, again: a
    duplicate. A trace number whose remittance was held (or rejected) and never posted is the payer's
    corrected file instead: (None, the remittance it supersedes)."""
    r = remittance.c
    this_file = (h.sender_id, h.interchange, h.transaction)
    same_file = (
        (r.sender_id == this_file[0])
        & (r.interchange_control == this_file[1])
        & (r.transaction_control == this_file[2])
    )
    same_trace = (r.payer_id == h.payer_id) & (r.trace_number == h.trace_number) & NOT_SUPERSEDED
    found = (await conn.execute(select(remittance).where(and_(r.tenant_id == tenant, same_file | same_trace)))).all()
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


async def _supersede(conn: AsyncConnection, tenant: str, remittance_id: str, by: str, now: datetime) -> bool:
    """The held (or rejected) remittance steps aside for the payer's corrected 835; False if it no longer
    can (a release or another correction came first)."""
    r = remittance.c
    done = await conn.execute(
        update(remittance)
        .where(and_(r.tenant_id == tenant, r.id == remittance_id, r.status.in_(UNPOSTED)))
        .values(status="superseded", superseded_by=by)
    )
    if done.rowcount != 1:
        return False
    await resolve_hold(conn, tenant, remittance_id, f"superseded by the payer's corrected 835 {by}", now)
    return True


async def resolve_hold(conn: AsyncConnection, tenant: str, remittance_id: str, note: str, now: datetime) -> None:
    """The review item that says a remittance is held, resolved with what became of it."""
    v = review_item.c
    await conn.execute(
        update(review_item)
        .where(
            and_(v.tenant_id == tenant, v.remittance_id == remittance_id, v.kind == "unbalanced", v.status == "open")
        )
        .values(status="resolved", resolved_at=now, note=note)
    )


async def _billed(conn: AsyncConnection, tenant: str, claim_ids: list[str]) -> dict[str, list[Any]]:
    rows = (
        await conn.execute(
            select(billed_claim.c.id, billed_claim.c.claim_id).where(
                and_(billed_claim.c.tenant_id == tenant, billed_claim.c.claim_id.in_(set(claim_ids)))
            )
        )
    ).all()
    out: dict[str, list[Any]] = {claim_id: [] for _id, claim_id in rows}
    by_id = {row_id: claim_id for row_id, claim_id in rows}
    if by_id:
        lines = await conn.execute(select(billed_line).where(billed_line.c.billed_claim_id.in_(list(by_id))))
        for line in lines:
            out[by_id[line.billed_claim_id]].append(line)
    return out


def _match_line(billed_lines: list[Any], s: Any, used: set[int]) -> tuple[int | None, str]:
    """REF*6R line control number first; then code (as billed, SVC06 when restated), date and units."""
    if s.line_control_number:
        for line in billed_lines:
            if line.line_control_number == s.line_control_number and line.id not in used:
                used.add(line.id)
                return line.id, "line_control_number"
    code = s.original_procedure.code if s.original_procedure else s.procedure.code
    units = str(s.original_units or s.units) if (s.original_units or s.units) is not None else None
    for line in billed_lines:
        if line.id in used or line.procedure_code != code:
            continue
        if s.service_date is not None and line.service_date not in (None, s.service_date):
            continue
        if units is not None and line.units is not None and _num(line.units) != _num(units):
            continue
        used.add(line.id)
        return line.id, "code_date_units"
    return None, "none"


def _num(text: str) -> str:
    try:
        return str(Decimal(text).normalize())
    except InvalidOperation:
        return text


def _held_name(c: ClaimPayment, matched: bool) -> dict[str, str | None]:
    """The patient's name, kept on a payment for a claim not known yet (see ``reconcile_late_claims``)."""
    last = None if matched else (c.patient.get("last") or None)
    return {"held_patient_last_name": last, "held_patient_first_name": c.patient.get("first") if last else None}


def _review_row(
    tenant: str, remittance_id: str | None, kind: str, claim_id: str | None, detail: str, now: datetime
) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "remittance_id": remittance_id,
        "kind": kind,
        "claim_id": claim_id,
        "detail": detail,
        "status": "open",
        "created_at": now,
    }


async def _review(
    conn: AsyncConnection,
    tenant: str,
    remittance_id: str | None,
    kind: str,
    claim_id: str | None,
    detail: str,
    now: datetime,
) -> None:
    await conn.execute(insert(review_item).values(_review_row(tenant, remittance_id, kind, claim_id, detail, now)))


async def _match_deposit_for(conn: AsyncConnection, tenant: str, remittance_id: str, trace: str, amount: int) -> None:
    await conn.execute(
        update(deposit)
        .where(
            and_(
                deposit.c.tenant_id == tenant,
                deposit.c.trace_number == trace,
                deposit.c.amount_cents == amount,
                deposit.c.remittance_id.is_(None),
            )
        )
        .values(remittance_id=remittance_id)
    )


# -- deposits -----------------------------------------------------------------------------------------
@dataclass
class DepositResult:
    id: str
    trace_number: str
    amount_cents: int
    deposit_date: date
    remittance_id: str | None
    created: bool


async def record_deposit(
    engine: AsyncEngine, *, tenant: str, trace_number: str, amount_cents: int, deposit_date: date
) -> DepositResult:
    """A bank deposit (EFT or check), matched to the remittance with the same trace number and amount."""
    async with write_transaction(engine) as conn:
        existing = (
            await conn.execute(
                select(deposit).where(and_(deposit.c.tenant_id == tenant, deposit.c.trace_number == trace_number))
            )
        ).first()
        if existing is not None:
            return DepositResult(
                existing.id,
                existing.trace_number,
                existing.amount_cents,
                existing.deposit_date,
                existing.remittance_id,
                created=False,
            )
        match = (
            await conn.execute(
                select(remittance.c.id).where(
                    and_(
                        remittance.c.tenant_id == tenant,
                        remittance.c.trace_number == trace_number,
                        remittance.c.total_paid_cents == amount_cents,
                        remittance.c.status == "posted",
                    )
                )
            )
        ).scalar()
        deposit_id = new_id()
        await conn.execute(
            insert(deposit).values(
                id=deposit_id,
                tenant_id=tenant,
                trace_number=trace_number,
                amount_cents=amount_cents,
                deposit_date=deposit_date,
                remittance_id=match,
                created_at=datetime.now(UTC),
            )
        )
        return DepositResult(deposit_id, trace_number, amount_cents, deposit_date, match, created=True)


# -- events consumed ----------------------------------------------------------------------------------
async def on_claim_status_changed(
    conn: AsyncConnection, tenant: str, event: ClaimStatusChangedV1, topic_prefix: str = ""
) -> None:
    """Remember what was billed (claim and lines) so that 835 payments can be matched to it."""
    await on_claim_status_changes(conn, [(tenant, event)], topic_prefix)


async def on_claim_status_changes(
    conn: AsyncConnection, events: Sequence[tuple[str, ClaimStatusChangedV1]], topic_prefix: str = ""
) -> None:
    """``on_claim_status_changed`` for (tenant, event) pairs in order, in six statements whatever their
    number: the claims' rows are read at once, every event is applied to them in memory, and the result is
    written back (new rows inserted, changed rows updated, the lines of a claim replaced by those of its
    last event that has lines: ``_store_billed_lines``). Payments that came before their claim's lines are
    then reconciled."""
    if not events:
        return
    now = datetime.now(UTC)
    claim_ids = {event.claim_id for _tenant, event in events}
    tenants = {tenant for tenant, _event in events}  # the unique index is (tenant, claim)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    found_rows = await conn.execute(
        select(billed_claim).where(and_(billed_claim.c.tenant_id.in_(tenants), billed_claim.c.claim_id.in_(claim_ids)))
    )
    for found in found_rows.mappings():
        rows[(found["tenant_id"], found["claim_id"])] = dict(found)
    stored = set(rows)
    lines: dict[tuple[str, str], list[Any]] = {}
    for tenant, event in events:
        key = (tenant, event.claim_id)
        dates = [line.service_date for line in event.lines if line.service_date]
        patient = {
            "patient_account": event.patient_account,
            "next_payer_id": event.next_payer_id,
            "original_claim_id": event.original_claim_id,
        }
        row = rows.get(key)
        if row is None:
            rows[key] = {
                "tenant_id": tenant,
                "claim_id": event.claim_id,
                "payer_id": event.payer_id,
                "charge_cents": event.charge_cents or 0,
                "state": event.new_state,
                "updated_at": now,
                "service_from": min(dates) if dates else None,
                **patient,
            }
        else:
            row.update(state=event.new_state, updated_at=now)
            if event.charge_cents is not None:
                row["charge_cents"] = event.charge_cents
            if event.patient_account:
                row.update(patient)
            if dates:
                row["service_from"] = min(dates)
        if event.lines:
            lines[key] = event.lines
    fresh = [row for key, row in rows.items() if key not in stored]
    if fresh:
        inserted = await conn.execute(
            insert(billed_claim).returning(billed_claim.c.id, billed_claim.c.tenant_id, billed_claim.c.claim_id),
            fresh,
        )
        for row_id, tenant, claim_id in inserted:
            rows[(tenant, claim_id)]["id"] = row_id
    touched = [key for _tenant, event in events if (key := (_tenant, event.claim_id)) in stored]
    if touched:
        columns = [c.name for c in billed_claim.c if c.name not in ("id", "tenant_id", "claim_id")]
        await bulk_update(
            conn,
            billed_claim,
            ("id",),
            [{"id": rows[key]["id"], **{c: rows[key][c] for c in columns}} for key in dict.fromkeys(touched)],
        )
    if lines:
        await _store_billed_lines(conn, {key: (rows[key]["id"], billed) for key, billed in lines.items()})
        late: dict[str, set[str]] = {}
        for tenant, claim_id in lines:
            late.setdefault(tenant, set()).add(claim_id)
        await reconcile_late_claims(conn, late, Outbox(bus, topic_prefix), now)


async def _store_billed_lines(conn: AsyncConnection, lines: dict[tuple[str, str], tuple[int, list[Any]]]) -> None:
    """Each claim's billed lines ((tenant, claim id) -> billed claim id and the lines of its last submission)
    in place of those stored.

    A claim is billed again after a rejection, its lines perhaps edited; a payment may already be matched to
    its earlier lines (a payer paying what its clearinghouse rejected). So a line keeps its row, and its id,
    where its line control number is the same (its fields updated), and a line no longer billed is removed
    unless a payment is matched to it: that line stays, as billed then. A claim billed for the first time
    (the usual case) costs one SELECT that finds nothing, and the insert."""
    b = billed_line.c
    claim_of = {row_id: key for key, (row_id, _billed) in lines.items()}
    stored: dict[tuple[int, str], int] = {}
    gone: dict[int, tuple[str, str]] = {}  # stored line -> its claim, until billed again
    for row_id, billed_claim_id, control in await conn.execute(
        select(b.id, b.billed_claim_id, b.line_control_number).where(b.billed_claim_id.in_(list(claim_of)))
    ):
        gone[row_id] = claim_of[billed_claim_id]
        if control is not None:
            stored.setdefault((billed_claim_id, control), row_id)
    new, changed = [], []
    for billed_claim_id, billed in lines.values():
        for line in billed:
            values = {
                "line_control_number": line.line_control_number,
                "procedure_code": line.procedure_code,
                "service_date": line.service_date,
                "units": line.units,
                "charge_cents": line.charge_cents,
            }
            row_id = stored.get((billed_claim_id, line.line_control_number))
            if row_id in gone:  # the same line billed again (not twice in one submission)
                del gone[row_id]
                changed.append({"id": row_id, **values})
            else:
                new.append({"billed_claim_id": billed_claim_id, **values})
    if gone:
        # the payments of those claims (found by claim: no index on the line a payment is matched to)
        cp, sp = claim_payment.c, service_payment.c
        for tenant in {tenant for tenant, _claim in gone.values()}:
            claims = list({claim for t, claim in gone.values() if t == tenant})
            paid = await conn.scalars(
                select(sp.billed_line_id)
                .join(claim_payment, cp.id == sp.claim_payment_id)
                .where(and_(cp.tenant_id == tenant, cp.claim_id.in_(claims), sp.billed_line_id.in_(list(gone))))
            )
            for row_id in paid:
                gone.pop(row_id, None)
    if gone:
        await conn.execute(delete(billed_line).where(b.id.in_(list(gone))))
    if changed:
        await bulk_update(conn, billed_line, ("id",), changed)
    await bulk_insert(conn, billed_line, new)


async def reconcile_late_claims(
    conn: AsyncConnection, claims: dict[str, set[str]], outbox: Outbox, now: datetime
) -> None:
    """Payments posted before their claim was known here (the 835 came before the claim's own events: a fast
    payer, or this worker behind), matched once the claim and its lines are (``claims``: tenant -> ids).

    The payment is marked matched, its lines matched to the billed lines (REF*6R, then code, date and
    units as stored), the patient's share it held is posted to the claim's patient account, and the review
    items that said so are resolved with a note. Claims with no open review item cost one query.
    """
    r, cp, sp, le = review_item.c, claim_payment.c, service_payment.c, ledger_entry.c
    for tenant, ids in claims.items():
        items = (
            await conn.execute(
                select(r.id, r.claim_id, r.kind).where(
                    and_(
                        r.tenant_id == tenant,
                        r.claim_id.in_(ids),
                        filter_only(r.status) == "open",  # found by claim, not among every open item
                        r.kind.in_(("unmatched_claim", "unmatched_line")),
                    )
                )
            )
        ).all()
        if not items:
            continue
        billed = await _billed(conn, tenant, list({item.claim_id for item in items}))
        payments = (
            await conn.execute(
                select(claim_payment)
                .where(and_(cp.tenant_id == tenant, cp.claim_id.in_(list(billed))))
                .order_by(cp.posted_at, cp.id)
            )
        ).all()
        lines_of: dict[str, list[Any]] = {}
        for line in await conn.execute(
            select(service_payment).where(sp.claim_payment_id.in_([p.id for p in payments])).order_by(sp.line_number)
        ):
            lines_of.setdefault(line.claim_payment_id, []).append(line)
        matches, unmatched = [], set()
        for p in payments:
            used = {line.billed_line_id for line in lines_of.get(p.id, []) if line.billed_line_id is not None}
            for line in lines_of.get(p.id, []):
                if line.billed_line_id is not None:
                    continue
                billed_id, method = _match_line(billed[p.claim_id], _stored_service(line), used)
                if billed_id is None:
                    unmatched.add(p.claim_id)
                else:
                    matches.append({"id": line.id, "billed_line_id": billed_id, "match_method": method})
        if matches:
            await bulk_update(conn, service_payment, ("id",), matches)
        late = [p for p in payments if not p.matched]
        if late:
            entries: dict[str, list[tuple[str, int]]] = {p.id: [] for p in late}
            for payment_id, entry_type, amount in await conn.execute(
                select(le.claim_payment_id, le.entry_type, le.amount_cents)
                .where(and_(le.claim_payment_id.in_(list(entries)), le.entry_type.in_(PATIENT_TYPES)))
                .order_by(le.id)
            ):
                if amount:
                    entries[payment_id].append((entry_type, amount))
            shares = [
                PatientShare(
                    p.claim_id,
                    p.id,
                    p.remittance_id,
                    p.status_code,
                    p.paid_cents,
                    p.charge_cents,
                    (p.held_patient_last_name, p.held_patient_first_name) if p.held_patient_last_name else None,
                    entries[p.id],
                )
                for p in late
            ]
            await post_shares(conn, outbox, tenant, shares, now)
            await conn.execute(
                update(claim_payment)
                .where(cp.id.in_([p.id for p in late]))
                .values(matched=True, held_patient_last_name=None, held_patient_first_name=None)
            )
        done = [i.id for i in items if i.kind == "unmatched_claim" or i.claim_id not in unmatched]
        if done:
            await conn.execute(
                update(review_item)
                .where(r.id.in_(done))
                .values(status="resolved", resolved_at=now, note="matched when the claim's billed lines arrived")
            )


def _stored_service(line: Any) -> SimpleNamespace:
    """A stored service payment in the shape ``_match_line`` reads."""
    original = SimpleNamespace(code=line.original_procedure_code) if line.original_procedure_code else None
    return SimpleNamespace(
        line_control_number=line.line_control_number,
        original_procedure=original,
        procedure=SimpleNamespace(code=line.procedure_code),
        original_units=line.original_units,
        units=line.units,
        service_date=line.service_date,
    )
