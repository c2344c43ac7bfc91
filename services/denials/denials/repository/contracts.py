"""Payer contracts of the unit's tenant: contracts, their versions (never changed once written) and fee lines."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rcm_shared.db import bulk_insert
from rcm_shared.errors import Conflict, NotFound
from rcm_shared.ids import new_id
from rcm_shared.unit import Unit
from sqlalchemy import and_, func, insert, select
from sqlalchemy.exc import IntegrityError

from denials.domain.contracts import NewVersion, StoredVersion, Terms
from denials.domain.pricing import FeeLine
from denials.models import contract, contract_fee_line, contract_version

c, v, f = contract.c, contract_version.c, contract_fee_line.c
CHUNK = 500  # ids or codes per IN list


def terms_of(row: Any) -> Terms:
    return Terms(
        default_rule=row.default_rule,
        default_percent=Decimal(row.default_percent),
        medicare_locality=row.medicare_locality,
        multiple_procedure=bool(row.multiple_procedure),
        bilateral_percent=Decimal(row.bilateral_percent),
        lesser_of_charge=bool(row.lesser_of_charge),
        professional_component_percent=Decimal(row.professional_component_percent),
    )


def stored(row: Any) -> StoredVersion:
    return StoredVersion(row.id, row.contract_id, row.version, row.effective_from, row.effective_to, terms_of(row))


def _chunks(values: Collection[str]) -> list[list[str]]:
    ordered = sorted(values)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


class ContractRepository:
    def __init__(self, unit: Unit) -> None:
        self.conn = unit.conn
        self.tenant = unit.tenant
        self.actor = unit.actor.name[:120]

    # -- contracts ---------------------------------------------------------------------------------------
    async def contracts(self, payer_id: str | None = None) -> list[Any]:
        cond = [c.tenant_id == self.tenant]
        if payer_id:
            cond.append(c.payer_id == payer_id)
        return list(await self.conn.execute(select(contract).where(and_(*cond)).order_by(c.payer_id, c.plan)))

    async def get(self, contract_id: str) -> Any:
        row = (
            await self.conn.execute(select(contract).where(and_(c.tenant_id == self.tenant, c.id == contract_id)))
        ).first()
        if row is None:
            raise NotFound(f"no contract {contract_id}")
        return row

    async def by_key(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """The contracts of these (payer id, plan) keys that exist."""
        payers = {payer for payer, _plan in keys}
        found: dict[tuple[str, str], Any] = {}
        for chunk in _chunks(payers):
            rows = await self.conn.execute(
                select(contract).where(and_(c.tenant_id == self.tenant, c.payer_id.in_(chunk)))
            )
            found.update({(r.payer_id, r.plan): r for r in rows if (r.payer_id, r.plan) in keys})
        return found

    async def add_contract(self, payer_id: str, plan: str, name: str | None) -> str:
        """A new contract; Conflict when another request made the payer's (and plan's) meanwhile."""
        contract_id = new_id()
        try:
            await self.conn.execute(
                insert(contract).values(
                    id=contract_id,
                    tenant_id=self.tenant,
                    payer_id=payer_id,
                    plan=plan,
                    name=name,
                    created_at=datetime.now(UTC),
                    created_by=self.actor,
                )
            )
        except IntegrityError as exc:
            raise Conflict(
                f"the contract of payer {payer_id}{f', plan {plan}' if plan else ''} was created meanwhile by "
                "another request: nothing was written; send it again to add a version"
            ) from exc
        return contract_id

    # -- versions ----------------------------------------------------------------------------------------
    async def version_rows(self, contract_ids: Collection[str]) -> list[Any]:
        """Every version of these contracts with its number of fee lines, by contract and number."""
        lines = (
            select(f.version_id, func.count().label("fee_lines"))
            .where(f.tenant_id == self.tenant)
            .group_by(f.version_id)
            .subquery()
        )
        out: list[Any] = []
        for chunk in _chunks(contract_ids):
            stmt = (
                select(contract_version, func.coalesce(lines.c.fee_lines, 0).label("fee_lines"))
                .outerjoin(lines, lines.c.version_id == v.id)
                .where(and_(v.tenant_id == self.tenant, v.contract_id.in_(chunk)))
                .order_by(v.contract_id, v.version)
            )
            out += list(await self.conn.execute(stmt))
        return out

    async def version(self, contract_id: str, number: int | None = None) -> Any:
        """One version of the contract: its latest when no number is given."""
        cond = [v.tenant_id == self.tenant, v.contract_id == contract_id]
        if number is not None:
            cond.append(v.version == number)
        row = (
            await self.conn.execute(select(contract_version).where(and_(*cond)).order_by(v.version.desc()).limit(1))
        ).first()
        if row is None:
            raise NotFound(
                f"contract {contract_id} has no version {number}" if number else f"no contract {contract_id}"
            )
        return row

    async def latest_numbers(self, contract_ids: Collection[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(contract_ids):
            rows = await self.conn.execute(
                select(v.contract_id, func.max(v.version))
                .where(and_(v.tenant_id == self.tenant, v.contract_id.in_(chunk)))
                .group_by(v.contract_id)
            )
            out.update({contract_id: int(n) for contract_id, n in rows})
        return out

    async def add_version(
        self, contract_id: str, number: int, new: NewVersion, terms: Terms, source: str, note: str | None = None
    ) -> str:
        """Version ``number`` of the contract with its fee lines; Conflict when another request wrote that number
        meanwhile (two writes of one contract read the same latest version)."""
        try:
            return await self._add_version(contract_id, number, new, terms, source, note)
        except IntegrityError as exc:
            raise Conflict(
                f"version {number} of contract {contract_id} was written meanwhile by another request: nothing "
                "was written; read the contract and send it again"
            ) from exc

    async def _add_version(
        self, contract_id: str, number: int, new: NewVersion, terms: Terms, source: str, note: str | None
    ) -> str:
        version_id = new_id()
        await self.conn.execute(
            insert(contract_version).values(
                id=version_id,
                tenant_id=self.tenant,
                contract_id=contract_id,
                version=number,
                effective_from=new.effective_from,
                effective_to=new.effective_to,
                default_rule=terms.default_rule,
                default_percent=str(terms.default_percent),
                medicare_locality=terms.medicare_locality,
                multiple_procedure=int(terms.multiple_procedure),
                bilateral_percent=str(terms.bilateral_percent),
                lesser_of_charge=int(terms.lesser_of_charge),
                professional_component_percent=str(terms.professional_component_percent),
                source=source,
                note=note if note is not None else new.note,
                created_at=datetime.now(UTC),
                created_by=self.actor,
            )
        )
        rows = [
            {
                "tenant_id": self.tenant,
                "version_id": version_id,
                "code": fee.code,
                "modifier": fee.modifier,
                "rate_cents": fee.rate_cents,
            }
            for fee in new.fee_lines
        ]
        await bulk_insert(self.conn, contract_fee_line, rows)
        return version_id

    async def fee_lines(
        self, version_ids: Collection[str], codes: Collection[str] | None = None
    ) -> dict[str, list[FeeLine]]:
        """The fee lines of these versions (of these codes only, when given), by version id."""
        out: dict[str, list[FeeLine]] = {version_id: [] for version_id in version_ids}
        for chunk in _chunks(version_ids):
            cond = [f.tenant_id == self.tenant, f.version_id.in_(chunk)]
            if codes is not None:
                cond.append(f.code.in_(sorted(codes)))
            stmt = (
                select(f.version_id, f.code, f.modifier, f.rate_cents).where(and_(*cond)).order_by(f.code, f.modifier)
            )
            for version_id, code, modifier, rate in await self.conn.execute(stmt):
                out[version_id].append(FeeLine(code, modifier, int(rate)))
        return out

    async def payer_versions(self, payer_ids: Collection[str]) -> dict[str, list[StoredVersion]]:
        """The versions of each payer's contract for all its plans (plan ""), the one claims are priced by."""
        out: dict[str, list[StoredVersion]] = {}
        for chunk in _chunks(payer_ids):
            stmt = (
                select(c.payer_id, contract_version)
                .join(contract_version, and_(v.contract_id == c.id, v.tenant_id == c.tenant_id))
                .where(and_(c.tenant_id == self.tenant, c.payer_id.in_(chunk), c.plan == ""))
            )
            for row in await self.conn.execute(stmt):
                out.setdefault(row.payer_id, []).append(stored(row))
        return out

    async def stored_versions(self, version_ids: Sequence[str]) -> dict[str, StoredVersion]:
        out: dict[str, StoredVersion] = {}
        for chunk in _chunks(version_ids):
            rows = await self.conn.execute(
                select(contract_version).where(and_(v.tenant_id == self.tenant, v.id.in_(chunk)))
            )
            out.update({r.id: stored(r) for r in rows})
        return out
