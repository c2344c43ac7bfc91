"""The reads and writes of the FHIR API beside the claims' own: the identifiers clients gave their claims and
patients, claim searches in keyset pages (newest first), and patient accounts with their latest claim.
Every query scoped by the unit's tenant."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from rcm_shared.db import bulk_insert
from rcm_shared.unit import Unit
from sqlalchemy import and_, func, or_, select

from claims.models import claim, claim_identifier, hl7_encounter, patient_identifier

Span = tuple[datetime | None, datetime | None]  # lower <= t < upper, either end open
After = tuple[datetime, str] | None  # the keyset page's last (sort instant, id)
OPEN: Span = (None, None)


def _within(column: Any, span: Span) -> list[Any]:
    lower, upper = span
    return [c for c in ((column >= lower) if lower else None, (column < upper) if upper else None) if c is not None]


def _before(column: Any, ident: Any, after: After) -> list[Any]:
    """Newest first: the rows after the page that ended at `after`."""
    if after is None:
        return []
    key, last = after
    return [or_(column < key, and_(column == key, ident < last))]


class FhirRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    # -- identifiers -------------------------------------------------------------------------------------------
    async def claims_identified(self, identifiers: Collection[tuple[str, str]]) -> list[Any]:
        """The (system, value, claim_id, request_digest) stored for these claim identifiers."""
        if not identifiers:
            return []
        i = claim_identifier.c
        wanted = or_(*(and_(i.system == system, i.value == value) for system, value in identifiers))
        stmt = select(i.system, i.value, i.claim_id, i.request_digest).where(and_(i.tenant_id == self.tenant, wanted))
        return list(await self.conn.execute(stmt))

    async def identify_claim(self, claim_id: str, identifiers: Sequence[tuple[str, str]], digest: str) -> bool:
        """Store the claim's identifiers; False when one is taken meanwhile (a concurrent submission)."""
        now = datetime.now(UTC)
        rows = [
            {
                "tenant_id": self.tenant,
                "system": s,
                "value": v,
                "claim_id": claim_id,
                "request_digest": digest,
                "created_at": now,
            }
            for s, v in dict.fromkeys(identifiers)
        ]
        return await bulk_insert(self.conn, claim_identifier, rows, skip_conflicts=True) == len(rows)

    async def identify_patient(self, account: str, identifiers: Sequence[tuple[str, str]]) -> None:
        now = datetime.now(UTC)
        rows = [
            {"tenant_id": self.tenant, "system": s, "value": v, "patient_account": account, "created_at": now}
            for s, v in dict.fromkeys(identifiers)
        ]
        await bulk_insert(self.conn, patient_identifier, rows, skip_conflicts=True)

    async def claim_identifiers(self, claim_ids: Collection[str]) -> dict[str, list[tuple[str, str]]]:
        if not claim_ids:
            return {}
        i = claim_identifier.c
        stmt = (
            select(i.claim_id, i.system, i.value)
            .where(and_(i.tenant_id == self.tenant, i.claim_id.in_(set(claim_ids))))
            .order_by(i.created_at, i.system, i.value)
        )
        out: dict[str, list[tuple[str, str]]] = {}
        for claim_id, system, value in await self.conn.execute(stmt):
            out.setdefault(claim_id, []).append((system, value))
        return out

    async def patient_identifiers(self, accounts: Collection[str], mrn_system: str) -> dict[str, list[tuple[str, str]]]:
        """The identifiers given for these accounts, and the MRNs of the HL7 visits their claims came from
        (in `mrn_system`)."""
        if not accounts:
            return {}
        p, e, c = patient_identifier.c, hl7_encounter.c, claim.c
        given = select(p.patient_account, p.system, p.value).where(
            and_(p.tenant_id == self.tenant, p.patient_account.in_(set(accounts)))
        )
        visits = (
            select(c.patient_account, e.mrn)
            .join(claim, and_(c.tenant_id == e.tenant_id, c.id == e.claim_id))
            .where(and_(e.tenant_id == self.tenant, c.patient_account.in_(set(accounts))))
            .distinct()
        )
        out: dict[str, list[tuple[str, str]]] = {}
        for account, system, value in await self.conn.execute(given):
            out.setdefault(account, []).append((system, value))
        for account, mrn in await self.conn.execute(visits):
            if (mrn_system, mrn) not in out.get(account, []):
                out.setdefault(account, []).append((mrn_system, mrn))
        return {account: sorted(found) for account, found in out.items()}

    # -- searches ----------------------------------------------------------------------------------------------
    async def claims(
        self,
        *,
        claim_ids: Collection[str] | None = None,
        identifier: tuple[str | None, str] | None = None,
        own_system: str = "",
        account: str | None = None,
        states: Collection[str] | None = None,
        created: Span = OPEN,
        updated: Span = OPEN,
        after: After = None,
        limit: int = 20,
    ) -> list[Any]:
        """The tenant's claims that match, newest first (created_at, id), at most `limit` after `after`.
        `identifier` (system or None for any, value) matches our claim id (system `own_system`) or an
        identifier a client gave."""
        c = claim.c
        cond = [c.tenant_id == self.tenant, *_within(c.created_at, created), *_within(c.updated_at, updated)]
        cond += _before(c.created_at, c.id, after)
        if claim_ids is not None:
            cond.append(c.id.in_(set(claim_ids)))
        if account is not None:
            cond.append(c.patient_account == account)
        if states is not None:
            cond.append(c.state.in_(set(states)))
        if identifier is not None:
            system, value = identifier
            i = claim_identifier.c
            given = [i.tenant_id == self.tenant, i.value == value] + (
                [i.system == system] if system is not None else []
            )
            named = c.id.in_(select(i.claim_id).where(and_(*given)))
            cond.append(
                or_(c.id == value, named) if system is None else c.id == value if system == own_system else named
            )
        stmt = select(claim).where(and_(*cond)).order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        return list(await self.conn.execute(stmt))

    async def accounts_identified(self, system: str | None, value: str, mrn_system: str) -> set[str]:
        """The accounts an identifier names: given for them, or the MRN of an HL7 visit their claims came from."""
        p, e, c = patient_identifier.c, hl7_encounter.c, claim.c
        given = [p.tenant_id == self.tenant, p.value == value] + ([p.system == system] if system is not None else [])
        found = set((await self.conn.execute(select(p.patient_account).where(and_(*given)))).scalars())
        if system in (None, mrn_system):
            visits = (
                select(c.patient_account)
                .join(claim, and_(c.tenant_id == e.tenant_id, c.id == e.claim_id))
                .where(and_(e.tenant_id == self.tenant, e.mrn == value))
            )
            found |= set((await self.conn.execute(visits)).scalars())
        return {a for a in found if a}

    async def patients(
        self, *, accounts: Collection[str] | None = None, seen: Span = OPEN, after: After = None, limit: int = 20
    ) -> list[Any]:
        """Patient accounts with claims, each with its latest claim (by created_at; `seen` bounds that instant),
        newest first, at most `limit` after `after`."""
        c = claim.c
        cond = [c.tenant_id == self.tenant, c.patient_account.is_not(None)]
        if accounts is not None:
            cond.append(c.patient_account.in_(set(accounts)))
        latest = func.max(c.created_at).label("latest")
        grouped = select(c.patient_account, latest).where(and_(*cond)).group_by(c.patient_account)
        having = _within(latest, seen) + _before(latest, c.patient_account, after)
        if having:
            grouped = grouped.having(and_(*having))
        page = grouped.order_by(latest.desc(), c.patient_account.desc()).limit(limit).subquery()
        stmt = (
            select(claim)
            .join(page, and_(c.patient_account == page.c.patient_account, c.created_at == page.c.latest))
            .where(c.tenant_id == self.tenant)
            .order_by(c.created_at.desc(), c.patient_account.desc(), c.id.desc())
        )
        rows: dict[str, Any] = {}
        for row in await self.conn.execute(stmt):  # a batch's claims share an instant: the greatest id wins
            rows.setdefault(row.patient_account, row)
        return list(rows.values())
