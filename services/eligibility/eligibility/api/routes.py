"""HTTP routes of the eligibility service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from rcm_shared.web import ActorDep, ProblemError, TenantDep, UnitsDep, audit_entry, audited
from rcm_shared.x12.errors import X12Error

from eligibility.adapters.claims_api import (
    MRN_MAX_LENGTH,
    MRN_PATTERN,
    ClaimsApiError,
    ClaimsApiRefused,
    ClaimsApiUnavailable,
    ClaimsApiUntrusted,
)
from eligibility.adapters.claims_api import SCOPE as CLAIMS_SCOPE
from eligibility.api.deps import RegistrationsDep
from eligibility.api.schemas import BatchCreate, CheckCreate, CheckRead, RegistrationCheckCreate
from eligibility.use_cases import checks
from eligibility.use_cases.batches import batch_status, create_batch, run_batch
from eligibility.use_cases.cache import remember
from eligibility.use_cases.checks import CheckRefused, CheckResult, PayerUnavailable, run_check
from eligibility.use_cases.registration_checks import check_registration
from eligibility.use_cases.responses import ingest_271

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
    description="The 270 is asked by `provider` (loop 2100B) when the request names one. Left out, it is asked "
    "by the organization's billing provider: the one of its practice profile (kept by the claims service) in "
    "effect on `service_date`, or its earliest profile when `service_date` precedes them all. With no provider "
    "in the request and no practice profile for the organization, the answer is 422 'No provider for the 270' "
    "and nothing is sent. A recent active answer for the same member, payer, date and service types is "
    "reused (200, `cached: true`) whoever the provider.",
)
async def post_check(body: CheckCreate, request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep) -> Any:
    state = request.app.state
    # a new check's audit row is committed with its rows: one commit, not two
    return await _answer(
        request, run_check(units, tenant, actor, state.settings, state.failover, body, audit_entry(request, 201))
    )


@router.post(
    "/patients/{mrn}/checks",
    response_model=CheckRead,
    status_code=201,
    summary="Check a registered patient's coverage: the subscriber, payer and member id from the EHR's ADT",
    description="The patient's registration (HL7 ADT, kept by the claims service) is read from the claims API "
    "on behalf of the caller: its token is passed on and needs the scope `claims:read` (else 403; 502 when the "
    "claims API does not accept the token at all, a configuration fault between the services). The MRN has up to "
    "80 letters, digits, '-', '_' and '.' (not dots alone), else 422. The "
    "coverage at IN1 position `coverage` (1 primary, 2 secondary, 3 tertiary; 422 naming the positions there "
    "are) is checked as `POST /v1/eligibility/checks` checks: its insured person is the subscriber when the "
    "patient is not the insured (the patient then the dependent), else the patient; its member id, group "
    "number and payer. 404 when the MRN is not registered; 422 naming what a 270 needs and the registration "
    "lacks (a birth date, a first name); 503 with Retry-After when the claims API is down or slow.",
)
async def post_registration_check(
    # a segment of the claims API's path: "..", "/" or "?" would make it another path
    mrn: Annotated[str, Path(pattern=MRN_PATTERN, max_length=MRN_MAX_LENGTH)],
    body: RegistrationCheckCreate,
    request: Request,
    units: UnitsDep,
    tenant: TenantDep,
    actor: ActorDep,
    registrations: RegistrationsDep,
) -> Any:
    state = request.app.state
    check = check_registration(
        units, tenant, actor, state.settings, state.failover, registrations, mrn, body, audit_entry(request, 201)
    )
    try:
        return await _answer(request, check)
    except ClaimsApiUntrusted as exc:
        raise ProblemError(502, "Token not accepted by the claims API", str(exc)) from None
    except ClaimsApiRefused as exc:
        raise ProblemError(403, "Refused by the claims API", str(exc), required_scope=CLAIMS_SCOPE) from None
    except ClaimsApiUnavailable as exc:
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        raise ProblemError(503, "Claims API unavailable", str(exc), headers=retry) from None
    except ClaimsApiError as exc:
        raise ProblemError(502, "Invalid answer from the claims API", str(exc)) from None


async def _answer(request: Request, check: Awaitable[CheckResult]) -> Response:
    """A check's answer: 201 and the new check, or 200 and the recent one reused; the payer's and the
    clearinghouses' failures as problems."""
    try:
        result = await check
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
async def get_check(check_id: str, units: UnitsDep, tenant: TenantDep) -> CheckRead:
    async with units.read(tenant) as unit:
        return _read(await checks.get_check(unit, check_id))


@router.get("/checks", response_model=list[CheckRead])
async def list_checks(
    units: UnitsDep,
    tenant: TenantDep,
    member: str,
    payer: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CheckRead]:
    async with units.read(tenant) as unit:
        return [_read(r) for r in await checks.list_checks(unit, member, payer, limit)]


@router.post(
    "/responses",
    response_model=list[CheckRead],
    status_code=201,
    summary="Ingest a raw 271 (text/plain or application/edi-x12)",
)
async def post_response(request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep) -> list[CheckRead]:
    body = (await request.body()).decode("utf-8", errors="replace")
    async with units.write(tenant, actor) as unit:
        rows = await ingest_271(unit, body)
    remember(units, rows)  # committed
    return [_read(r) for r in rows]


@router.post("/batches", status_code=202, summary="Run many checks (e.g. tomorrow's appointments) in the background")
async def post_batch(
    body: BatchCreate, request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep
) -> dict[str, Any]:
    async with units.write(tenant, actor) as unit:
        batch_id = await create_batch(unit, body.checks)
    state = request.app.state
    task = asyncio.create_task(
        run_batch(units, tenant, actor, state.settings, state.failover, batch_id, body.per_payer_concurrency)
    )
    state.batch_tasks.add(task)  # keep a reference until done
    task.add_done_callback(state.batch_tasks.discard)
    return {"id": batch_id, "total": len(body.checks), "status": "running"}


@router.get("/batches/{batch_id}", summary="Progress and results of a batch")
async def get_batch(batch_id: str, units: UnitsDep, tenant: TenantDep) -> dict[str, Any]:
    async with units.read(tenant) as unit:
        return await batch_status(unit, batch_id)
