"""Each tenant's practice profile versions and clearinghouse connections, as claims announces them; the
connections of every tenant, which route inbound files (``Connections``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from rcm_shared.db import bulk_insert
from rcm_shared.x12.routing import Pair
from sqlalchemy import and_, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from remittance.models import practice_connection, practice_profile
from remittance.repository import Repository


class PracticeRepository(Repository):
    async def has_version(self, version: int) -> bool:
        p = practice_profile.c
        stmt = select(p.version).where(and_(p.tenant_id == self.tenant, p.version == version))
        return (await self.conn.execute(stmt)).first() is not None

    async def add_version(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(practice_profile).values(tenant_id=self.tenant, **values))

    async def in_effect(self, on: date) -> Any | None:
        """The version that prints on a statement dated ``on``: of those started by then, the newest (highest
        number, as claims decides which version applies on a date); when none had started, the earliest to
        start (the tenant's own practice, rather than none: a consumer that starts late reads only the
        latest version of a compacted topic)."""
        p = practice_profile.c
        started = (
            select(practice_profile)
            .where(and_(p.tenant_id == self.tenant, p.effective_from <= on))
            .order_by(p.version.desc())
            .limit(1)
        )
        found = (await self.conn.execute(started)).first()
        if found is not None:
            return found
        later = (
            select(practice_profile)
            .where(and_(p.tenant_id == self.tenant, p.effective_from > on))
            .order_by(p.effective_from, p.version.desc())
            .limit(1)
        )
        return (await self.conn.execute(later)).first()

    async def keep_connections(self, connections: Mapping[Pair, str]) -> list[Pair]:
        """Add the tenant's connections (pair -> name) not stored yet; those stored stay, whatever later versions
        say. Returns the pairs stored as another tenant's (not added: a pair is one tenant's)."""
        owners = await Connections(self.conn).owners(connections)
        await bulk_insert(
            self.conn,
            practice_connection,
            [
                {"tenant_id": self.tenant, "name": name, "submitter_id": s, "receiver_id": r}
                for (s, r), name in connections.items()
                if (s, r) not in owners
            ],
            skip_conflicts=True,  # a pair taken meanwhile stays its first tenant's
        )
        return [pair for pair in connections if owners.get(pair, self.tenant) != self.tenant]


class Connections:
    """Every tenant's connections: an inbound file belongs to no tenant until its ids name one."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def owners(self, pairs: Iterable[Pair]) -> dict[Pair, str]:
        """The tenant of each of these (submitter_id, receiver_id) pairs that one registered."""
        wanted = set(pairs)
        if not wanted:
            return {}
        c = practice_connection.c
        rows = await self.conn.execute(
            select(c.tenant_id, c.submitter_id, c.receiver_id).where(c.submitter_id.in_({s for s, _r in wanted}))
        )
        return {(s, r): tenant for tenant, s, r in rows if (s, r) in wanted}
