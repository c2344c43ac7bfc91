"""The reads behind the KPIs, the insurance A/R aging and the follow-up work list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from rcm_shared.unit import Unit
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from claims.domain import state as st
from claims.domain.balance import OPEN_WITH_PAYER
from claims.domain.claim import CROSSOVER_PENDING
from claims.domain.follow_up import NOT_FILED, WAITING, StatusRecord
from claims.models import claim, claim_status_record, claim_transition
from claims.repository.claims import CHUNK


async def open_tenants(conn: AsyncConnection) -> list[str]:
    """The tenants with claims waiting for the payer (the worker's follow-up sweep, over every tenant)."""
    rows = await conn.execute(select(claim.c.tenant_id).where(claim.c.state.in_(WAITING)).distinct())
    return [t for (t,) in rows]


class ReportsRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    # -- KPIs ------------------------------------------------------------------------------------------------
    async def originals(self, since: date | None, until: date | None) -> list[Any]:
        """The original claims (frequency 1) with their first date of service in [since, until]."""
        c = claim.c
        cond = [c.tenant_id == self.tenant, c.frequency == "1"]
        if since:
            cond.append(c.service_from >= since)
        if until:
            cond.append(c.service_from <= until)
        columns = (c.id, c.state, c.charge_cents, c.paid_cents, c.contractual_cents, c.patient_responsibility_cents)
        return list(await self.conn.execute(select(*columns, c.paid_on).where(and_(*cond))))

    async def replacement_money(self, ids: Sequence[str]) -> dict[str, list[int]]:
        """What the replacements (frequency 7) of these claims brought: paid, contractual, patient
        responsibility, by original id."""
        c = claim.c
        replaced: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for start in range(0, len(ids), CHUNK):
            for rep in await self.conn.execute(
                select(c.original_claim_id, c.paid_cents, c.contractual_cents, c.patient_responsibility_cents).where(
                    and_(
                        c.tenant_id == self.tenant,
                        c.frequency == "7",
                        c.original_claim_id.in_(ids[start : start + CHUNK]),
                    )
                )
            ):
                money = replaced[rep.original_claim_id]
                money[0] += rep.paid_cents
                money[1] += rep.contractual_cents
                money[2] += rep.patient_responsibility_cents
        return replaced

    async def transitions(self, ids: Sequence[str]) -> dict[str, list[Any]]:
        """The transitions of these claims, in order, by claim id."""
        t = claim_transition.c
        history: dict[str, list[Any]] = defaultdict(list)
        for start in range(0, len(ids), CHUNK):
            for tr in await self.conn.execute(
                select(t.claim_id, t.from_state, t.to_state, t.reason, t.at)
                .where(and_(t.tenant_id == self.tenant, t.claim_id.in_(ids[start : start + CHUNK])))
                .order_by(t.id)
            ):
                history[tr.claim_id].append(tr)
        return history

    async def open_with_payer(self) -> list[Any]:
        """The amounts of the claims the payer has not finished with; not void claims (frequency 8: they ask the
        payer to take money back, nothing is owed on them)."""
        c = claim.c
        rows = await self.conn.execute(
            select(
                c.payer_id,
                c.state,
                c.service_from,
                c.charge_cents,
                c.paid_cents,
                c.contractual_cents,
                c.patient_responsibility_cents,
                c.patient_transfer_cents,
                c.written_off_cents,
            ).where(and_(c.tenant_id == self.tenant, c.state.in_(OPEN_WITH_PAYER), c.frequency != "8"))
        )
        return list(rows)

    # -- follow-up -------------------------------------------------------------------------------------------
    async def waiting(self, payer_id: str | None) -> list[Any]:
        """The claims the payer has not answered, and those not filed yet (for the timely-filing flag)."""
        c = claim.c
        where = [c.tenant_id == self.tenant, c.state.in_((*WAITING, *NOT_FILED)), c.frequency != "8"]
        if payer_id:
            where.append(c.payer_id == payer_id)
        columns = (c.id, c.payer_id, c.state, c.service_from, c.charge_cents, c.submitted_at)
        return list(await self.conn.execute(select(*columns).where(and_(*where))))

    async def status_records(self, ids: Sequence[str]) -> dict[str, list[StatusRecord]]:
        """The status records of these claims, in order, by claim id."""
        r = claim_status_record.c
        records: dict[str, list[StatusRecord]] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for rec in await self.conn.execute(
                select(r.claim_id, r.source, r.summary, r.codes, r.at)
                .where(and_(r.tenant_id == self.tenant, r.claim_id.in_(chunk)))
                .order_by(r.id)
            ):
                records.setdefault(rec.claim_id, []).append(
                    StatusRecord(rec.source, rec.summary, list(rec.codes), rec.at)
                )
        return records

    async def crossovers_pending(self, payer_id: str | None) -> list[Any]:
        """Adjudicated claims whose crossover payer (of ``payer_id``, if given) has not answered yet."""
        c = claim.c
        crossover = [c.tenant_id == self.tenant, c.crossover_state == CROSSOVER_PENDING]
        if payer_id:
            crossover.append(c.crossover_payer_id == payer_id)
        columns = (c.id, c.payer_id, c.state, c.service_from, c.charge_cents, c.submitted_at, c.adjudicated_at)
        rows = await self.conn.execute(select(*columns, c.paid_on, c.crossover_payer_id).where(and_(*crossover)))
        return [row for row in rows if row.state in st.ADJUDICATED]
