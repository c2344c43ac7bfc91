"""The reads and writes of the FHIR API beside the claims' own: the identifiers clients gave their claims and
patients, claim searches in keyset pages (newest first), and patient accounts with their latest claim.
Every query scoped by the unit's tenant."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rcm_shared.db import bulk_insert
from rcm_shared.unit import Unit
from sqlalchemy import and_, false, func, or_, select

from claims.models import claim, claim_identifier, hl7_encounter, patient_account, patient_identifier

Span = tuple[datetime | None, datetime | None]  # lower <= t < upper, either end open
After = tuple[datetime, str] | None  # the keyset page's last (sort instant, id)
OPEN: Span = (None, None)
Token = tuple[str | None, str]  # an identifier searched for: (its system, None for any; its value)
Tokens = tuple[frozenset[Token], ...]  # each time the parameter was given, the tokens any of which matches


@dataclass(frozen=True)
class ClaimQuery:
    """A search of the tenant's claims, newest first (created_at, then id): every condition given holds, a set
    by any of its values (None: any; empty: nothing). `identifiers` holds one set of tokens each time the
    parameter was given: a claim has several identifiers, each set matched by one of them. Our claim id is an
    identifier in `own_system`. `after` is the (created_at, id) of the page before's last claim."""

    own_system: str
    limit: int = 20
    claim_ids: Collection[str] | None = None
    identifiers: Tokens = ()
    accounts: Collection[str] | None = None
    states: Collection[str] | None = None
    created: Span = OPEN
    updated: Span = OPEN
    after: After = None


@dataclass(frozen=True)
class PatientQuery:
    """A search of the tenant's patient accounts with claims, newest account first (opened, then number), each
    with its latest claim: every condition given holds. An account's identifiers are its number (in
    `account_system`), those given for it, and the MRNs (in `mrn_system`) of the HL7 visits its claims came
    from; `identifiers` as in ClaimQuery. `seen` bounds its latest claim's instant (the Patient's
    lastUpdated); `after` is the (opened, number) of the page before's last account."""

    account_system: str
    mrn_system: str
    limit: int = 20
    accounts: Collection[str] | None = None
    identifiers: Tokens = ()
    seen: Span = OPEN
    after: After = None


def _within(column: Any, span: Span) -> list[Any]:
    lower, upper = span
    return [c for c in ((column >= lower) if lower else None, (column < upper) if upper else None) if c is not None]


def _before(column: Any, ident: Any, after: After) -> list[Any]:
    """Newest first: the rows after the page that ended at `after`."""
    if after is None:
        return []
    key, last = after
    return [or_(column < key, and_(column == key, ident < last))]


def _given(table: Any, tokens: Collection[Token]) -> Any:
    """Rows of an identifier table (system, value) matching any of the tokens."""
    t = table.c
    return or_(false(), *(and_(t.value == v, *([t.system == s] if s is not None else [])) for s, v in tokens))


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
    async def claims(self, query: ClaimQuery) -> list[Any]:
        """The claims `query` asks for, newest first (created_at, id), at most `query.limit`."""
        c = claim.c
        cond = [c.tenant_id == self.tenant, *_within(c.created_at, query.created)]
        cond += [*_within(c.updated_at, query.updated), *_before(c.created_at, c.id, query.after)]
        if query.claim_ids is not None:
            cond.append(c.id.in_(set(query.claim_ids)))
        if query.accounts is not None:
            cond.append(c.patient_account.in_(set(query.accounts)))
        if query.states is not None:
            cond.append(c.state.in_(set(query.states)))
        cond += [self._claim_named(tokens, query.own_system) for tokens in query.identifiers]
        stmt = select(claim).where(and_(*cond)).order_by(c.created_at.desc(), c.id.desc()).limit(query.limit)
        return list(await self.conn.execute(stmt))

    def _claim_named(self, tokens: Collection[Token], own_system: str) -> Any:
        """Claims that any of the tokens names: our claim id (in `own_system`, or any system), or an identifier
        a client gave."""
        i = claim_identifier.c
        ours = {v for s, v in tokens if s in (None, own_system)}
        theirs = [(s, v) for s, v in tokens if s != own_system]
        named = select(i.claim_id).where(and_(i.tenant_id == self.tenant, _given(claim_identifier, theirs)))
        return or_(claim.c.id.in_(ours), claim.c.id.in_(named))

    async def patients(self, query: PatientQuery) -> list[Any]:
        """The accounts `query` asks for that have claims, newest account first (opened, number), at most
        `query.limit`: each account's latest claim (by created_at), with the account's `opened` instant.

        Accounts are ordered by when they were opened, which never changes: a client paging while a claim
        is entered sees every account once, as it would not if a new claim moved its patient up the list."""
        c, a = claim.c, patient_account.c
        cond = [c.tenant_id == self.tenant, c.patient_account.is_not(None)]
        if query.accounts is not None:
            cond.append(c.patient_account.in_(set(query.accounts)))
        cond += [self._account_named(tokens, query) for tokens in query.identifiers]
        latest = func.max(c.created_at).label("latest")
        billed = select(c.patient_account, latest).where(and_(*cond)).group_by(c.patient_account)
        if query.seen != OPEN:
            billed = billed.having(and_(*_within(latest, query.seen)))
        last = billed.subquery()
        page = (
            select(a.id, a.created_at.label("opened"), last.c.latest)
            .join(last, last.c.patient_account == a.id)
            .where(and_(a.tenant_id == self.tenant, *_before(a.created_at, a.id, query.after)))
            .order_by(a.created_at.desc(), a.id.desc())
            .limit(query.limit)
            .subquery()
        )
        stmt = (
            select(claim, page.c.opened)
            .join(page, and_(c.patient_account == page.c.id, c.created_at == page.c.latest))
            .where(c.tenant_id == self.tenant)
            .order_by(page.c.opened.desc(), page.c.id.desc(), c.id.desc())
        )
        rows: dict[str, Any] = {}
        for row in await self.conn.execute(stmt):  # a batch's claims share an instant: the greatest id wins
            rows.setdefault(row.patient_account, row)
        return list(rows.values())

    def _account_named(self, tokens: Collection[Token], query: PatientQuery) -> Any:
        """Accounts that any of the tokens names: the account number (in the account system, or any), an
        identifier given for the account (in another system), or the MRN of an HL7 visit its claims came from."""
        p, e = patient_identifier.c, hl7_encounter.c
        visit = claim.alias("visit")  # not the claim the outer query reads
        numbers = {v for s, v in tokens if s in (None, query.account_system)}
        theirs = [(s, v) for s, v in tokens if s != query.account_system]
        mrns = {v for s, v in tokens if s in (None, query.mrn_system)}
        given = select(p.patient_account).where(and_(p.tenant_id == self.tenant, _given(patient_identifier, theirs)))
        visits = (
            select(visit.c.patient_account)
            .join(hl7_encounter, and_(e.tenant_id == visit.c.tenant_id, e.claim_id == visit.c.id))
            .where(and_(e.tenant_id == self.tenant, e.mrn.in_(mrns)))
        )
        account = claim.c.patient_account
        return or_(account.in_(numbers), account.in_(given), account.in_(visits))
