"""The audit trail: an append-only record of every request to a service's PHI-bearing routes, in the
service's own schema, tamper-evident by a hash chain.

One row per request: who (the token's client, or ``anonymous``), the organization, the action (read,
create, update, delete), the resource (route template and the ids in its path), when, the outcome
(HTTP status: success, denied, invalid, error) and the request's correlation id. Each row's ``hash`` is
SHA-256 over the previous row's hash and the row's own fields, so altering, deleting or reordering a row
breaks every hash after it; ``verify`` walks the chain. Rows are appended under a lock (SQLite's write
lock; a transaction-level advisory lock on PostgreSQL), so the chain has one order; an API process
appends the rows of concurrent requests together (:class:`AuditWriter`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from alembic.operations import Operations
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import Column, Index, Integer, MetaData, Select, String, Table, and_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rcm_shared.bus.tables import BigId, UtcDateTime
from rcm_shared.db import MAX_OFFSET, GroupCommit, bulk_insert, read_connection

GENESIS = "0" * 64
ACTIONS = {"GET": "read", "HEAD": "read", "POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
_LOCK_KEY = 0x52434D41  # "RCMA": the advisory lock serializing appends on PostgreSQL


def _audit_columns() -> list[Column[Any]]:
    return [
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("tenant_id", String(64), nullable=False),
        Column("at", UtcDateTime(), nullable=False),
        Column("actor", String(120), nullable=False),
        Column("action", String(10), nullable=False),
        Column("method", String(10), nullable=False),
        Column("resource", String(200), nullable=False),  # the route template: /v1/claims/{claim_id}
        Column("resource_id", String(200), nullable=True),  # the ids in the path, in order
        Column("status", Integer, nullable=False),
        Column("outcome", String(10), nullable=False),
        Column("request_id", String(100), nullable=True),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    ]


_INDEXES = {
    "ix_audit_event_tenant_at": ["tenant_id", "at"],
    "ix_audit_event_tenant_resource_id": ["tenant_id", "resource_id"],
}
# version 2: a tenant's trail in id order, so that a page of GET /v1/audit stops at the page instead of
# sorting the tenant's whole trail
_INDEXES_2 = {"ix_audit_event_tenant_id": ["tenant_id", "id"]}


def audit_table(metadata: MetaData) -> Table:
    indexes = {**_INDEXES, **_INDEXES_2}
    return Table("audit_event", metadata, *_audit_columns(), *(Index(name, *cols) for name, cols in indexes.items()))


def create_audit_table(op: Operations) -> None:
    """Version 1 of the audit table, for each service's migration that adds it."""
    op.create_table("audit_event", *_audit_columns())
    for name, cols in _INDEXES.items():
        op.create_index(name, "audit_event", cols)


def drop_audit_table(op: Operations) -> None:
    op.drop_table("audit_event")


def upgrade_audit_table_2(op: Operations) -> None:
    """Version 2 of the audit table (its trail in id order per tenant), for each service's migration."""
    for name, cols in _INDEXES_2.items():
        op.create_index(name, "audit_event", cols)


def downgrade_audit_table_2(op: Operations) -> None:
    for name in _INDEXES_2:
        op.drop_index(name, table_name="audit_event")


def outcome_of(status: int) -> str:
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    return "error" if status >= 500 else "invalid"


_FIELDS = ("tenant_id", "at", "actor", "action", "method", "resource", "resource_id", "status", "outcome", "request_id")


def _digest(prev_hash: str, row: Mapping[str, Any]) -> str:
    fields = {k: row[k] for k in _FIELDS}
    fields["at"] = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")  # aware: UtcDateTime
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    tenant_id: str
    actor: str
    method: str
    resource: str
    resource_id: str | None
    status: int
    request_id: str | None


@functools.cache
def _last_hash(table: Table) -> Select[Any]:
    """Built once per table: building it cost each append more CPU than running it."""
    return select(table.c.hash).order_by(table.c.id.desc()).limit(1)


async def append_many(conn: AsyncConnection, table: Table, entries: Sequence[AuditEntry]) -> None:
    """Chain the entries, in order, after the last row, in the caller's transaction."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    prev = (await conn.execute(_last_hash(table))).scalar() or GENESIS
    rows = []
    for entry in entries:
        row: dict[str, Any] = {
            "tenant_id": entry.tenant_id,
            "at": datetime.now(UTC),
            "actor": entry.actor[:120],
            "action": ACTIONS.get(entry.method, entry.method.lower()),
            "method": entry.method,
            "resource": entry.resource[:200],
            "resource_id": entry.resource_id[:200] if entry.resource_id else None,
            "status": entry.status,
            "outcome": outcome_of(entry.status),
            "request_id": entry.request_id,
        }
        row["prev_hash"], row["hash"] = prev, _digest(prev, row)
        prev = row["hash"]
        rows.append(row)
    await bulk_insert(conn, table, rows)  # in list order: ids follow the chain


class AuditWriter:
    """The audit rows of one API process, appended through the engine's ``GroupCommit``: each request waits
    until its row is committed (no row, no answer); the rows that arrive while one transaction commits
    share the next (with what else the requests write), appended in arrival order.

    A transaction per request would make every request a writer: on SQLite, with a pool of connections
    queueing on the write lock, the busy handler's back-off (sleeps of up to 100 ms, again and again) would
    set the p99 of even a cached read.
    """

    def __init__(self, engine: AsyncEngine, table: Table) -> None:
        self._engine = engine
        self._table = table

    async def _write(self, conn: AsyncConnection, entries: list[AuditEntry]) -> list[None]:
        await append_many(conn, self._table, entries)
        return [None] * len(entries)

    async def append(self, entry: AuditEntry) -> None:
        """Returns once the entry's row is committed; raises what kept its transaction from committing."""
        await GroupCommit.of(self._engine).submit(self._write, entry)

    async def close(self) -> None:
        """Wait for the rows still being written (at the end of the app's lifespan)."""
        await GroupCommit.of(self._engine).close()


@dataclass
class Verdict:
    ok: bool
    rows: int
    first_broken_id: int | None = None
    reason: str | None = None


async def verify(engine: AsyncEngine, table: Table, batch: int = 5000) -> Verdict:
    """Walk the whole chain in id order; the first row whose links or hash do not hold breaks it."""
    prev = GENESIS
    count = 0
    after = 0
    async with read_connection(engine) as conn:
        while True:
            rows = list(await conn.execute(select(table).where(table.c.id > after).order_by(table.c.id).limit(batch)))
            if not rows:
                return Verdict(True, count)
            for r in rows:
                data = r._mapping
                if r.prev_hash != prev:
                    return Verdict(False, count, r.id, "the row does not link to the row before it")
                if _digest(prev, dict(data)) != r.hash:
                    return Verdict(False, count, r.id, "the row's content does not match its hash")
                prev = r.hash
                count += 1
                after = r.id


# -- the API every service exposes over its own trail (scope audit:read) ------------------------------
class AuditRead(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    method: str
    resource: str
    resource_id: str | None
    status: int
    outcome: str
    request_id: str | None


class VerdictRead(BaseModel):
    ok: bool
    rows: int
    first_broken_id: int | None
    reason: str | None


def audit_router(table: Table) -> APIRouter:
    router = APIRouter(prefix="/v1/audit", tags=["audit"])
    scope = {"x-required-scope": "audit:read"}

    @router.get("", response_model=list[AuditRead], openapi_extra=scope, summary="The caller's organization's trail")
    async def list_audit(
        request: Request,
        resource_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> list[AuditRead]:
        from rcm_shared.web import tenant_of

        c = table.c
        cond = [c.tenant_id == tenant_of(request)]
        if resource_id:
            cond.append(c.resource_id == resource_id)
        if actor:
            cond.append(c.actor == actor)
        if since:
            cond.append(c.at >= since)
        async with read_connection(request.app.state.engine) as conn:
            rows = await conn.execute(select(table).where(and_(*cond)).order_by(c.id).limit(limit).offset(offset))
            return [AuditRead.model_validate(r._mapping, from_attributes=False) for r in rows]

    @router.get("/verify", response_model=VerdictRead, openapi_extra=scope, summary="Check the whole hash chain")
    async def verify_audit(request: Request) -> VerdictRead:
        verdict = await verify(request.app.state.engine, table)
        return VerdictRead(**verdict.__dict__)

    return router
