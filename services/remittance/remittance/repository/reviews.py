"""Review items: what a person looks at (held 835s, payments matching no billed claim or line, reversals
without their original, patient transfers without an account)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rcm_shared.db import bulk_insert, filter_only
from sqlalchemy import and_, insert, select, update

from remittance.models import review_item
from remittance.repository import Repository

UNMATCHED = ("unmatched_claim", "unmatched_line")


class ReviewRepository(Repository):
    def row(
        self, remittance_id: str | None, kind: str, claim_id: str | None, detail: str, now: datetime
    ) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant,
            "remittance_id": remittance_id,
            "kind": kind,
            "claim_id": claim_id,
            "detail": detail,
            "status": "open",
            "created_at": now,
        }

    async def add(self, remittance_id: str | None, kind: str, claim_id: str | None, detail: str, now: datetime) -> None:
        await self.conn.execute(insert(review_item).values(self.row(remittance_id, kind, claim_id, detail, now)))

    async def add_many(self, rows: list[dict[str, Any]]) -> None:
        await bulk_insert(self.conn, review_item, rows)

    async def resolve_hold(self, remittance_id: str, note: str, now: datetime) -> None:
        """The review item that says a remittance is held, resolved with what became of it."""
        await self._resolve_open(remittance_id, None, "unbalanced", note, now)

    async def resolve_unpaired_reversal(self, remittance_id: str, claim_id: str, note: str, now: datetime) -> None:
        await self._resolve_open(remittance_id, claim_id, "unpaired_reversal", note, now)

    async def _resolve_open(
        self, remittance_id: str, claim_id: str | None, kind: str, note: str, now: datetime
    ) -> None:
        v = review_item.c
        cond = [v.tenant_id == self.tenant, v.remittance_id == remittance_id]
        if claim_id is not None:
            cond.append(v.claim_id == claim_id)
        await self.conn.execute(
            update(review_item)
            .where(and_(*cond, v.kind == kind, v.status == "open"))
            .values(status="resolved", resolved_at=now, note=note)
        )

    async def open_unmatched(self, claim_ids: set[str]) -> list[Any]:
        """The open unmatched-claim and unmatched-line items of these claims."""
        r = review_item.c
        rows = await self.conn.execute(
            select(r.id, r.claim_id, r.kind).where(
                and_(
                    r.tenant_id == self.tenant,
                    r.claim_id.in_(claim_ids),
                    filter_only(r.status) == "open",  # found by claim, not among every open item
                    r.kind.in_(UNMATCHED),
                )
            )
        )
        return list(rows)

    async def resolve(self, item_ids: list[int], note: str, now: datetime) -> None:
        r = review_item.c
        await self.conn.execute(
            update(review_item)
            .where(and_(filter_only(r.tenant_id) == self.tenant, r.id.in_(item_ids)))
            .values(status="resolved", resolved_at=now, note=note)
        )

    async def resolve_open(self, item_id: int, note: str, now: datetime) -> bool:
        """One open item resolved with a person's note; False if it is not open (or not there)."""
        v = review_item.c
        result = await self.conn.execute(
            update(review_item)
            .where(and_(v.tenant_id == self.tenant, v.id == item_id, v.status == "open"))
            .values(status="resolved", note=note, resolved_at=now)
        )
        return bool(result.rowcount)

    async def items(self, *, status: Sequence[str] | None, kind: str | None, limit: int, offset: int) -> list[Any]:
        v = review_item.c
        cond = [v.tenant_id == self.tenant]
        if status:
            cond.append(v.status.in_(status))
        if kind:
            cond.append(v.kind == kind)
        rows = await self.conn.execute(
            select(review_item).where(and_(*cond)).order_by(v.id).limit(limit).offset(offset)
        )
        return list(rows)

    async def item(self, item_id: int) -> Any | None:
        v = review_item.c
        return (
            await self.conn.execute(select(review_item).where(and_(v.tenant_id == self.tenant, v.id == item_id)))
        ).first()
