"""The HL7 interfaces' tables of one tenant: messages handled, registrations (patients and coverages),
encounters and their charges; every query scoped by the unit's tenant (but the worker's look for due
encounters, which spans them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from rcm_shared.db import bulk_insert, bulk_update
from rcm_shared.errors import NotFound
from rcm_shared.unit import Unit
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from claims.domain import hl7 as h
from claims.models import charge_master_item, hl7_charge, hl7_coverage, hl7_encounter, hl7_message, hl7_patient

# open: charges gathering; released: a claim bills them; pending: released, and its claim is still to follow
# the charges received since (``use_cases.hl7_follow``)
OPEN, RELEASED, PENDING = "open", "released", "pending"
MERGE_HOPS = 10  # how far a chain of A40 merges is followed


def person_json(p: h.Person | None) -> dict[str, Any] | None:
    if p is None:
        return None
    values = asdict(p)
    values["birth_date"] = p.birth_date.isoformat() if p.birth_date else None
    return values


def person_of(values: dict[str, Any] | None) -> h.Person | None:
    if not values:
        return None
    address = values.get("address")
    birth = values.get("birth_date")
    return h.Person(
        **{
            **values,
            "birth_date": date.fromisoformat(birth) if birth else None,
            "address": h.Address(**address) if address else None,
        }
    )


class Hl7Repository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    # messages handled

    async def handled(self, sender: str, control_id: str) -> Any:
        params = {"tenant": self.tenant, "sender": sender[:200], "control_id": control_id[:199]}
        return (await self.conn.execute(_HANDLED, params)).first()

    async def record_message(self, head: h.Header, ack_code: str, ack: str) -> None:
        row = {
            "tenant_id": self.tenant,
            "sender": head.sender[:200],
            "control_id": head.control_id[:199],
            "message_type": head.message_type[:20],
            "ack_code": ack_code,
            "ack": ack,
            "received_at": datetime.now(UTC),
        }
        await bulk_insert(self.conn, hl7_message, [row])

    # registrations

    async def save_registration(self, reg: h.Registration, control_id: str) -> None:
        """The patient's demographics (and guarantor when sent) written over; its coverages replaced when
        the message carries IN1 segments."""
        now = datetime.now(UTC)
        values = {
            "tenant_id": self.tenant,
            "mrn": reg.mrn,
            "person": person_json(reg.patient),
            "guarantor": person_json(reg.guarantor),
            "control_id": control_id[:199],
            "created_at": now,
            "updated_at": now,
        }
        await self.conn.execute(_upsert_patient(self.conn.dialect.name, reg.guarantor is not None), values)
        if reg.coverages is not None:
            c = hl7_coverage.c
            await self.conn.execute(delete(hl7_coverage).where(and_(c.tenant_id == self.tenant, c.mrn == reg.mrn)))
            rows = [
                {
                    "tenant_id": self.tenant,
                    "mrn": reg.mrn,
                    "position": position,
                    "payer_id": cov.payer_id[:80],
                    "payer_name": (cov.payer_name or "")[:60] or None,
                    "member_id": cov.member_id[:80],
                    "group_number": (cov.group_number or "")[:50] or None,
                    "relationship": cov.relationship,
                    "insured": person_json(cov.insured),
                }
                for position, cov in enumerate(reg.coverages, start=1)
            ]
            await bulk_insert(self.conn, hl7_coverage, rows)

    async def registration(self, mrn: str) -> tuple[Any, list[h.Coverage]] | None:
        """The patient's row and coverages (primary first), None when not registered."""
        p = hl7_patient.c
        row = (
            await self.conn.execute(select(hl7_patient).where(and_(p.tenant_id == self.tenant, p.mrn == mrn)))
        ).first()
        if row is None:
            return None
        c = hl7_coverage.c
        stmt = select(hl7_coverage).where(and_(c.tenant_id == self.tenant, c.mrn == mrn)).order_by(c.position)
        coverages = [
            h.Coverage(
                set_id=r.position,
                payer_id=r.payer_id,
                payer_name=r.payer_name,
                member_id=r.member_id,
                group_number=r.group_number,
                relationship=r.relationship,
                insured=person_of(r.insured),
            )
            for r in await self.conn.execute(stmt)
        ]
        return row, coverages

    async def merge(self, old_mrn: str, into_mrn: str) -> int:
        """The old record points to the surviving one; its open encounters move there. Returns how many."""
        p, e = hl7_patient.c, hl7_encounter.c
        await self.conn.execute(
            update(hl7_patient)
            .where(and_(p.tenant_id == self.tenant, p.mrn == old_mrn))
            .values(merged_into=into_mrn, updated_at=datetime.now(UTC))
        )
        moved = await self.conn.execute(
            update(hl7_encounter)
            .where(and_(e.tenant_id == self.tenant, e.mrn == old_mrn, e.state == OPEN))
            .values(mrn=into_mrn, updated_at=datetime.now(UTC))
        )
        return int(moved.rowcount or 0)

    async def merged_chain(self, mrn: str) -> list[str]:
        """The MRN and the records it was merged into, in turn (A40s), up to ``MERGE_HOPS``."""
        p = hl7_patient.c
        chain = [mrn]
        while len(chain) <= MERGE_HOPS:
            stmt = select(p.merged_into).where(and_(p.tenant_id == self.tenant, p.mrn == chain[-1]))
            into = (await self.conn.execute(stmt)).scalar()
            if not into or into in chain:
                break
            chain.append(str(into))
        return chain

    async def same_patient(self, mrn: str, other: str) -> bool:
        """Whether two MRNs are one patient: one was merged into the other, or both into a third."""
        return bool(set(await self.merged_chain(mrn)) & set(await self.merged_chain(other)))

    async def retry_problems(self, mrn: str) -> None:
        """The patient's encounters that could not make or follow their claim are tried again by the worker's
        next pass: the registration they may have lacked has changed."""
        e = hl7_encounter.c
        await self.conn.execute(
            update(hl7_encounter)
            .where(
                and_(
                    e.tenant_id == self.tenant,
                    e.mrn == mrn,
                    e.state.in_((OPEN, PENDING)),
                    e.problem.is_not(None),
                )
            )
            .values(due_on=datetime.now(UTC).date(), updated_at=datetime.now(UTC))
        )

    # encounters and charges

    def _locking(self) -> bool:
        return bool(self.conn.dialect.name == "postgresql")

    async def encounter_of_visit(self, visit_number: str) -> Any:
        stmt = _VISIT_LOCKED if self._locking() else _VISIT
        return (await self.conn.execute(stmt, {"tenant": self.tenant, "visit": visit_number})).first()

    async def encounter(self, encounter_id: str, *, lock: bool = False) -> Any:
        e = hl7_encounter.c
        stmt = select(hl7_encounter).where(and_(e.tenant_id == self.tenant, e.id == encounter_id))
        row = (await self.conn.execute(stmt.with_for_update() if lock and self._locking() else stmt)).first()
        if row is None:
            raise NotFound(f"no encounter {encounter_id}")
        return row

    async def open_encounter(
        self, encounter_id: str, visit_number: str, mrn: str, facility_id: str | None, due_on: date | None
    ) -> None:
        now = datetime.now(UTC)
        row = {
            "tenant_id": self.tenant,
            "id": encounter_id,
            "visit_number": visit_number[:80],
            "mrn": mrn,
            "facility_id": (facility_id or "")[:50] or None,
            "state": OPEN,
            "due_on": due_on,
            "claim_id": None,
            "problem": None,
            "created_at": now,
            "updated_at": now,
            "released_at": None,
        }
        await bulk_insert(self.conn, hl7_encounter, [row])

    async def update_encounter(self, encounter_id: str, **values: Any) -> None:
        params = {**values, "updated_at": datetime.now(UTC), "tenant": self.tenant, "encounter": encounter_id}
        await self.conn.execute(_UPDATE_ENCOUNTER, params)

    async def charge_master_codes(self, codes: Collection[str]) -> list[tuple[str, date, date | None]]:
        """(code, effective_from, effective_to) of every charge-master version of these codes (a statement a
        code: the same compiled statement each time, where an IN list of varying length is built again)."""
        out: list[tuple[str, date, date | None]] = []
        for code in sorted(codes):
            rows = await self.conn.execute(_CODE_VERSIONS, {"tenant": self.tenant, "code": code})
            out += [(code, r[0], r[1]) for r in rows]
        return out

    async def encounters(self, state: str | None, mrn: str | None, limit: int, offset: int) -> list[Any]:
        e = hl7_encounter.c
        cond = [e.tenant_id == self.tenant]
        if state:
            cond.append(e.state == state)
        if mrn:
            cond.append(e.mrn == mrn)
        stmt = select(hl7_encounter).where(and_(*cond)).order_by(e.created_at, e.id).limit(limit).offset(offset)
        return list(await self.conn.execute(stmt))

    async def add_charges(self, rows: Sequence[dict[str, Any]]) -> None:
        """New charges (each with its id and reversed units), received now."""
        if rows:
            now = datetime.now(UTC)
            await bulk_insert(
                self.conn, hl7_charge, [{**row, "tenant_id": self.tenant, "received_at": now} for row in rows]
            )

    async def charges(self, encounter_id: str) -> list[Any]:
        """The encounter's charges in the order received."""
        c = hl7_charge.c
        stmt = (
            select(hl7_charge)
            .where(and_(c.tenant_id == self.tenant, c.encounter_id == encounter_id))
            .order_by(c.received_at, c.control_id, c.set_id)
        )
        return list(await self.conn.execute(stmt))

    async def set_reversed(self, reversed_milli: dict[str, int]) -> None:
        if not reversed_milli:
            return
        rows = [{"tenant_id": self.tenant, "id": k, "reversed_milli": v} for k, v in reversed_milli.items()]
        await bulk_update(self.conn, hl7_charge, ["tenant_id", "id"], rows)


_m, _e = hl7_message.c, hl7_encounter.c
_HANDLED = select(_m.ack, _m.ack_code).where(
    and_(
        _m.tenant_id == bindparam("tenant"), _m.sender == bindparam("sender"), _m.control_id == bindparam("control_id")
    )
)
_VISIT = select(hl7_encounter).where(and_(_e.tenant_id == bindparam("tenant"), _e.visit_number == bindparam("visit")))
_VISIT_LOCKED = _VISIT.with_for_update()
_cm = charge_master_item.c
_CODE_VERSIONS = select(_cm.effective_from, _cm.effective_to).where(
    and_(_cm.tenant_id == bindparam("tenant"), _cm.code == bindparam("code"))
)
_UPDATE_ENCOUNTER = update(hl7_encounter).where(
    and_(_e.tenant_id == bindparam("tenant"), _e.id == bindparam("encounter"))
)


@cache
def _upsert_patient(dialect: str, guarantor: bool) -> Any:
    """INSERT ... ON CONFLICT (tenant, mrn) DO UPDATE of the demographics (and the guarantor when sent), built
    once per dialect: the statement takes its values as parameters."""
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(hl7_patient)
    changed = ["control_id", "person", "updated_at", *(["guarantor"] if guarantor else [])]
    return stmt.on_conflict_do_update(index_elements=["tenant_id", "mrn"], set_={k: stmt.excluded[k] for k in changed})


async def due_encounters(conn: AsyncConnection, today: date, limit: int) -> list[tuple[str, str, str]]:
    """(tenant, encounter id, state) of the open encounters whose hold ends by today and the pending ones
    due for their claim to follow, across tenants, oldest first."""
    e = hl7_encounter.c
    stmt = (
        select(e.tenant_id, e.id, e.state)
        .where(and_(e.state.in_((OPEN, PENDING)), e.due_on <= today))
        .order_by(e.due_on, e.created_at)
        .limit(limit)
    )
    return [(str(t), str(i), str(s)) for t, i, s in await conn.execute(stmt)]
