"""The practice master data of one tenant: profile versions, clearinghouse connections, providers, service
facilities and payer enrollments, every query scoped by the tenant, but ``tenant_of_connection`` and
``any_connection``: inbound interchanges carry no tenant, only the connection's ids, and these two are how
they find theirs (the only reads across tenants here)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.errors import Conflict
from rcm_shared.unit import Unit
from sqlalchemy import Table, and_, exists, func, insert, or_, select, true, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from claims.domain.practice import (
    Address,
    Connection,
    Enrollment,
    Facility,
    Profile,
    Provider,
    from_document,
    to_document,
)
from claims.models import payer_enrollment, practice_connection, practice_profile, practice_provider, service_facility

Pair = tuple[str, str]  # (submitter_id, receiver_id)


def _provider(row: Any) -> Provider:
    return Provider(
        npi=row.npi,
        name=row.name,
        first_name=row.first_name,
        taxonomy=row.taxonomy,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        id=row.id,
        version=row.version,
    )


def _facility(row: Any) -> Facility:
    return Facility(
        facility_id=row.facility_id,
        name=row.name,
        npi=row.npi,
        address=Address(row.address_line1, row.city, row.state, row.postal_code, row.address_line2),
        place_of_service=row.place_of_service,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        id=row.id,
        version=row.version,
    )


def _enrollment(row: Any) -> Enrollment:
    return Enrollment(
        payer_id=row.payer_id,
        name=row.name,
        claim_filing_indicator=row.claim_filing_indicator,
        connection_payer_ids=dict(row.connection_payer_ids or {}),
        era_enrolled=bool(row.era_enrolled),
        eft_enrolled=bool(row.eft_enrolled),
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        id=row.id,
        version=row.version,
    )


def _profile(row: Any) -> Profile:
    return from_document(row.version, row.effective_from, row.effective_to, row.legal_name, row.document)


class PracticeRepository:
    """On a unit (its tenant and actor), or on a connection alone for the cross-tenant lookups
    (``PracticeRepository(conn)``: ``tenant_of_connection``, ``any_connection``)."""

    def __init__(self, unit_or_conn: Unit | AsyncConnection, tenant: str | None = None) -> None:
        if isinstance(unit_or_conn, Unit):
            self.conn = unit_or_conn.conn
            self._tenant: str | None = unit_or_conn.tenant
            self.actor = unit_or_conn.actor.name
        else:
            self.conn = unit_or_conn
            self._tenant = tenant
            self.actor = "system"

    @property
    def tenant(self) -> str:
        if self._tenant is None:
            raise RuntimeError("this repository has no tenant: open it on a unit for the tenant's data")
        return self._tenant

    # reads by date: the newest version (highest number) whose window holds the date ----------------------------

    def _on(self, table: Table, on: date) -> Any:
        """The tenant's versions whose window holds the date."""
        c = table.c
        return and_(
            c.tenant_id == self.tenant, c.effective_from <= on, or_(c.effective_to.is_(None), c.effective_to >= on)
        )

    def _in_effect(self, table: Table, on: date) -> Any:
        """The tenant's versions in effect on the date: whose window holds it, and no newer version's of the same
        key (the profile's key is the tenant) does."""
        newer = table.alias("newer")
        n = newer.c
        same = [n.tenant_id == table.c.tenant_id, n.version > table.c.version]
        if table.name in _KEYS:
            same.append(n[_KEYS[table.name]] == table.c[_KEYS[table.name]])
        covering = and_(n.effective_from <= on, or_(n.effective_to.is_(None), n.effective_to >= on))
        return and_(self._on(table, on), ~exists().where(*same, covering))

    async def _one_on(self, table: Table, key: Any, on: date) -> Any:
        stmt = select(table).where(self._on(table, on), key).order_by(table.c.version.desc()).limit(1)
        return (await self.conn.execute(stmt)).first()

    async def profile(self, on: date) -> Profile | None:
        """The tenant's profile version in effect on a date."""
        row = await self._one_on(practice_profile, true(), on)
        return _profile(row) if row else None

    async def provider(self, npi: str, on: date) -> Provider | None:
        row = await self._one_on(practice_provider, practice_provider.c.npi == npi, on)
        return _provider(row) if row else None

    async def facility(self, facility_id: str, on: date) -> Facility | None:
        row = await self._one_on(service_facility, service_facility.c.facility_id == facility_id, on)
        return _facility(row) if row else None

    async def enrollment(self, payer_id: str, on: date) -> Enrollment | None:
        row = await self._one_on(payer_enrollment, payer_enrollment.c.payer_id == payer_id, on)
        return _enrollment(row) if row else None

    async def any_enrollment(self) -> bool:
        """Whether the tenant configured any payer enrollment (of any date)."""
        stmt = select(exists().where(payer_enrollment.c.tenant_id == self.tenant))
        return bool((await self.conn.execute(stmt)).scalar())

    # the cross-tenant lookups of inbound routing ----------------------------------------------------------

    async def tenant_of_connection(self, submitter_id: str, receiver_id: str) -> str | None:
        """The tenant that registered this connection (ids as the tenant sends: its own ``submitter_id``, the
        clearinghouse's ``receiver_id``; inbound files carry them swapped), of all tenants; None if none did.
        ISA ids are padded to 15 characters: the padding is ignored."""
        c = practice_connection.c
        stmt = select(c.tenant_id).where(
            and_(c.submitter_id == submitter_id.strip(), c.receiver_id == receiver_id.strip())
        )
        found: str | None = (await self.conn.execute(stmt)).scalar_one_or_none()
        return found

    async def any_connection(self) -> bool:
        """Whether any tenant registered a clearinghouse connection."""
        return bool((await self.conn.execute(select(exists().select_from(practice_connection)))).scalar())

    # profile versions --------------------------------------------------------------------------------------

    async def profiles(self) -> list[Profile]:
        """Every version of the tenant's profile, oldest first."""
        c = practice_profile.c
        rows = await self.conn.execute(select(practice_profile).where(c.tenant_id == self.tenant).order_by(c.version))
        return [_profile(r) for r in rows]

    async def latest_profile(self) -> Profile | None:
        c = practice_profile.c
        stmt = select(practice_profile).where(c.tenant_id == self.tenant).order_by(c.version.desc()).limit(1)
        row = (await self.conn.execute(stmt)).first()
        return _profile(row) if row else None

    async def add_profile(self, profile: Profile) -> Profile:
        """Store ``profile`` as the tenant's next version; Conflict when another request stored one meanwhile."""
        c = practice_profile.c
        latest = (await self.conn.execute(select(func.max(c.version)).where(c.tenant_id == self.tenant))).scalar()
        version = (latest or 0) + 1
        values = {
            "tenant_id": self.tenant,
            "version": version,
            "effective_from": profile.effective_from,
            "effective_to": profile.effective_to,
            "legal_name": profile.legal_name,
            "document": to_document(profile),
            "created_at": datetime.now(UTC),
            "created_by": self.actor[:200],
        }
        await self._insert(practice_profile, values, "the practice profile changed meanwhile; read it and retry")
        return _profile(_Row(values))

    async def connection_owners(self, pairs: Sequence[Pair]) -> dict[Pair, str]:
        """The tenant holding each of these (submitter_id, receiver_id) pairs that one holds (any tenant)."""
        if not pairs:
            return {}
        c = practice_connection.c
        stmt = select(c.submitter_id, c.receiver_id, c.tenant_id).where(
            tuple_(c.submitter_id, c.receiver_id).in_(list(pairs))
        )
        return {(s, r): t for s, r, t in await self.conn.execute(stmt)}

    async def register_connections(self, version: int, connections: Sequence[Connection]) -> None:
        """Make these connections the tenant's (those it holds already are left as they are)."""
        held = await self.connection_owners([(c.submitter_id, c.receiver_id) for c in connections])
        now = datetime.now(UTC)
        for conn in connections:
            if (conn.submitter_id, conn.receiver_id) in held:
                continue
            values = {
                "submitter_id": conn.submitter_id,
                "receiver_id": conn.receiver_id,
                "tenant_id": self.tenant,
                "name": conn.name,
                "version": version,
                "registered_at": now,
            }
            await self._insert(
                practice_connection,
                values,
                f"the connection {conn.submitter_id} -> {conn.receiver_id} is registered by another organization",
            )

    # providers, facilities, enrollments ----------------------------------------------------------------------

    async def _versions(self, table: Table, key: Any, on: date | None, limit: int, offset: int) -> list[Any]:
        c = table.c
        cond = [self._in_effect(table, on) if on is not None else c.tenant_id == self.tenant]
        if key is not None:
            cond.append(key)
        key_column = table.c[_KEYS[table.name]]
        stmt = select(table).where(*cond).order_by(key_column, c.version).limit(limit).offset(offset)
        return list(await self.conn.execute(stmt))

    async def _add_version(self, table: Table, values: dict[str, Any]) -> Any:
        """Insert the next version of a key (its number one above the key's highest); the new row. Conflict when
        another request added one meanwhile."""
        key = _KEYS[table.name]
        c = table.c
        stmt = select(func.max(c.version)).where(c.tenant_id == self.tenant, c[key] == values[key])
        latest = (await self.conn.execute(stmt)).scalar()
        row = {
            **values,
            "tenant_id": self.tenant,
            "id": str(uuid.uuid4()),
            "version": (latest or 0) + 1,
            "created_at": datetime.now(UTC),
            "created_by": self.actor[:200],
        }
        await self._insert(table, row, f"{row[key]} got another version meanwhile; read it and retry")
        return _Row(row)

    async def providers(self, npi: str | None, on: date | None, limit: int, offset: int) -> list[Provider]:
        key = practice_provider.c.npi == npi if npi else None
        return [_provider(r) for r in await self._versions(practice_provider, key, on, limit, offset)]

    async def add_provider(self, p: Provider) -> Provider:
        values = {
            "npi": p.npi,
            "name": p.name,
            "first_name": p.first_name,
            "taxonomy": p.taxonomy,
            "effective_from": p.effective_from,
            "effective_to": p.effective_to,
        }
        return _provider(await self._add_version(practice_provider, values))

    async def facilities(self, facility_id: str | None, on: date | None, limit: int, offset: int) -> list[Facility]:
        key = service_facility.c.facility_id == facility_id if facility_id else None
        return [_facility(r) for r in await self._versions(service_facility, key, on, limit, offset)]

    async def add_facility(self, f: Facility) -> Facility:
        values = {
            "facility_id": f.facility_id,
            "name": f.name,
            "npi": f.npi,
            "address_line1": f.address.line1,
            "address_line2": f.address.line2,
            "city": f.address.city,
            "state": f.address.state,
            "postal_code": f.address.postal_code,
            "place_of_service": f.place_of_service,
            "effective_from": f.effective_from,
            "effective_to": f.effective_to,
        }
        return _facility(await self._add_version(service_facility, values))

    async def enrollments(self, payer_id: str | None, on: date | None, limit: int, offset: int) -> list[Enrollment]:
        key = payer_enrollment.c.payer_id == payer_id if payer_id else None
        return [_enrollment(r) for r in await self._versions(payer_enrollment, key, on, limit, offset)]

    async def add_enrollment(self, e: Enrollment) -> Enrollment:
        values = {
            "payer_id": e.payer_id,
            "name": e.name,
            "connection_payer_ids": dict(e.connection_payer_ids),
            "claim_filing_indicator": e.claim_filing_indicator,
            "era_enrolled": e.era_enrolled,
            "eft_enrolled": e.eft_enrolled,
            "effective_from": e.effective_from,
            "effective_to": e.effective_to,
        }
        return _enrollment(await self._add_version(payer_enrollment, values))

    async def _insert(self, table: Table, values: dict[str, Any], conflict: str) -> None:
        """Insert one row; a key another transaction took meanwhile is a Conflict (the caller may retry), not
        an error. The unit rolls back with it."""
        try:
            await self.conn.execute(insert(table).values(**values))
        except IntegrityError as exc:
            raise Conflict(conflict) from exc


_KEYS = {"practice_provider": "npi", "service_facility": "facility_id", "payer_enrollment": "payer_id"}


class _Row:
    """Inserted values read like a fetched row (attribute access)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
