"""Each tenant's practice profile (its latest version) and clearinghouse connections; the connections of every
tenant, which route inbound files (``Connections``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rcm_shared.db import bulk_insert
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from remittance.domain.routing import Connection
from remittance.models import practice_connection, practice_profile
from remittance.repository import Repository


class PracticeRepository(Repository):
    async def profile(self) -> Any | None:
        p = practice_profile.c
        return (await self.conn.execute(select(practice_profile).where(p.tenant_id == self.tenant))).first()

    async def version(self) -> int | None:
        p = practice_profile.c
        found: int | None = (await self.conn.execute(select(p.version).where(p.tenant_id == self.tenant))).scalar()
        return found

    async def add(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(practice_profile).values(tenant_id=self.tenant, **values))

    async def replace(self, values: dict[str, Any]) -> bool:
        """The stored profile rewritten with a newer version; False if the stored one is not older."""
        p = practice_profile.c
        done = await self.conn.execute(
            update(practice_profile)
            .where(and_(p.tenant_id == self.tenant, p.version < values["version"]))
            .values(**values)
        )
        return bool(done.rowcount)

    async def set_connections(self, connections: Iterable[dict[str, str]]) -> None:
        await self.conn.execute(delete(practice_connection).where(practice_connection.c.tenant_id == self.tenant))
        await bulk_insert(self.conn, practice_connection, [{"tenant_id": self.tenant, **c} for c in connections])


class Connections:
    """Every tenant's connections: an inbound file belongs to no tenant until its ids name one."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def any_stored(self) -> bool:
        # max(id) reads one end of the key (a whole-table scan stopped at the first row would be planned as one)
        return (await self.conn.execute(select(func.max(practice_connection.c.id)))).scalar() is not None

    async def to(self, submitter_ids: set[str]) -> list[Connection]:
        """The connections on which we send as one of these ids (what an inbound ISA08/GS03 names)."""
        if not submitter_ids:
            return []
        c = practice_connection.c
        rows = await self.conn.execute(
            select(c.tenant_id, c.submitter_id, c.receiver_id).where(c.submitter_id.in_(submitter_ids))
        )
        return [Connection(tenant, submitter, receiver) for tenant, submitter, receiver in rows]
