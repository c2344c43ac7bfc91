"""The unit's tenant's practice profiles as claims announces them, by version: the letterhead of its letters."""

from __future__ import annotations

from datetime import date
from typing import Any

from rcm_shared.unit import Unit
from sqlalchemy import and_, func, insert, select

from denials.models import practice_profile

pp = practice_profile.c


class PracticeRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    async def newest_version(self) -> int | None:
        found = await self.conn.scalar(select(func.max(pp.version)).where(pp.tenant_id == self.tenant))
        return None if found is None else int(found)

    async def add(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(practice_profile).values(**values, tenant_id=self.tenant))

    async def in_effect(self, on: date) -> Any | None:
        """The newest version (highest number) in effect on the date, or None (no profile had started by then)."""
        return (
            await self.conn.execute(
                select(practice_profile)
                .where(and_(pp.tenant_id == self.tenant, pp.effective_from <= on))
                .order_by(pp.version.desc())
                .limit(1)
            )
        ).first()
