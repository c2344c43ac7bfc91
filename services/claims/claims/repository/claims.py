"""The claims of one tenant, their history, status records, patient accounts, eligibility answers and the
money denials moved: every query scoped by the unit's tenant."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.db import bulk_insert, bulk_update, filter_only
from rcm_shared.dialects import insert_ignore
from rcm_shared.errors import NotFound
from rcm_shared.unit import Unit
from sqlalchemy import and_, select, update

from claims.domain import state as st
from claims.domain.encounter import ClaimCreate
from claims.domain.scrubber import Eligibility
from claims.models import (
    claim,
    claim_status_record,
    claim_transition,
    denial_move,
    eligibility_snapshot,
    patient_account,
)

CHUNK = 500  # ids per IN list


class ClaimsRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant

    def _one(self, claim_id: str) -> Any:
        return and_(claim.c.tenant_id == self.tenant, claim.c.id == claim_id)

    def _many(self, ids: Collection[str]) -> Any:
        return and_(filter_only(claim.c.tenant_id) == self.tenant, claim.c.id.in_(ids))

    def _locking(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    # -- claims --------------------------------------------------------------------------------------------
    async def get(self, claim_id: str, *, lock: bool = False) -> Any:
        stmt = select(claim).where(self._one(claim_id))
        if lock and self._locking():
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        if row is None:
            raise NotFound(f"no claim {claim_id}")
        return row

    async def get_rows(self, ids: Collection[str]) -> dict[str, Any]:
        """The claims of these ids that exist, whole, locked on PostgreSQL."""
        stmt = select(claim).where(self._many(ids))
        if self._locking():
            stmt = stmt.with_for_update()
        return {r.id: r for r in await self.conn.execute(stmt)}

    async def get_many(self, ids: set[str], *, document: bool = True) -> dict[str, dict[str, Any]]:
        """The claims of these ids (those that exist), as column dicts to change in memory and ``put_many``;
        locked on PostgreSQL like ``get(lock=True)``. Without the last scrub's edits and status findings (JSON
        no caller of this reads), and without the claim document unless asked."""
        skip = {"edits", "status_detail"} | (set() if document else {"document"})
        stmt = select(*(col for col in claim.c if col.name not in skip)).where(self._many(ids))
        if self._locking():
            stmt = stmt.with_for_update()
        return {row.id: dict(row._mapping) for row in await self.conn.execute(stmt)}

    async def documents(self, ids: set[str]) -> dict[str, Any]:
        """The claim documents (the encounters as entered) of these ids."""
        found = await self.conn.execute(select(claim.c.id, claim.c.document).where(self._many(ids)))
        return {claim_id: document for claim_id, document in found}

    async def ready(self) -> list[Any]:
        """The tenant's ready claims, oldest first."""
        c = claim.c
        stmt = select(claim).where(and_(c.tenant_id == self.tenant, c.state == st.READY)).order_by(c.created_at)
        return list(await self.conn.execute(stmt))

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        await bulk_insert(self.conn, claim, rows)

    async def update(self, claim_id: str, values: dict[str, Any], *, now: datetime | None = None) -> None:
        """Set these columns of one claim (and its ``updated_at``)."""
        await self.conn.execute(
            update(claim).where(self._one(claim_id)).values(**values, updated_at=now or datetime.now(UTC))
        )

    async def update_many(self, ids: Collection[str], values: dict[str, Any]) -> None:
        """Set the same columns of many claims."""
        await self.conn.execute(update(claim).where(self._many(ids)).values(**values))

    async def put_many(self, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
        """Write these columns of claim rows (from ``get_many``) back, in one statement (``bulk_update``)."""
        await bulk_update(
            self.conn,
            claim,
            ("tenant_id", "id"),
            [{"tenant_id": self.tenant, "id": row["id"], **{c: row[c] for c in columns}} for row in rows],
        )

    async def add_transitions(self, rows: Sequence[dict[str, Any]]) -> None:
        await bulk_insert(self.conn, claim_transition, rows)

    async def duplicates_for(self, keys: Sequence[str], exclude: str | None) -> dict[str, list[str]]:
        """The original claims (not void or corrected) with these duplicate keys, by key."""
        c = claim.c
        rows = await self.conn.execute(
            select(c.duplicate_key, c.id).where(
                and_(
                    c.tenant_id == self.tenant,
                    c.duplicate_key.in_(set(keys)),
                    c.state.not_in((st.VOID, st.CORRECTED)),
                    c.frequency == "1",
                )
            )
        )
        out: dict[str, list[str]] = {}
        for key, claim_id in rows:
            if claim_id != exclude:
                out.setdefault(key, []).append(claim_id)
        return out

    async def billed_with_the_payer(
        self, payers: Iterable[str], members: Iterable[str], first: date, last: date
    ) -> list[Any]:
        """Claims the payer has or will get (neither drafts nor void requests, voided or replaced claims) of
        these payers and members with service between ``first`` and ``last``."""
        c = claim.c
        found = await self.conn.execute(
            select(c.id, c.patient_account, c.document, c.frequency, c.original_claim_id).where(
                and_(
                    c.tenant_id == self.tenant,
                    c.payer_id.in_(set(payers)),
                    c.member_id.in_(set(members)),
                    c.service_from <= last,
                    c.service_to >= first,
                    c.state.not_in((st.DRAFT, st.VOID, st.CORRECTED)),
                    c.frequency != "8",
                )
            )
        )
        return list(found)

    async def replaced_by(self, claim_id: str) -> set[str]:
        """The original this claim replaces, when it is a replacement (frequency 7)."""
        c = claim.c
        stmt = select(c.original_claim_id).where(and_(self._one(claim_id), c.frequency == "7"))
        return set((await self.conn.execute(stmt)).scalars())

    async def open_requests(self, original_ids: set[str], states: Sequence[str]) -> dict[str, Any]:
        """The void or replacement (frequency 8/7) of each of these claims in one of ``states``, by original id
        (the latest one, when there are several)."""
        if not original_ids:
            return {}
        c = claim.c
        rows = await self.conn.execute(
            select(c.id, c.state, c.frequency, c.original_claim_id, c.created_at).where(
                and_(
                    c.tenant_id == self.tenant,
                    c.original_claim_id.in_(original_ids),
                    c.frequency.in_(("7", "8")),
                    c.state.in_(states),
                )
            )
        )
        # ordered here: an ORDER BY makes SQLite walk the tenant's claims in the list's index instead
        return {row.original_claim_id: row for row in sorted(rows, key=lambda r: r.created_at)}

    async def billed_to(self, original_id: str, payer_id: str) -> bool:
        """Whether a claim linked to this one was billed to this payer (a secondary claim)."""
        c = claim.c
        stmt = select(c.id).where(
            and_(c.tenant_id == self.tenant, c.original_claim_id == original_id, c.payer_id == payer_id)
        )
        return (await self.conn.execute(stmt)).first() is not None

    async def of_submission(self, submission_id: str) -> list[str]:
        c = claim.c
        stmt = select(c.id).where(and_(c.tenant_id == self.tenant, c.submission_id == submission_id))
        return [claim_id for (claim_id,) in await self.conn.execute(stmt)]

    async def page(self, states: Sequence[str] | None, payer_id: str | None, limit: int, offset: int) -> list[Any]:
        """The claims list, oldest first."""
        c = claim.c
        cond = [c.tenant_id == self.tenant]
        if states:
            cond.append(c.state.in_(states))
        if payer_id:
            cond.append(c.payer_id == payer_id)
        stmt = select(claim).where(and_(*cond)).order_by(c.created_at, c.id).limit(limit).offset(offset)
        return list(await self.conn.execute(stmt))

    async def history(self, claim_id: str) -> list[Any]:
        t = claim_transition.c
        stmt = select(claim_transition).where(and_(t.tenant_id == self.tenant, t.claim_id == claim_id)).order_by(t.id)
        return list(await self.conn.execute(stmt))

    # -- status records ------------------------------------------------------------------------------------
    async def add_status_records(self, records: Sequence[dict[str, Any]]) -> None:
        """Acknowledgments or status answers received (999, 277CA, 277), inquiries sent (276), 835s recorded."""
        rows = [{**r, "tenant_id": self.tenant, "summary": r["summary"][:2000]} for r in records]
        await bulk_insert(self.conn, claim_status_record, rows)

    async def status_records(self, claim_id: str) -> list[Any]:
        r = claim_status_record.c
        stmt = (
            select(claim_status_record).where(and_(r.tenant_id == self.tenant, r.claim_id == claim_id)).order_by(r.id)
        )
        return list(await self.conn.execute(stmt))

    # -- patient accounts ----------------------------------------------------------------------------------
    async def accounts(self, keys: Sequence[str]) -> dict[str, str]:
        """The account ids of these patient match keys, those known."""
        a = patient_account.c
        known: dict[str, str] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = set(keys[start : start + CHUNK])
            found = await self.conn.execute(
                select(a.match_key, a.id).where(and_(a.tenant_id == self.tenant, a.match_key.in_(chunk)))
            )
            known.update({k: i for k, i in found})
        return known

    async def open_accounts(self, new: dict[str, str]) -> dict[str, str]:
        """Open these accounts (match key -> id); returns the stored ones, which a concurrent entry may have
        opened first for the same patient."""
        now = datetime.now(UTC)
        rows = [{"id": i, "tenant_id": self.tenant, "match_key": k, "created_at": now} for k, i in new.items()]
        await bulk_insert(self.conn, patient_account, rows, skip_conflicts=True)
        a = patient_account.c
        stored = await self.conn.execute(
            select(a.match_key, a.id).where(and_(a.tenant_id == self.tenant, a.match_key.in_(list(new))))
        )
        return {k: i for k, i in stored}

    # -- what other services tell ----------------------------------------------------------------------------
    async def store_eligibility(self, values: dict[str, Any]) -> None:
        """An eligibility answer; the same check stored twice is stored once."""
        await self.conn.execute(insert_ignore(self.conn, eligibility_snapshot, {"tenant_id": self.tenant, **values}))

    async def eligibility_for_many(self, docs: Sequence[ClaimCreate]) -> dict[tuple[str, str], Eligibility]:
        """The latest eligibility answer of each (payer, member) of these documents."""
        e = eligibility_snapshot.c
        members = {d.subscriber.member_id for d in docs}
        payers = {d.payer.payer_id for d in docs}  # the index is (tenant, payer, member)
        rows = await self.conn.execute(
            select(eligibility_snapshot)
            .where(and_(e.tenant_id == self.tenant, e.payer_id.in_(payers), e.member_id.in_(members)))
            .order_by(e.checked_at)
        )
        latest: dict[tuple[str, str], Eligibility] = {}
        for row in rows:  # ordered by time: the last one wins
            latest[(row.payer_id, row.member_id)] = Eligibility(
                row.status, row.check_id, row.coverage_start, row.coverage_end
            )
        return latest

    async def store_denial_move(self, values: dict[str, Any]) -> bool:
        """A denial's money moved off the claim; False when that denial's move is stored already."""
        stored = await self.conn.execute(
            insert_ignore(self.conn, denial_move, {"tenant_id": self.tenant, **values, "moved_at": datetime.now(UTC)})
        )
        return bool(stored.rowcount)

    async def undo_denial_move(self, denial_id: str) -> bool:
        """Mark a denial's move undone; False when there is none, or it is undone already."""
        m = denial_move.c
        done = await self.conn.execute(
            update(denial_move)
            .where(and_(m.tenant_id == self.tenant, m.denial_id == denial_id, m.undone_at.is_(None)))
            .values(undone_at=datetime.now(UTC))
        )
        return bool(done.rowcount)
