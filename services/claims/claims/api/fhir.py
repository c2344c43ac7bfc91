"""The claims service's FHIR R4 API (under /fhir/R4): `Claim/$submit` (charge entry, as `POST /v1/claims`),
Claim, ClaimResponse and Patient reads and searches. Searches page by keyset, newest first: claims by (created,
id), patients by when their account was opened (and its number)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from rcm_shared.fhir import (
    BASE_PATH,
    DateRange,
    FhirError,
    FhirResponse,
    Keyset,
    Search,
    check_format,
    fhir_base,
    paged,
    parse_search,
    read_resource,
    reference_id,
    searchset,
    token,
)
from rcm_shared.fhir.surfaces import CLAIMS as SURFACE
from rcm_shared.web import ActorDep, TenantDep, UnitsDep

from claims.api import fhir_codes as fc
from claims.api.deps import ScrubDep
from claims.api.fhir_claim_in import read_submission
from claims.api.fhir_claim_out import claim_resource
from claims.api.fhir_resources import STATES_OF_OUTCOME, STATES_OF_STATUS, claim_response, patient_resource
from claims.use_cases import fhir_claims

router = APIRouter(prefix=BASE_PATH, tags=["fhir"], dependencies=[Depends(check_format)])


def _span(found: DateRange) -> tuple[datetime | None, datetime | None]:
    return found.lower, found.upper


def _states(search: Search, name: str, states: dict[str, frozenset[str]]) -> set[str] | None:
    """The states a token parameter's codes stand for (a comma: any of them; repeated: each); None when not
    given."""

    def known(value: str) -> str:
        _system, code = token(value)
        if code not in states:
            raise FhirError.of(400, f"{name}: {code!r} is none of {', '.join(sorted(states))}", expression=name)
        return code

    codes = search.any_of(name, known)
    return None if codes is None else {state for code in codes for state in states[code]}


def _tokens(search: Search, name: str) -> fhir_claims.Tokens:
    """An identifier parameter's tokens, a set each time it is given (a comma: any of them). Unlike a claim's
    patient or state, a claim or patient has several identifiers: a repeated identifier asks for one matching
    each set, which intersecting the values (`Search.any_of`) would not find."""
    return tuple(frozenset(token(v) for v in raw.split(",") if v) for raw in search.params.get(name, []))


def _references(search: Search, name: str, kind: str) -> set[str] | None:
    return search.any_of(name, lambda value: reference_id(name, value, kind))


def _answer(
    request: Request,
    kind: str,
    search: Search,
    rows: Sequence[Any],
    key: Callable[[Any], Keyset],
    build: Callable[[Any], dict[str, Any]],
) -> FhirResponse:
    page, after = paged(rows, search, key)
    return FhirResponse(searchset(fhir_base(request), kind, search, [build(r) for r in page], after))


@router.post(
    "/Claim/$submit",
    response_class=FhirResponse,
    summary="Submit a claim: charge entry, answered by its ClaimResponse",
    openapi_extra={"x-required-scope": "claims:submit"},
)
async def submit_claim(
    request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep, scrub: ScrubDep
) -> FhirResponse:
    submission = read_submission(await read_resource(request, "Claim", "Bundle", "Parameters"))
    async with units.write(tenant, actor) as unit:
        found, _new = await fhir_claims.submit(unit, submission, scrub.context())
    return FhirResponse(claim_response(found))


@router.get("/Claim/{claim_id}", response_class=FhirResponse, summary="A claim as a FHIR Claim")
async def read_claim(claim_id: str, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        return FhirResponse(claim_resource(await fhir_claims.stored_claim(unit, claim_id)))


async def _claims(request: Request, units: Any, tenant: str, names: Sequence[str]) -> tuple[Search, list[Any]]:
    search = parse_search(request, names)
    states = _states(search, "status", STATES_OF_STATUS)
    outcome = _states(search, "outcome", STATES_OF_OUTCOME)
    if outcome is not None:
        states = outcome if states is None else states & outcome
    query = fhir_claims.ClaimQuery(
        own_system=fc.CLAIM_ID,
        limit=search.count + 1,
        claim_ids=_references(search, "request", "Claim"),
        identifiers=_tokens(search, "identifier"),
        accounts=_references(search, "patient", "Patient"),
        states=states,
        created=_span(search.date("created")),
        updated=_span(search.last_updated),
        after=search.after(),
    )
    async with units.read(tenant) as unit:
        return search, await fhir_claims.search_claims(unit, query)


def _claim_key(found: fhir_claims.StoredClaim) -> tuple[datetime, str]:
    return found.row.created_at, found.row.id


@router.get("/Claim", response_class=FhirResponse, summary="Search claims")
async def search_claims(request: Request, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    search, rows = await _claims(request, units, tenant, SURFACE.search_names("Claim"))
    return _answer(request, "Claim", search, rows, _claim_key, claim_resource)


@router.get(
    "/ClaimResponse/{claim_id}", response_class=FhirResponse, summary="A claim's current state as a ClaimResponse"
)
async def read_claim_response(claim_id: str, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        return FhirResponse(claim_response(await fhir_claims.stored_claim(unit, claim_id)))


@router.get("/ClaimResponse", response_class=FhirResponse, summary="Search claim responses")
async def search_claim_responses(request: Request, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    search, rows = await _claims(request, units, tenant, SURFACE.search_names("ClaimResponse"))
    return _answer(request, "ClaimResponse", search, rows, _claim_key, claim_response)


@router.get("/Patient/{account}", response_class=FhirResponse, summary="A patient account as a Patient")
async def read_patient(account: str, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        return FhirResponse(patient_resource(await fhir_claims.patient_account(unit, account, fc.ACCOUNT, fc.MRN)))


@router.get("/Patient", response_class=FhirResponse, summary="Search patient accounts")
async def search_patients(request: Request, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    search = parse_search(request, SURFACE.search_names("Patient"))
    query = fhir_claims.PatientQuery(
        account_system=fc.ACCOUNT,
        mrn_system=fc.MRN,
        limit=search.count + 1,
        identifiers=_tokens(search, "identifier"),
        seen=_span(search.last_updated),
        after=search.after(),
    )
    async with units.read(tenant) as unit:
        rows = await fhir_claims.search_patients(unit, query)
    return _answer(request, "Patient", search, rows, lambda p: (p.opened, p.account), patient_resource)
