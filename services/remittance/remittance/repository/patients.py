"""The patient ledger: patient accounts, their signed entries (+ owed, - paid or credit), patient payments
and refunds, and the denial postings that move money to the patient or off insurance A/R."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rcm_shared.db import bulk_insert, filter_only
from rcm_shared.dialects import insert_ignore
from sqlalchemy import and_, func, insert, select
from sqlalchemy.exc import IntegrityError

from remittance.models import (
    billed_claim,
    claim_payment,
    denial_posting,
    patient_account,
    patient_ledger,
    patient_payment,
)
from remittance.repository import Repository


class PatientRepository(Repository):
    async def name_accounts(self, names: dict[str, tuple[str, str | None]], now: datetime) -> None:
        """Accounts not known yet, with the patient's name (an account named already keeps its name)."""
        await bulk_insert(
            self.conn,
            patient_account,
            [
                {"tenant_id": self.tenant, "account_id": a, "last_name": n[0], "first_name": n[1], "updated_at": now}
                for a, n in names.items()
            ],
            skip_conflicts=True,
        )

    async def add_entries(self, rows: list[dict[str, Any]]) -> None:
        await bulk_insert(self.conn, patient_ledger, rows)

    async def add_entry(self, **values: Any) -> None:
        await self.conn.execute(insert(patient_ledger).values(tenant_id=self.tenant, **values))

    async def reversed_originals(self, reversal_ids: list[str]) -> dict[str, str]:
        """Reversal claim payment id -> the payment it reverses, for those paired with one."""
        cp = claim_payment.c
        return {
            rid: oid
            for rid, oid in await self.conn.execute(
                select(cp.id, cp.reversal_of).where(
                    and_(filter_only(cp.tenant_id) == self.tenant, cp.id.in_(reversal_ids), cp.reversal_of.is_not(None))
                )
            )
        }

    async def posted_by_payment(self, accounts: list[str], claim_payment_ids: list[str]) -> list[Any]:
        """(claim payment id, entry type, total) these payments put on these accounts."""
        p = patient_ledger.c
        rows = await self.conn.execute(
            select(p.claim_payment_id, p.entry_type, func.sum(p.amount_cents))
            .where(
                and_(p.tenant_id == self.tenant, p.account_id.in_(accounts), p.claim_payment_id.in_(claim_payment_ids))
            )
            .group_by(p.claim_payment_id, p.entry_type)
        )
        return list(rows)

    async def balances(self, accounts: list[str]) -> dict[str, int]:
        p = patient_ledger.c
        out: dict[str, int] = {}
        for start in range(0, len(accounts), 500):
            rows = await self.conn.execute(
                select(p.account_id, func.sum(p.amount_cents))
                .where(and_(p.tenant_id == self.tenant, p.account_id.in_(accounts[start : start + 500])))
                .group_by(p.account_id)
            )
            out.update({a: int(total or 0) for a, total in rows})
        return out

    async def claim_balances(self, account: str) -> dict[str | None, int]:
        """Per claim (None: on account) the patient balance, oldest claim first."""
        p = patient_ledger.c
        rows = await self.conn.execute(
            select(p.claim_id, func.sum(p.amount_cents), func.min(p.id))
            .where(and_(p.tenant_id == self.tenant, p.account_id == account))
            .group_by(p.claim_id)
            .order_by(func.min(p.id))
        )
        return {claim_id: int(total or 0) for claim_id, total, _first in rows}

    async def has_entries(self, account: str) -> bool:
        p = patient_ledger.c
        found = (
            await self.conn.execute(
                select(p.id).where(and_(p.tenant_id == self.tenant, p.account_id == account)).limit(1)
            )
        ).first()
        return found is not None

    async def crossovers_pending(self, account: str) -> list[str]:
        """Claims of the account a payer forwarded (a crossover) whose crossover payer has not answered, nor
        been late."""
        cp, b = claim_payment.c, billed_claim.c
        rows = await self.conn.execute(
            select(cp.claim_id)
            .join(billed_claim, and_(b.tenant_id == cp.tenant_id, b.claim_id == cp.claim_id))
            .where(
                and_(
                    cp.tenant_id == self.tenant,
                    b.patient_account == account,
                    cp.crossover_state == "pending",
                    cp.reversed_by.is_(None),  # a payment taken back forwards nothing
                )
            )
        )
        return [c for (c,) in rows]

    # -- payments and refunds -------------------------------------------------------------------------
    async def tender(self, key: str) -> Any | None:
        """The payment or refund recorded under this idempotency key."""
        p = patient_payment.c
        return (
            await self.conn.execute(
                select(patient_payment).where(and_(p.tenant_id == self.tenant, p.idempotency_key == key))
            )
        ).first()

    async def add_tender(self, **values: Any) -> bool:
        """The payment row; False if its idempotency key was taken meanwhile (by a concurrent request)."""
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(patient_payment.insert().values(tenant_id=self.tenant, **values))
        except IntegrityError:
            return False
        return True

    # -- statements -----------------------------------------------------------------------------------
    async def entries_before(self, account: str, cutoff: datetime) -> list[Any]:
        p = patient_ledger.c
        return list(
            await self.conn.execute(
                select(p.claim_id, p.entry_type, p.amount_cents, p.created_at)
                .where(and_(p.tenant_id == self.tenant, p.account_id == account, p.created_at < cutoff))
                .order_by(p.id)
            )
        )

    async def name(self, account: str) -> Any | None:
        a = patient_account.c
        return (
            await self.conn.execute(
                select(a.last_name, a.first_name).where(and_(a.tenant_id == self.tenant, a.account_id == account))
            )
        ).first()

    async def owing_before(self, cutoff: datetime) -> list[tuple[str, int]]:
        """(account, balance) of every account, counting what was posted before ``cutoff``."""
        p = patient_ledger.c
        rows = await self.conn.execute(
            select(p.account_id, func.sum(p.amount_cents))
            .where(and_(p.tenant_id == self.tenant, p.created_at < cutoff))
            .group_by(p.account_id)
        )
        return [(a, int(total or 0)) for a, total in rows]

    # -- denial postings ------------------------------------------------------------------------------
    async def add_denial_posting(self, **values: Any) -> bool:
        """One denial posting; False if this denial's posting of this kind is there already."""
        posted = await self.conn.execute(insert_ignore(self.conn, denial_posting, {"tenant_id": self.tenant, **values}))
        return bool(posted.rowcount)

    async def denial_postings_of(self, denial_id: str) -> Sequence[Any]:
        d = denial_posting.c
        return list(
            await self.conn.execute(
                select(denial_posting).where(and_(d.tenant_id == self.tenant, d.denial_id == denial_id))
            )
        )
