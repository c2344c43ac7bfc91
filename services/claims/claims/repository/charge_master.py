"""The charge master of one tenant: its items' versions, scoped by the unit's tenant."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.db import bulk_insert
from rcm_shared.unit import Unit
from sqlalchemy import and_, or_, select, update

from claims.domain.charge_master import Key, NewItem, Version
from claims.models import charge_master_item

CHUNK = 200  # keys per IN list


class ChargeMasterRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant
        self.actor = unit.actor.name

    async def items(self, code: str | None, on: date | None, limit: int, offset: int) -> list[Any]:
        """The items' versions (of one code when given; in effect on a date when given), by code and start."""
        c = charge_master_item.c
        cond = [c.tenant_id == self.tenant]
        if code:
            cond.append(c.code == code)
        if on is not None:
            cond += [c.effective_from <= on, or_(c.effective_to.is_(None), c.effective_to >= on)]
        stmt = (
            select(charge_master_item)
            .where(and_(*cond))
            .order_by(c.code, c.modifiers, c.effective_from)
            .limit(limit)
            .offset(offset)
        )
        return list(await self.conn.execute(stmt))

    async def versions(self, keys: Collection[Key]) -> list[Version]:
        """Every version of these (code, modifiers) keys."""
        return [v for v, _description in await self.descriptions(keys)]

    async def descriptions(self, keys: Collection[Key]) -> list[tuple[Version, str]]:
        """Every version of these (code, modifiers) keys, with its description. Selected by code (the lookup
        index's second column: a (code, modifiers) row-value list makes SQLite read the tenant's whole charge
        master), the modifiers matched here."""
        c = charge_master_item.c
        out: list[tuple[Version, str]] = []
        wanted = set(keys)
        codes = sorted({code for code, _modifiers in wanted})
        for start in range(0, len(codes), CHUNK):
            stmt = select(
                c.id, c.code, c.modifiers, c.price_cents, c.effective_from, c.effective_to, c.description
            ).where(and_(c.tenant_id == self.tenant, c.code.in_(codes[start : start + CHUNK])))
            out += [(Version(*row[:6]), row[6]) for row in await self.conn.execute(stmt) if (row[1], row[2]) in wanted]
        return out

    async def latest(self, keys: Collection[Key]) -> dict[Key, Version]:
        """The latest version (by start) of each of these keys that has one."""
        out: dict[Key, Version] = {}
        for v in sorted(await self.versions(keys), key=lambda v: v.effective_from):
            out[(v.code, v.modifiers)] = v
        return out

    async def write(self, items: Sequence[NewItem], closes: dict[str, date]) -> list[str]:
        """Close these versions (id -> their last day) and insert the new ones; the new ids, in order."""
        c = charge_master_item.c
        for item_id, end in closes.items():
            await self.conn.execute(
                update(charge_master_item)
                .where(and_(c.tenant_id == self.tenant, c.id == item_id))
                .values(effective_to=end)
            )
        now = datetime.now(UTC)
        rows = [
            {
                "tenant_id": self.tenant,
                "id": str(uuid.uuid4()),
                "code": item.code,
                "modifiers": item.modifiers,
                "revenue_code": item.revenue_code,
                "description": item.description,
                "price_cents": item.price_cents,
                "effective_from": item.effective_from,
                "effective_to": item.effective_to,
                "created_at": now,
                "created_by": self.actor[:200],
            }
            for item in items
        ]
        if rows:
            await bulk_insert(self.conn, charge_master_item, rows)
        return [str(row["id"]) for row in rows]

    async def get(self, ids: Collection[str]) -> list[Any]:
        c = charge_master_item.c
        stmt = select(charge_master_item).where(and_(c.tenant_id == self.tenant, c.id.in_(list(ids))))
        return list(await self.conn.execute(stmt))
