"""What claims billed (its ``claim.status_changed`` events): billed claims and their lines, the patient
accounts they name. A billed line has no tenant of its own: it is reached through its billed claim's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rcm_shared.db import bulk_insert, bulk_update
from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from remittance.models import billed_claim, billed_line
from remittance.repository import Repository

CLAIM_COLUMNS = [c.name for c in billed_claim.c if c.name not in ("id", "tenant_id", "claim_id")]


class BilledRepository(Repository):
    async def billed(self, claim_ids: Iterable[str]) -> dict[str, list[Any]]:
        """The billed lines of these claims, by claim id (a known claim without lines: an empty list)."""
        rows = (
            await self.conn.execute(
                select(billed_claim.c.id, billed_claim.c.claim_id).where(
                    and_(billed_claim.c.tenant_id == self.tenant, billed_claim.c.claim_id.in_(set(claim_ids)))
                )
            )
        ).all()
        out: dict[str, list[Any]] = {claim_id: [] for _id, claim_id in rows}
        by_id = {row_id: claim_id for row_id, claim_id in rows}
        if by_id:
            lines = await self.conn.execute(select(billed_line).where(billed_line.c.billed_claim_id.in_(list(by_id))))
            for line in lines:
                out[by_id[line.billed_claim_id]].append(line)
        return out

    async def accounts(self, claim_ids: list[str]) -> dict[str, Any]:
        """The claims of these that name a patient account: (claim id, account, next payer) by claim id."""
        b = billed_claim.c
        return {
            row.claim_id: row
            for row in await self.conn.execute(
                select(b.claim_id, b.patient_account, b.next_payer_id).where(
                    and_(b.tenant_id == self.tenant, b.claim_id.in_(claim_ids), b.patient_account.is_not(None))
                )
            )
        }

    async def account_of(self, claim_id: str) -> str | None:
        b = billed_claim.c
        account: str | None = (
            await self.conn.execute(
                select(b.patient_account).where(and_(b.tenant_id == self.tenant, b.claim_id == claim_id))
            )
        ).scalar()
        return account

    async def has_account(self, account: str) -> bool:
        b = billed_claim.c
        found = (
            await self.conn.execute(
                select(b.id).where(and_(b.tenant_id == self.tenant, b.patient_account == account)).limit(1)
            )
        ).first()
        return found is not None

    async def waiting_for_payers(self, account: str) -> list[str]:
        """Claims of the account still with a payer (submitted, accepted, appealed)."""
        b = billed_claim.c
        rows = await self.conn.execute(
            select(b.claim_id).where(
                and_(
                    b.tenant_id == self.tenant,
                    b.patient_account == account,
                    b.state.in_(("submitted", "accepted", "appealed")),
                )
            )
        )
        return [claim_id for (claim_id,) in rows]

    async def originals(self, claim_ids: list[str]) -> list[str | None]:
        """The claims these were billed after (a secondary's primary)."""
        b = billed_claim.c
        return list(
            await self.conn.scalars(
                select(b.original_claim_id).where(
                    and_(b.tenant_id == self.tenant, b.claim_id.in_(claim_ids), b.original_claim_id.is_not(None))
                )
            )
        )

    async def original_of(self, claim_id: str) -> str | None:
        b = billed_claim.c
        prior: str | None = (
            await self.conn.execute(
                select(b.original_claim_id).where(and_(b.tenant_id == self.tenant, b.claim_id == claim_id))
            )
        ).scalar()
        return prior

    async def visit(self, claim_id: str) -> Any | None:
        """The claim's charge, first date of service and provider (as statements print them)."""
        b = billed_claim.c
        return (
            await self.conn.execute(
                select(b.charge_cents, b.service_from, b.provider_name).where(
                    and_(b.tenant_id == self.tenant, b.claim_id == claim_id)
                )
            )
        ).first()

    async def newest_claims(self, accounts: list[str], per_account: int) -> dict[str, list[str]]:
        """Up to ``per_account`` claims of each account, the latest date of service first."""
        b = billed_claim.c
        out: dict[str, list[str]] = {account: [] for account in accounts}
        for start in range(0, len(accounts), 500):  # an IN list within every database's parameter limit
            rows = await self.conn.execute(
                select(b.patient_account, b.claim_id)
                .where(and_(b.tenant_id == self.tenant, b.patient_account.in_(accounts[start : start + 500])))
                .order_by(b.patient_account, b.service_from.desc().nulls_last(), b.id.desc())
            )
            for account, claim_id in rows:
                if len(out[account]) < per_account:
                    out[account].append(claim_id)
        return out


class BilledBatch:
    """The billed claims of a consumer batch, which mixes tenants: each query is scoped by the tenants of its
    rows ((tenant, claim id) is the unique key)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def stored(self, tenants: set[str], claim_ids: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
        found_rows = await self.conn.execute(
            select(billed_claim).where(
                and_(billed_claim.c.tenant_id.in_(tenants), billed_claim.c.claim_id.in_(claim_ids))
            )
        )
        return {(found["tenant_id"], found["claim_id"]): dict(found) for found in found_rows.mappings()}

    async def add(self, rows: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
        """New billed claims; (id, tenant, claim id) of each."""
        inserted = await self.conn.execute(
            insert(billed_claim).returning(billed_claim.c.id, billed_claim.c.tenant_id, billed_claim.c.claim_id), rows
        )
        return [(row_id, tenant, claim_id) for row_id, tenant, claim_id in inserted]

    async def update(self, rows: list[dict[str, Any]]) -> None:
        """Stored billed claims (``tenant_id``, ``id``) rewritten with the other columns."""
        await bulk_update(self.conn, billed_claim, ("tenant_id", "id"), rows)

    async def lines(self, billed_claim_ids: list[int]) -> list[Any]:
        """(id, billed claim id, line control number) of the lines of these billed claims."""
        b = billed_line.c
        rows = await self.conn.execute(
            select(b.id, b.billed_claim_id, b.line_control_number).where(b.billed_claim_id.in_(billed_claim_ids))
        )
        return list(rows)

    async def replace_lines(self, gone: list[int], changed: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
        """Lines (of the batch's billed claims) removed, rewritten (by ``id``) and added."""
        if gone:
            await self.conn.execute(delete(billed_line).where(billed_line.c.id.in_(gone)))
        if changed:
            await bulk_update(self.conn, billed_line, ("id",), changed)
        await bulk_insert(self.conn, billed_line, new)
