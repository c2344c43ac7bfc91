"""All the SQL of the eligibility service: checks, batches, the practice profiles and the X12 control numbers,
every query scoped by the unit's tenant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from rcm_shared.audit import AuditEntry, append_many
from rcm_shared.db import bulk_insert, per_engine
from rcm_shared.unit import Unit
from rcm_shared.x12.control import ControlBlocks
from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eligibility.models import audit as audit_table
from eligibility.models import (
    bus,
    control_number,
    eligibility_batch,
    eligibility_batch_item,
    eligibility_check,
    practice_profile,
)

CONTROL_KINDS = ("ISA", "GS", "ST")

_c, _b, _i, _p = eligibility_check.c, eligibility_batch.c, eligibility_batch_item.c, practice_profile.c
# Built once: a statement built per request spends more CPU on SQLAlchemy's expression building and cache key
# than the query itself takes.
_CACHED = (
    select(eligibility_check)
    .where(
        _c.tenant_id == bindparam("tenant"),
        _c.payer_id == bindparam("payer"),
        _c.member_id == bindparam("member"),
        _c.service_date == bindparam("service_date"),
        _c.service_types == bindparam("service_types"),
        _c.asked_for == bindparam("asked_for"),
        _c.status == "active",
        _c.created_at >= bindparam("since"),
    )
    .order_by(_c.created_at.desc())
    .limit(1)
)


@dataclass(frozen=True)
class NewCheck:
    """What one check stores: its row, its event's outbox row and, for a request's new check, the request's
    audit row (committed with them: one commit, not two)."""

    check: dict[str, Any]
    outbox: dict[str, Any]
    audit: AuditEntry | None = None


async def store_checks(conn: AsyncConnection, checks: list[NewCheck]) -> Sequence[Any]:
    """The checks' rows, their events and audit rows, in one statement per table; the stored rows, in order (as
    the values written: every column is given, none is changed by the database)."""
    await bulk_insert(conn, eligibility_check, [c.check for c in checks])
    await bulk_insert(conn, bus.outbox, [c.outbox for c in checks])
    entries = [c.audit for c in checks if c.audit is not None]
    if entries:
        await append_many(conn, audit_table, entries)
    return [SimpleNamespace(**c.check) for c in checks]


async def draw_control_numbers(engine: AsyncEngine) -> dict[str, int]:
    """The interchange, group and transaction set control numbers of one 270, from the process's reserved block."""
    blocks = per_engine(engine, "eligibility-controls", lambda: ControlBlocks(engine, control_number, CONTROL_KINDS))
    drawn: dict[str, int] = await blocks.take()
    return drawn


@dataclass(frozen=True)
class CheckQuery:
    """A search of the tenant's checks, newest first (created_at, then id, descending): each given condition
    holds (a list: any of its values); ``after`` is the (created_at, id) of the last check of the page before."""

    patient_ids: list[str] | None = None
    check_ids: list[str] | None = None
    created_from: datetime | None = None  # created_at >= this
    created_before: datetime | None = None  # created_at < this
    after: tuple[datetime, str] | None = None
    limit: int = 20


class EligibilityRepository:
    """The checks, batches and practice profiles of the unit's tenant."""

    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    # -- checks ------------------------------------------------------------------------------------------
    async def recent_answer(
        self, payer: str, member: str, service_date: date, service_types: str, whose: str, since: datetime
    ) -> Any | None:
        """The newest active answer to the same question asked since ``since``."""
        params = {
            "tenant": self.tenant,
            "payer": payer,
            "member": member,
            "service_date": service_date,
            "service_types": service_types,
            "asked_for": whose,
            "since": since,
        }
        return (await self.conn.execute(_CACHED, params)).first()

    async def check(self, check_id: str) -> Any | None:
        return (
            await self.conn.execute(
                select(eligibility_check).where(and_(_c.tenant_id == self.tenant, _c.id == check_id))
            )
        ).first()

    async def checks_of(self, member: str, payer: str | None, limit: int) -> list[Any]:
        cond = [_c.tenant_id == self.tenant, _c.member_id == member]
        if payer:
            cond.append(_c.payer_id == payer)
        rows = await self.conn.execute(
            select(eligibility_check).where(and_(*cond)).order_by(_c.created_at.desc()).limit(limit)
        )
        return list(rows)

    async def search(self, query: CheckQuery) -> list[Any]:
        """The checks ``query`` asks for, newest first, at most ``query.limit``."""
        cond = [_c.tenant_id == self.tenant]
        if query.patient_ids is not None:
            cond.append(_c.patient_id.in_(query.patient_ids))
        if query.check_ids is not None:
            cond.append(_c.id.in_(query.check_ids))
        if query.created_from is not None:
            cond.append(_c.created_at >= query.created_from)
        if query.created_before is not None:
            cond.append(_c.created_at < query.created_before)
        if query.after is not None:
            moment, last_id = query.after
            cond.append(or_(_c.created_at < moment, and_(_c.created_at == moment, _c.id < last_id)))
        rows = await self.conn.execute(
            select(eligibility_check).where(and_(*cond)).order_by(_c.created_at.desc(), _c.id.desc()).limit(query.limit)
        )
        return list(rows)

    # -- batches -----------------------------------------------------------------------------------------
    async def add_batch(self, batch_id: str, created_at: datetime, items: list[dict[str, Any]]) -> None:
        await self.conn.execute(
            insert(eligibility_batch).values(
                id=batch_id, tenant_id=self.tenant, status="running", total=len(items), created_at=created_at
            )
        )
        await self.conn.execute(insert(eligibility_batch_item), [{"batch_id": batch_id, **item} for item in items])

    async def batch(self, batch_id: str) -> Any | None:
        return (
            await self.conn.execute(
                select(eligibility_batch).where(and_(_b.tenant_id == self.tenant, _b.id == batch_id))
            )
        ).first()

    async def batch_items(self, batch_id: str, *, pending: bool = False) -> list[Any]:
        """The items of the tenant's batch in order (only those not run yet, with ``pending``)."""
        ours = exists().where(and_(_b.id == _i.batch_id, _b.tenant_id == self.tenant))
        cond = [_i.batch_id == batch_id, ours]
        if pending:
            cond.append(_i.status == "pending")
        return list(await self.conn.execute(select(eligibility_batch_item).where(and_(*cond)).order_by(_i.position)))

    async def settle_item(self, batch_id: str, position: int, values: dict[str, Any]) -> None:
        ours = exists().where(and_(_b.id == _i.batch_id, _b.tenant_id == self.tenant))
        await self.conn.execute(
            update(eligibility_batch_item)
            .where(and_(_i.batch_id == batch_id, _i.position == position, ours))
            .values(**values)
        )

    async def finish_batch(self, batch_id: str, finished_at: datetime) -> None:
        await self.conn.execute(
            update(eligibility_batch)
            .where(and_(_b.tenant_id == self.tenant, _b.id == batch_id))
            .values(status="done", finished_at=finished_at)
        )

    # -- practice profiles ---------------------------------------------------------------------------------
    async def newest_practice_version(self) -> int | None:
        """The highest version of the tenant's practice profile stored (None before the first)."""
        newest: int | None = (
            await self.conn.execute(select(func.max(_p.version)).where(_p.tenant_id == self.tenant))
        ).scalar()
        return newest

    async def add_practice_profile(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(practice_profile).values(tenant_id=self.tenant, **values))

    async def practice_profile_on(self, day: date) -> Any | None:
        """The newest version of the tenant's practice profile in effect on ``day``; when every version known
        starts later, the earliest one (None when the tenant has none)."""
        mine = _p.tenant_id == self.tenant
        in_effect = select(practice_profile).where(mine, _p.effective_from <= day).order_by(_p.version.desc())
        row = (await self.conn.execute(in_effect.limit(1))).first()
        if row is None:
            row = (await self.conn.execute(select(practice_profile).where(mine).order_by(_p.version).limit(1))).first()
        return row
