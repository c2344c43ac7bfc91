"""Expected payment of the unit's tenant: each billed line as priced under its contract, and the 835's lines
kept to be held against them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rcm_shared.db import bulk_insert, bulk_update
from rcm_shared.unit import Unit
from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from denials.models import expected_claim, expected_line, line_adjudication

x, la = expected_line.c, line_adjudication.c
CHUNK = 500  # claim ids per IN list
LOCK_CHUNK = 250  # claims per INSERT of lock rows (3 parameters each, under SQLite's 999)


def _chunks(values: Collection[str]) -> list[list[str]]:
    ordered = sorted(values)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


class ExpectedRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    async def lock_claims(self, claim_ids: Collection[str]) -> None:
        """Each claim's row locked to the end of the transaction (made when it has none yet), in claim id order
        so that two transactions locking several claims wait for each other instead of deadlocking. On
        PostgreSQL the upsert waits for a transaction holding the row, or that inserted it uncommitted; read
        committed, the statements after it see that transaction's rows. SQLite has one writer at a time."""
        ordered = sorted(set(claim_ids))
        now = datetime.now(UTC)
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        for i in range(0, len(ordered), LOCK_CHUNK):
            rows = [{"tenant_id": self.tenant, "claim_id": c, "touched_at": now} for c in ordered[i : i + LOCK_CHUNK]]
            stmt = insert(expected_claim).values(rows)
            await self.conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["tenant_id", "claim_id"], set_={"touched_at": stmt.excluded.touched_at}
                )
            )

    # -- billed lines and their expected amounts ------------------------------------------------------------
    async def replace_lines(self, claim_ids: Collection[str], rows: Sequence[Mapping[str, Any]]) -> None:
        """The claims' lines as last billed: those of an earlier billing go (a line dropped from the claim)."""
        for chunk in _chunks(claim_ids):
            await self.conn.execute(
                delete(expected_line).where(and_(x.tenant_id == self.tenant, x.claim_id.in_(chunk)))
            )
        await bulk_insert(self.conn, expected_line, [{**row, "tenant_id": self.tenant} for row in rows])

    async def lines(self, claim_ids: Collection[str]) -> dict[str, list[Any]]:
        """The claims' billed lines, by claim, in line order (claims never billed are left out)."""
        out: dict[str, list[Any]] = {}
        for chunk in _chunks(claim_ids):
            rows = await self.conn.execute(
                select(expected_line)
                .where(and_(x.tenant_id == self.tenant, x.claim_id.in_(chunk)))
                .order_by(x.claim_id, x.line_number)
            )
            for row in rows:
                out.setdefault(row.claim_id, []).append(row)
        return out

    async def reprice(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """New expected amounts (each row: the line's ``id`` and its pricing columns)."""
        await bulk_update(self.conn, expected_line, ["id"], rows)

    # -- the 835's lines -----------------------------------------------------------------------------------------
    async def add_answers(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The lines of adjudications; one seen already (a reposted file, a redelivery) is left as it is."""
        await bulk_insert(
            self.conn, line_adjudication, [{**row, "tenant_id": self.tenant} for row in rows], skip_conflicts=True
        )

    async def uncompared(self, claim_ids: Collection[str]) -> list[Any]:
        """The lines of adjudications of these claims not yet held against an expected amount, in order seen."""
        out: list[Any] = []
        for chunk in _chunks(claim_ids):
            rows = await self.conn.execute(
                select(line_adjudication)
                .where(and_(la.tenant_id == self.tenant, la.claim_id.in_(chunk), la.compared == 0, la.reversed == 0))
                .order_by(la.id)
            )
            out += list(rows)
        return out

    async def mark_compared(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Each row: an adjudicated line's ``id``, the ``expected_allowed_cents`` it was held against, the
        ``billed_line_number`` it answers, ``match`` (how it was found) and ``note`` (why it was not compared)."""
        await bulk_update(self.conn, line_adjudication, ["id"], [{**row, "compared": 1} for row in rows])

    async def answers_of(self, claim_id: str) -> list[Any]:
        return list(
            await self.conn.execute(
                select(line_adjudication)
                .where(and_(la.tenant_id == self.tenant, la.claim_id == claim_id))
                .order_by(la.id)
            )
        )

    async def reverse(self, claim_id: str, remittance_id: str) -> None:
        await self.conn.execute(
            update(line_adjudication)
            .where(and_(la.tenant_id == self.tenant, la.claim_id == claim_id, la.remittance_id == remittance_id))
            .values(reversed=1)
        )
