"""Posting one 835 transaction set: its claim payments, their lines and ledger entries, the patient's share,
reversals and PLBs, and their events; the set's balancing (``domain.posting``) decides whether it is posted
or held.

Everything posted from a set is under one savepoint: a set that does not balance (a claim or line on its
way, BPR02 at its end) is rolled back to it and held with its reasons, so nothing of it stays posted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rcm_shared.events import Envelope
from rcm_shared.ids import new_id
from rcm_shared.unit import Unit
from rcm_shared.x12.sets.x835 import ClaimPayment, Item835, PaymentHeader, ProviderAdjustment
from sqlalchemy.ext.asyncio import AsyncTransaction

from remittance.adapters.x12 import held_set_x12
from remittance.domain import crossover
from remittance.domain.matching import match_line
from remittance.domain.patients import PatientShare
from remittance.domain.posting import (
    PROVIDER_ADJUSTMENT,
    REVERSAL,
    Entry,
    Totals,
    cents,
    check_claim,
    check_payment,
    check_plb,
    claim_entries,
    patient_responsibility_cents,
)
from remittance.repository.billed import BilledRepository
from remittance.repository.deposits import DepositRepository
from remittance.repository.ledger import LedgerRepository
from remittance.repository.remittances import RemittanceRepository
from remittance.repository.reviews import ReviewRepository
from remittance.use_cases import crossovers, events
from remittance.use_cases.patient_ledger import post_patient_share, post_shares
from remittance.use_cases.reversals import pair_earlier_reversals, reversal

Staged = tuple[Envelope, str, str]


class Poster:
    """Posts the items of one transaction set, batch by batch, in the unit of the set."""

    # whether this set's payments may be the originals of reversals posted before them (a held set released
    # after the payer's reversal of one of its payments came: that reversal found no original then)
    pairs_earlier_reversals = False

    def __init__(self, unit: Unit, header: PaymentHeader, remittance_id: str | None = None) -> None:
        self.unit = unit
        self.header = header
        self.id = remittance_id or new_id()
        self.now = datetime.now(UTC)
        self.totals = Totals()
        self.postings: AsyncTransaction | None = None  # the savepoint everything posted from this set is under
        self.held = False
        self.plb_total = 0
        self.ledger = LedgerRepository.of(unit)
        self.reviews = ReviewRepository.of(unit)

    async def begin(self) -> None:
        self.postings = await self.unit.conn.begin_nested()

    async def _hold(self) -> None:
        """Undo every posting of this set (its ledger rows, events and review items): it will be held."""
        if not self.held:
            assert self.postings is not None
            await self.postings.rollback()
            self.held = True

    async def post(self, chunk: Sequence[Item835]) -> None:
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
            await self._post_claims(claims)
        if plbs:
            await self._post_plbs(plbs)

    async def _post_claims(self, claims: list[ClaimPayment]) -> None:
        unit, now = self.unit, self.now
        ids = [c.patient_control_number for c in claims]
        billed = await BilledRepository.of(unit).billed(ids)
        waiting = await crossovers.waiting(unit, ids, self.header.payer_id)
        early = await crossovers.answered_already(unit, claims, self.header.payer_id)
        entries = [claim_entries(c) for c in claims]
        claim_ids = [new_id() for _ in claims]
        await self.ledger.add_claim_payments(
            [
                self._claim_row(c, es, cp_id, c.patient_control_number in billed)
                for c, es, cp_id in zip(claims, entries, claim_ids, strict=True)
            ]
        )
        reversed_already = (
            await pair_earlier_reversals(unit, self.id, claims, claim_ids, now)
            if self.pairs_earlier_reversals
            else set()
        )
        line_rows: list[dict[str, Any]] = []
        reviews: list[dict[str, Any]] = []
        for c, cp_id in zip(claims, claim_ids, strict=True):
            used: set[int] = set()
            for n, s in enumerate(c.services, start=1):
                billed_id, method = match_line(billed.get(c.patient_control_number, []), s, used)
                line_rows.append(self._line_row(cp_id, n, s, billed_id, method))
                if billed_id is None and c.patient_control_number in billed:
                    code = s.original_procedure.code if s.original_procedure else s.procedure.code
                    detail = f"line {n} ({code}) matches no billed line"
                    reviews.append(self.reviews.row(self.id, "unmatched_line", c.patient_control_number, detail, now))
        line_ids = [row["id"] for row in line_rows]
        if line_rows:
            await self.ledger.add_service_payments(line_rows)
        ledger_rows = []
        line_cursor = 0
        staged: list[Staged] = []
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
                line_id = None if e.line_index is None else line_ids[first_line + e.line_index]
                ledger_rows.append(self._entry_row(c, cp_id, line_id, e))
            matched = c.patient_control_number in billed
            if not matched:
                detail = f"no billed claim {c.patient_control_number} is known; payment posted to it"
                reviews.append(self.reviews.row(self.id, "unmatched_claim", c.patient_control_number, detail, now))
            if c.status == REVERSAL:
                original = await reversal(unit, self.id, c, cp_id, now)
                staged.append(
                    unit.event(
                        events.reversed_(self.id, self.header.payer_id, c, original), key=c.patient_control_number
                    )
                )
            payload = events.adjudicated(
                self.id,
                self.header.payer_id,
                self.header.payment_date,
                c,
                es,
                matched,
                is_answer,
                cp_id in reversed_already,
            )
            staged.append(unit.event(payload, key=c.patient_control_number))
        if ledger_rows:
            await self.ledger.add_entries(ledger_rows)
        await self.reviews.add_many(reviews)
        # a payment its reversal already took back leaves the patient nothing (the reversal took nothing back)
        standing = [i for i, cp_id in enumerate(claim_ids) if cp_id not in reversed_already]
        await post_patient_share(
            unit,
            self.id,
            [claims[i] for i in standing],
            [entries[i] for i in standing],
            [claim_ids[i] for i in standing],
            now,
        )
        if taken_back:
            await post_shares(unit, taken_back, now)
        await crossovers.mark_answered(unit, answered, {f.id: f.state for f in waiting.values()})
        await unit.emit_many(staged)

    def _claim_row(self, c: ClaimPayment, es: list[Entry], cp_id: str, matched: bool) -> dict[str, Any]:
        # the patient's name is kept on a payment for a claim not known yet (``matching.reconcile_late_claims``)
        last = None if matched else (c.patient.get("last") or None)
        return {
            "id": cp_id,
            "tenant_id": self.unit.tenant,
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
            "matched": matched,
            "reversal_of": None,
            "reversed_by": None,
            "posted_at": self.now,
            "updated_at": self.now,
            "held_patient_last_name": last,
            "held_patient_first_name": c.patient.get("first") if last else None,
            **crossover.row_values(c),
        }

    def _line_row(self, cp_id: str, n: int, s: Any, billed_id: int | None, method: str) -> dict[str, Any]:
        return {
            "id": new_id(),
            "tenant_id": self.unit.tenant,
            "claim_payment_id": cp_id,
            "line_number": n,
            "line_control_number": s.line_control_number,
            "procedure_qualifier": s.procedure.qualifier[:4] or None,
            "procedure_code": s.procedure.code,
            "modifiers": " ".join(s.procedure.modifiers),
            "revenue_code": s.revenue_code,
            "original_procedure_code": s.original_procedure.code if s.original_procedure else None,
            "charge_cents": cents(s.charge),
            "paid_cents": cents(s.paid),
            "allowed_cents": cents(s.amounts["B6"]) if "B6" in s.amounts else None,
            "units": str(s.units) if s.units is not None else None,
            "original_units": str(s.original_units) if s.original_units is not None else None,
            "service_date": s.service_date,
            "billed_line_id": billed_id,
            "match_method": method,
            "remarks": " ".join(code for qualifier, code in s.remarks if qualifier == "HE")[:200],
        }

    def _entry_row(self, c: ClaimPayment, cp_id: str, line_id: str | None, e: Entry) -> dict[str, Any]:
        return {
            "tenant_id": self.unit.tenant,
            "remittance_id": self.id,
            "claim_payment_id": cp_id,
            "service_payment_id": line_id,
            "claim_id": c.patient_control_number,
            "entry_type": e.entry_type,
            "group_code": e.group_code,
            "reason_code": e.reason_code,
            "amount_cents": e.amount_cents,
        }

    async def _post_plbs(self, plbs: list[ProviderAdjustment]) -> None:
        linked = await self.ledger.claims_by_reference({p.reference for p in plbs if p.reference})
        staged: list[Staged] = []
        for p in plbs:
            amount = cents(p.amount)
            self.plb_total += amount
            claim_id = linked.get(p.reference)
            await self.ledger.add_provider_adjustment(
                remittance_id=self.id,
                provider_id=p.provider_id,
                fiscal_period_end=p.fiscal_period_end,
                reason=p.reason,
                reference=p.reference,
                amount_cents=amount,
                claim_id=claim_id,
            )
            await self.ledger.add_entry(
                remittance_id=self.id,
                claim_payment_id=None,
                service_payment_id=None,
                claim_id=claim_id,
                entry_type=PROVIDER_ADJUSTMENT,
                group_code=None,
                reason_code=p.reason,
                amount_cents=-amount,
            )
            staged.append(self.unit.event(events.provider_adjusted(self.id, p, claim_id), key=self.id))
        await self.unit.emit_many(staged)

    async def close(self) -> None:
        """The posted set's totals on its remittance, and the bank deposit paying it matched."""
        h = self.header
        await RemittanceRepository.of(self.unit).update(
            self.id, plb_total_cents=self.plb_total, claim_count=self.totals.claims
        )
        await DepositRepository.of(self.unit).match(self.id, h.trace_number, cents(h.total_paid))

    async def finish(self, source: Path) -> list[str]:
        """The set's end: posted (its savepoint kept) or held, with its X12 kept for a release. Returns the
        problems that hold it (none: posted)."""
        h = self.header
        problems = check_payment(h, self.totals)
        if not problems:
            assert self.postings is not None
            await self.postings.commit()
            await self.close()
            return []
        await self._hold()
        signed = -h.total_paid if h.credit_debit == "D" else h.total_paid
        remittances = RemittanceRepository.of(self.unit)
        await remittances.update(
            self.id,
            status="held",
            hold_reasons=problems,
            posted_at=None,
            claim_count=self.totals.claims,
            # to the cent for the reviewer: a held set may carry an amount finer than a cent
            imbalance_cents=int(((signed - self.totals.paid + self.totals.plb) * 100).to_integral_value()),
        )
        x12 = await asyncio.to_thread(held_set_x12, source, h.sender_id, h.interchange, h.transaction)
        await remittances.keep_held_set(self.id, x12, self.now)
        await self.reviews.add(self.id, "unbalanced", None, "; ".join(problems), self.now)
        return problems
