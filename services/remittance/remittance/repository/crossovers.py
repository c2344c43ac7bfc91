"""Forwarded claim payments (crossovers) and the crossover payers' answers to them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rcm_shared.db import filter_only
from rcm_shared.x12.sets.x835 import FORWARDED
from sqlalchemy import and_, select, update

from remittance.domain.crossover import ANSWERED, PENDING, PRIOR_PAYER, PRIOR_PAYER_GROUPS, RELEASED
from remittance.domain.posting import PATIENT_TYPES, REVERSAL
from remittance.models import claim_payment, ledger_entry, remittance
from remittance.repository import Repository


class CrossoverRepository(Repository):
    async def waiting(self, claim_ids: Sequence[str], payer_id: str) -> list[Any]:
        """The forwarded payments of these claims that another payer than ``payer_id`` forwarded and that no
        crossover answer has come for yet (id, claim id, crossover state, payer), oldest first.

        On PostgreSQL the payments are locked until the posting commits: a statement run's late release
        cannot bill a share this answer is about to take over (it skips them), and one that did first makes
        this read wait for it and see the payment released (its share is then taken back)."""
        cp, r = claim_payment.c, remittance.c
        found: list[Any] = []
        ids = list(set(claim_ids))
        for start in range(0, len(ids), 500):
            stmt = (
                select(cp.id, cp.claim_id, cp.crossover_state, r.payer_id)
                .join(remittance, r.id == cp.remittance_id)
                .where(
                    and_(
                        cp.tenant_id == self.tenant,
                        cp.claim_id.in_(ids[start : start + 500]),
                        cp.crossover_state.in_((PENDING, RELEASED)),
                        cp.reversed_by.is_(None),
                        r.payer_id != payer_id,
                    )
                )
                .order_by(cp.posted_at, cp.id)
            )
            if self.conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(of=claim_payment)
            found.extend(await self.conn.execute(stmt))
        return found

    async def patient_share(self, payment_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
        """The patient responsibility the payer's CAS gave each of these claim payments, as (entry type, cents)
        in ledger order; the offsets posted without a CAS group are not the payer's word and stay out."""
        le = ledger_entry.c
        found: dict[str, list[tuple[str, int]]] = {i: [] for i in payment_ids}
        for payment_id, entry_type, amount in await self.conn.execute(
            select(le.claim_payment_id, le.entry_type, le.amount_cents)
            .where(
                and_(
                    filter_only(le.tenant_id) == self.tenant,
                    le.claim_payment_id.in_(payment_ids),
                    le.entry_type.in_(PATIENT_TYPES),
                    le.group_code.is_not(None),
                )
            )
            .order_by(le.id)
        ):
            if amount:
                found[payment_id].append((entry_type, amount))
        return found

    async def standing_payments(self, claim_ids: list[str], payer_id: str) -> list[Any]:
        """Payments of these claims from other payers than ``payer_id`` that may be a crossover's answer: no
        reversal, no forward, answering nothing yet, not reversed (id, claim id, payer), oldest first."""
        cp, r = claim_payment.c, remittance.c
        rows = await self.conn.execute(
            select(cp.id, cp.claim_id, r.payer_id)
            .join(remittance, r.id == cp.remittance_id)
            .where(
                and_(
                    cp.tenant_id == self.tenant,
                    cp.claim_id.in_(claim_ids),
                    cp.status_code.not_in((REVERSAL, *FORWARDED)),
                    cp.reversed_by.is_(None),
                    cp.crossover_of.is_(None),
                    r.payer_id != payer_id,
                )
            )
            .order_by(cp.posted_at, cp.id)
        )
        return list(rows)

    async def prior_payer_entries(self, payment_ids: list[str]) -> list[Any]:
        """(claim payment id, entry type, cents) of their CARC 23 entries, in ledger order."""
        le = ledger_entry.c
        rows = await self.conn.execute(
            select(le.claim_payment_id, le.entry_type, le.amount_cents)
            .where(
                and_(
                    filter_only(le.tenant_id) == self.tenant,
                    le.claim_payment_id.in_(payment_ids),
                    le.reason_code == PRIOR_PAYER,
                    le.group_code.in_(PRIOR_PAYER_GROUPS),
                )
            )
            .order_by(le.id)
        )
        return list(rows)

    async def answer(self, forwarded_id: str, was: str, answer_id: str) -> bool:
        """The forwarded payment answered (from state ``was``) by ``answer_id``; False if it is no longer ``was``."""
        cp = claim_payment.c
        scope = filter_only(cp.tenant_id) == self.tenant
        moved = await self.conn.execute(
            update(claim_payment)
            .where(and_(scope, cp.id == forwarded_id, cp.crossover_state == was))
            .values(crossover_state=ANSWERED)
        )
        if moved.rowcount != 1:
            return False
        await self.conn.execute(
            update(claim_payment).where(and_(scope, cp.id == answer_id)).values(crossover_of=forwarded_id)
        )
        return True

    async def pending(self) -> list[Any]:
        """The forwarded payments still pending, with their payment date."""
        cp, r = claim_payment.c, remittance.c
        rows = await self.conn.execute(
            select(
                cp.id,
                cp.claim_id,
                cp.remittance_id,
                cp.status_code,
                cp.paid_cents,
                cp.charge_cents,
                cp.posted_at,
                r.payment_date,
            )
            .join(remittance, r.id == cp.remittance_id)
            .where(and_(cp.tenant_id == self.tenant, cp.crossover_state == PENDING, cp.reversed_by.is_(None)))
        )
        return list(rows)

    async def release(self, ids: list[str]) -> set[str]:
        """These pending payments moved to released; the ids this call moved. On PostgreSQL a payment locked
        by a posting (its crossover answer: ``waiting``) or by another run is skipped: the answer takes it
        over, the other run bills it; a run never waits on a posting, so the two cannot deadlock over the
        order they lock payments in."""
        cp = claim_payment.c
        scope = filter_only(cp.tenant_id) == self.tenant
        if self.conn.dialect.name == "postgresql":
            locked = select(cp.id).where(and_(scope, cp.id.in_(ids))).with_for_update(skip_locked=True)
            ids = list((await self.conn.execute(locked)).scalars())
        moved = await self.conn.execute(
            update(claim_payment)
            .where(and_(scope, cp.id.in_(ids), cp.crossover_state == PENDING))
            .values(crossover_state=RELEASED)
            .returning(cp.id)
        )
        return set(moved.scalars())
