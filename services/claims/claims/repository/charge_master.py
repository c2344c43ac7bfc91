"""The charge master of one tenant: its items' versions, scoped by the unit's tenant."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.db import bulk_insert
from rcm_shared.errors import Conflict
from rcm_shared.unit import Unit
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError

from claims.domain.charge_master import Key, NewItem, Version
from claims.models import charge_master_item

CHUNK = 200  # keys per IN list


def _covers(c: Any, on: date) -> Any:
    """The version's window holds the date."""
    return and_(c.effective_from <= on, or_(c.effective_to.is_(None), c.effective_to >= on))


class ChargeMasterRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant
        self.actor = unit.actor.name

    async def items(self, code: str | None, on: date | None, limit: int, offset: int) -> list[Any]:
        """The items' versions (of one code when given; those in effect on a date when given: the newest whose
        window holds it, per code and modifiers), by code, modifiers and version."""
        c = charge_master_item.c
        cond = [c.tenant_id == self.tenant]
        if code:
            cond.append(c.code == code)
        if on is not None:
            newer = charge_master_item.alias("newer")
            n = newer.c
            cond += [
                _covers(c, on),
                ~exists().where(
                    n.tenant_id == c.tenant_id,
                    n.code == c.code,
                    n.modifiers == c.modifiers,
                    n.version > c.version,
                    _covers(n, on),
                ),
            ]
        stmt = (
            select(charge_master_item)
            .where(and_(*cond))
            .order_by(c.code, c.modifiers, c.version)
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
                c.id, c.code, c.modifiers, c.price_cents, c.effective_from, c.effective_to, c.version, c.description
            ).where(and_(c.tenant_id == self.tenant, c.code.in_(codes[start : start + CHUNK])))
            out += [(Version(*row[:7]), row[7]) for row in await self.conn.execute(stmt) if (row[1], row[2]) in wanted]
        return out

    async def latest(self, keys: Collection[Key]) -> dict[Key, int]:
        """The highest version number of each of these keys that has one."""
        out: dict[Key, int] = {}
        for v in await self.versions(keys):
            key = (v.code, v.modifiers)
            out[key] = max(out.get(key, 0), v.version)
        return out

    async def write(self, items: Sequence[NewItem]) -> list[str]:
        """Insert the new versions (numbered: ``plan``); their ids, in order. Conflict when another request
        numbered a version of the same item meanwhile (the unit rolls back; the caller may retry)."""
        now = datetime.now(UTC)
        rows = [
            {
                "tenant_id": self.tenant,
                "id": str(uuid.uuid4()),
                "code": item.code,
                "modifiers": item.modifiers,
                "version": item.version,
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
            try:
                await bulk_insert(self.conn, charge_master_item, rows)
            except IntegrityError as exc:
                raise Conflict("the charge master changed meanwhile; read it and retry") from exc
        return [str(row["id"]) for row in rows]

    async def get(self, ids: Collection[str]) -> list[Any]:
        c = charge_master_item.c
        stmt = select(charge_master_item).where(and_(c.tenant_id == self.tenant, c.id.in_(list(ids))))
        return list(await self.conn.execute(stmt))
