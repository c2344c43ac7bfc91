"""HTTP routes of the eligibility service."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from rcm_shared.db import read_connection, write_transaction
from rcm_shared.web import EngineDep, ProblemError, TenantDep, audit_entry, audited
from rcm_shared.x12.errors import X12Error
from sqlalchemy import and_, select

from eligibility.api.schemas import CheckCreate, CheckRead
from eligibility.batches import batch_status, create_batch, run_batch
from eligibility.handlers import CheckRefused, PayerUnavailable, RecentAnswers, ingest_271, run_check
from eligibility.models import eligibility_check

router = APIRouter(prefix="/v1/eligibility", tags=["eligibility"])


def refused(exc: CheckRefused) -> ProblemError:
    """A 270 the clearinghouse refused: for its content (400, 422) the caller's request has to change (422);
    for anything else (our credentials, our enrollment) the fault is ours, not the caller's (502)."""
    status = 422 if exc.status in (400, 422) else 502
    return ProblemError(
        status, "Refused by the clearinghouse", str(exc), clearinghouse=exc.clearinghouse, upstream_status=exc.status
    )


def _read(row: Any, cached: bool = False) -> CheckRead:
    return CheckRead(
        id=row.id,
        status=row.status,
        source=row.source,
        cached=cached,
        payer_id=row.payer_id,
        member_id=row.member_id,
        service_date=row.service_date,
        service_types=row.service_types.split(),
        result=row.normalized,
        created_at=row.created_at,
    )


@router.post(
    "/checks",
    response_model=CheckRead,
    status_code=201,
    summary="Check coverage: a 270 to the payer through the clearinghouse, the 271 normalized",
)
async def post_check(body: CheckCreate, request: Request, tenant: TenantDep, engine: EngineDep) -> Any:
    state = request.app.state
    try:  # a new check's audit row is committed with its rows: one commit, not two
        result = await run_check(engine, state.settings, state.failover, tenant, body, audit_entry(request, 201))
    except CheckRefused as exc:
        raise refused(exc) from None
    except PayerUnavailable as exc:
        raise ProblemError(502, "Payer unavailable", str(exc)) from None
    except X12Error as exc:
        raise ProblemError(502, "Invalid 271 from the payer", str(exc), x12=exc.as_dict()) from None
    if not result.cached:
        audited(request, 201)
    read = _read(result.row, cached=result.cached)
    return Response(read.model_dump_json(), status_code=200 if result.cached else 201, media_type="application/json")


@router.get("/checks/{check_id}", response_model=CheckRead)
async def get_check(check_id: str, tenant: TenantDep, engine: EngineDep) -> CheckRead:
    c = eligibility_check.c
    async with read_connection(engine) as conn:
        row = (
            await conn.execute(select(eligibility_check).where(and_(c.tenant_id == tenant, c.id == check_id)))
        ).first()
    if row is None:
        raise ProblemError(404, "Not found", f"no eligibility check {check_id}")
    return _read(row)


@router.get("/checks", response_model=list[CheckRead])
async def list_checks(
    tenant: TenantDep,
    engine: EngineDep,
    member: str,
    payer: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CheckRead]:
    c = eligibility_check.c
    cond = [c.tenant_id == tenant, c.member_id == member]
    if payer:
        cond.append(c.payer_id == payer)
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(eligibility_check).where(and_(*cond)).order_by(c.created_at.desc()).limit(limit)
        )
        return [_read(r) for r in rows]


@router.post(
    "/responses",
    response_model=list[CheckRead],
    status_code=201,
    summary="Ingest a raw 271 (text/plain or application/edi-x12)",
)
async def post_response(request: Request, tenant: TenantDep, engine: EngineDep) -> list[CheckRead]:
    body = (await request.body()).decode("utf-8", errors="replace")
    if not body.strip():
        raise ProblemError(422, "Empty body", "the request carries no 271")
    try:
        async with write_transaction(engine) as conn:
            rows = await ingest_271(conn, request.app.state.settings, tenant, body)
    except X12Error as exc:
        raise ProblemError(422, "Invalid 271", str(exc), x12=exc.as_dict()) from None
    recent = RecentAnswers.of(engine)
    for row in rows:  # committed: the newest answers, as the database lookup would find them
        recent.put(row)
    return [_read(r) for r in rows]


class BatchCreate(BaseModel):
    checks: list[CheckCreate] = Field(min_length=1, max_length=5000)
    per_payer_concurrency: int = Field(default=4, ge=1, le=50)


@router.post("/batches", status_code=202, summary="Run many checks (e.g. tomorrow's appointments) in the background")
async def post_batch(body: BatchCreate, request: Request, tenant: TenantDep, engine: EngineDep) -> dict[str, Any]:
    batch_id = await create_batch(engine, tenant, body.checks)
    app = request.app
    task = asyncio.create_task(
        run_batch(engine, app.state.settings, app.state.failover, tenant, batch_id, body.per_payer_concurrency)
    )
    app.state.batch_tasks.add(task)  # keep a reference until done
    task.add_done_callback(app.state.batch_tasks.discard)
    return {"id": batch_id, "total": len(body.checks), "status": "running"}


@router.get("/batches/{batch_id}", summary="Progress and results of a batch")
async def get_batch(batch_id: str, tenant: TenantDep, engine: EngineDep) -> dict[str, Any]:
    status = await batch_status(engine, tenant, batch_id)
    if status is None:
        raise ProblemError(404, "Not found", f"no batch {batch_id}")
    return status
