"""The eligibility service's FHIR R4 API: a CoverageEligibilityRequest checked as the REST check is (the same use
case: the same 270, the same normalized 271, the same reuse of a recent answer): created (the request back), or
submitted (`$submit`: the CoverageEligibilityResponse back); both read and searched by the check's id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from rcm_shared.errors import Invalid
from rcm_shared.fhir import (
    BASE_PATH,
    FhirError,
    FhirResponse,
    Issue,
    Search,
    check_format,
    fhir_base,
    operation_outcome,
    paged,
    parse_search,
    read_resource,
    reference_id,
    searchset,
    token,
)
from rcm_shared.fhir.surfaces import ELIGIBILITY
from rcm_shared.web import ActorDep, TenantDep, UnitsDep, audit_entry, audited
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.sets.x270 import EligibilityResponse

from eligibility.api.fhir_request_in import inquiry_of
from eligibility.api.fhir_resources import eligibility_request, eligibility_response
from eligibility.use_cases import checks
from eligibility.use_cases.checks import CheckQuery, CheckRefused, PayerUnavailable, answer_of, run_check

router = APIRouter(prefix=BASE_PATH, tags=["fhir"], dependencies=[Depends(check_format)])

REQUEST = "CoverageEligibilityRequest"
RESPONSE = "CoverageEligibilityResponse"
FM_STATUS = "http://hl7.org/fhir/fm-status"


def _answer(row: Any) -> EligibilityResponse | None:
    """The payer's answer as the stored 271 holds it (names, time periods the normalized answer leaves out)."""
    try:
        return answer_of(row, row.member_id)
    except X12Error:
        return None


async def _check(request: Request, units: UnitsDep, tenant: str, actor: Any, body: dict[str, Any], created: int) -> Any:
    """The posted request checked: the check made (``created``: the status of a new one, audited so), or the
    earlier check whose recent answer is reused (``.cached``)."""
    asked = inquiry_of(body, fhir_base(request))
    state = request.app.state
    audit = audit_entry(request, created)
    try:
        result = await run_check(
            units,
            tenant,
            actor,
            state.settings,
            state.failover,
            asked.check,
            audit,
            patient_id=asked.patient_id,
            fhir_request=asked.fhir_request,
        )
    except Invalid as exc:  # no provider named and no practice profile to ask as
        raise FhirError(422, [Issue(str(exc), "required", expression=f"{REQUEST}.provider")]) from None
    except CheckRefused as exc:
        status = 422 if exc.status in (400, 422) else 502
        raise FhirError(status, [Issue(str(exc), "processing" if status == 422 else "exception")]) from None
    except PayerUnavailable as exc:
        raise FhirError(502, [Issue(f"payer unavailable: {exc}", "transient")]) from None
    except X12Error as exc:
        raise FhirError(502, [Issue(f"invalid 271 from the payer: {exc}", "exception")]) from None
    if not result.cached:
        audited(request, created)
    return result


def _preferred_return(request: Request) -> str:
    """What a create's answer holds (the Prefer header's `return`): the resource (representation, the default),
    nothing (minimal) or an OperationOutcome."""
    for part in request.headers.get("prefer", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "return" and value.strip().strip('"') in ("minimal", "OperationOutcome"):
            return value.strip().strip('"')
    return "representation"


@router.post(
    f"/{REQUEST}",
    response_class=FhirResponse,
    status_code=201,
    summary="Check coverage: a CoverageEligibilityRequest (contained resources or a collection Bundle) in, the "
    "request as checked out; its answer at CoverageEligibilityResponse/{id}",
    description="The same check as `POST /v1/eligibility/checks`: a 270 to the payer, the 271 normalized and "
    "stored. 201 with the CoverageEligibilityRequest created (Location and Content-Location name it; "
    "`Prefer: return=minimal` for no body, `return=OperationOutcome` for an outcome); its answer is the "
    "CoverageEligibilityResponse of the same id (`$submit` answers with it). A recent answer to the same "
    "question is reused: 200 and the earlier check's request.",
    openapi_extra={"x-required-scope": "eligibility:request"},
)
async def create_request(request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep) -> Any:
    body = await read_resource(request, REQUEST, "Bundle")
    result = await _check(request, units, tenant, actor, body, 201)
    row = result.row
    here = f"{fhir_base(request)}/{REQUEST}/{row.id}"
    headers = {"Content-Location": here} | ({} if result.cached else {"Location": here})
    status = 200 if result.cached else 201
    preferred = _preferred_return(request)
    if preferred == "minimal":
        return Response(status_code=status, headers=headers)
    if preferred == "OperationOutcome":
        said = f"checked: the answer is {RESPONSE}/{row.id}" + (" (a recent answer reused)" if result.cached else "")
        outcome = operation_outcome([Issue(said, "informational", severity="information")])
        return FhirResponse(outcome, status_code=status, headers=headers)
    return FhirResponse(eligibility_request(row, _answer(row)), status_code=status, headers=headers)


@router.post(
    f"/{REQUEST}/$submit",
    response_class=FhirResponse,
    summary="Check coverage ($submit): the request, a Bundle of it, or Parameters with `resource`; the "
    "CoverageEligibilityResponse out",
    openapi_extra={"x-required-scope": "eligibility:request"},
)
async def submit_request(request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep) -> Any:
    body = await read_resource(request, REQUEST, "Bundle", "Parameters")
    row = (await _check(request, units, tenant, actor, body, 200)).row
    headers = {"Content-Location": f"{fhir_base(request)}/{RESPONSE}/{row.id}"}
    return FhirResponse(eligibility_response(row, _answer(row)), headers=headers)


@router.get(f"/{REQUEST}/{{check_id}}", response_class=FhirResponse, summary="A check as the request it asked")
async def read_request(check_id: str, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        row = await checks.get_check(unit, check_id)
    return FhirResponse(eligibility_request(row, _answer(row)))


@router.get(f"/{RESPONSE}/{{check_id}}", response_class=FhirResponse, summary="A check's answer")
async def read_response(check_id: str, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        row = await checks.get_check(unit, check_id)
    return FhirResponse(eligibility_response(row, _answer(row)))


@router.get(f"/{REQUEST}", response_class=FhirResponse, summary="Search the checks as requests")
async def search_requests(request: Request, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    return await _search(request, units, tenant, REQUEST)


@router.get(f"/{RESPONSE}", response_class=FhirResponse, summary="Search the checks' answers")
async def search_responses(request: Request, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    return await _search(request, units, tenant, RESPONSE)


async def _search(request: Request, units: UnitsDep, tenant: str, kind: str) -> FhirResponse:
    search = parse_search(request, ELIGIBILITY.search_names(kind))
    query = _query(search)
    rows: list[Any] = []
    if query is not None:
        async with units.read(tenant) as unit:
            rows = await checks.search_checks(unit, query)
    page, cursor = paged(rows, search, lambda r: (r.created_at, r.id))
    build = eligibility_response if kind == RESPONSE else eligibility_request
    return FhirResponse(searchset(fhir_base(request), kind, search, [build(r, _answer(r)) for r in page], cursor))


def _status(value: str) -> str | None:
    """A status token's code: of the fm-status code system, or of no system named."""
    system, code = token(value)
    return code if system in (None, "", FM_STATUS) else None


def _query(search: Search) -> CheckQuery | None:
    """The checks' query of a search (None: nothing can match). Each parameter's comma-separated values are
    alternatives, a repeated parameter must hold each time (``Search.any_of``). Every check is `active`;
    `created` and `_lastUpdated` are both the moment the check was made (a check never changes)."""
    statuses = search.any_of("status", _status)
    patients = search.any_of("patient", lambda v: reference_id("patient", v, "Patient"))
    requests = search.any_of("request", lambda v: reference_id("request", v, REQUEST))
    if (statuses is not None and "active" not in statuses) or patients == set() or requests == set():
        return None
    moments = search.last_updated.narrowed(search.date("created"))
    return CheckQuery(
        patient_ids=None if patients is None else sorted(patients),
        check_ids=None if requests is None else sorted(requests),
        created_from=moments.lower,
        created_before=moments.upper,
        after=search.after(),
        limit=search.count + 1,
    )
