"""The claims service's FHIR R4 API (under /fhir/R4): `Claim/$submit` (charge entry, as `POST /v1/claims`),
Claim, ClaimResponse and Patient reads and searches. Searches page newest first (created, id) by keyset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from rcm_shared.fhir import (
    BASE_PATH,
    Cursor,
    DateRange,
    FhirError,
    FhirResponse,
    Operation,
    ResourceCapability,
    Search,
    Surface,
    check_format,
    fhir_base,
    instant,
    parse_search,
    read_resource,
    reference_id,
    searchset,
    token,
)
from rcm_shared.web import ActorDep, TenantDep, UnitsDep

from claims.api import fhir_codes as fc
from claims.api.deps import ScrubDep
from claims.api.fhir_claim_in import read_submission
from claims.api.fhir_claim_out import claim_resource
from claims.api.fhir_resources import STATES_OF_OUTCOME, STATES_OF_STATUS, claim_response, patient_resource
from claims.use_cases import fhir_claims

CLAIM_SEARCH = (
    ("patient", "reference", "the patient account (Patient/<account>)"),
    ("identifier", "token", f"an identifier the client gave the claim (system|value), or our claim id ({fc.CLAIM_ID})"),
    ("created", "date", "when the claim was entered"),
    ("status", "token", "active, or cancelled (void); the workflow state is the ClaimResponse's outcome"),
)
RESPONSE_SEARCH = (
    ("request", "reference", "the claim answered (Claim/<id>)"),
    ("patient", "reference", "the patient account (Patient/<account>)"),
    ("outcome", "token", "queued, complete, error or partial"),
    ("created", "date", "when the claim was entered"),
)
PATIENT_SEARCH = (("identifier", "token", f"the account number ({fc.ACCOUNT}) or an MRN"),)
SUBMIT = Operation(
    "submit",
    "http://hl7.org/fhir/OperationDefinition/Claim-submit",
    "a professional claim (its patient, coverage, payer and providers contained, or in a collection Bundle "
    "after it, or either in a Parameters) entered as POST /v1/claims enters one; answers its ClaimResponse",
)
SURFACE = Surface(
    "claims",
    "RCM claims FHIR API",
    (
        ResourceCapability(
            "Claim", search=CLAIM_SEARCH, operations=(SUBMIT,), documentation="one per claim, id = CLM01"
        ),
        ResourceCapability(
            "ClaimResponse", search=RESPONSE_SEARCH, documentation="the claim's current state, id = its claim's"
        ),
        ResourceCapability(
            "Patient", search=PATIENT_SEARCH, documentation="a patient account, id = the account number"
        ),
    ),
)

router = APIRouter(prefix=BASE_PATH, tags=["fhir"], dependencies=[Depends(check_format)])


def _after(search: Search) -> tuple[datetime, str] | None:
    if search.cursor is None:
        return None
    try:
        return datetime.fromisoformat(search.cursor.key.replace("Z", "+00:00")), search.cursor.id
    except ValueError:
        raise FhirError.of(400, "_cursor is not a cursor this server handed out", expression="_cursor") from None


def _span(found: DateRange) -> tuple[datetime | None, datetime | None]:
    return found.lower, found.upper


def _codes(search: Search, name: str, states: dict[str, frozenset[str]]) -> set[str] | None:
    """The states a token parameter's codes (comma-separated: any of them) stand for; None when not given."""
    value = search.one(name)
    if value is None:
        return None
    found: set[str] = set()
    for code in value.split(","):
        _system, code = token(code)
        if code not in states:
            raise FhirError.of(400, f"{name}: {code!r} is none of {', '.join(sorted(states))}", expression=name)
        found |= states[code]
    return found


def _answer(
    request: Request,
    kind: str,
    search: Search,
    rows: Sequence[Any],
    key: Callable[[Any], tuple[datetime, str]],
    build: Callable[[Any], dict[str, Any]],
) -> FhirResponse:
    page = list(rows[: search.count])
    after = Cursor(instant(key(page[-1])[0]), key(page[-1])[1]) if len(rows) > search.count else None
    return FhirResponse(searchset(fhir_base(request), kind, search, [build(r) for r in page], after))


@router.post(
    "/Claim/$submit", response_class=FhirResponse, summary="Submit a claim: charge entry, answered by its ClaimResponse"
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
    states = _codes(search, "status", STATES_OF_STATUS)
    outcome = _codes(search, "outcome", STATES_OF_OUTCOME)
    if outcome is not None:
        states = outcome if states is None else states & outcome
    patient, ident, request_ref = search.one("patient"), search.one("identifier"), search.one("request")
    async with units.read(tenant) as unit:
        rows = await fhir_claims.search_claims(
            unit,
            claim_ids={reference_id("request", request_ref, "Claim")} if request_ref else None,
            identifier=token(ident) if ident else None,
            own_system=fc.CLAIM_ID,
            account=reference_id("patient", patient, "Patient") if patient else None,
            states=states,
            created=_span(search.date("created")),
            updated=_span(search.last_updated),
            after=_after(search),
            limit=search.count + 1,
        )
    return search, rows


def _claim_key(found: fhir_claims.StoredClaim) -> tuple[datetime, str]:
    return found.row.created_at, found.row.id


@router.get("/Claim", response_class=FhirResponse, summary="Search claims")
async def search_claims(request: Request, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    search, rows = await _claims(request, units, tenant, [name for name, _t, _d in CLAIM_SEARCH])
    return _answer(request, "Claim", search, rows, _claim_key, claim_resource)


@router.get(
    "/ClaimResponse/{claim_id}", response_class=FhirResponse, summary="A claim's current state as a ClaimResponse"
)
async def read_claim_response(claim_id: str, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        return FhirResponse(claim_response(await fhir_claims.stored_claim(unit, claim_id)))


@router.get("/ClaimResponse", response_class=FhirResponse, summary="Search claim responses")
async def search_claim_responses(request: Request, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    search, rows = await _claims(request, units, tenant, [name for name, _t, _d in RESPONSE_SEARCH])
    return _answer(request, "ClaimResponse", search, rows, _claim_key, claim_response)


@router.get("/Patient/{account}", response_class=FhirResponse, summary="A patient account as a Patient")
async def read_patient(account: str, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        return FhirResponse(patient_resource(await fhir_claims.patient_account(unit, account, fc.MRN)))


@router.get("/Patient", response_class=FhirResponse, summary="Search patient accounts")
async def search_patients(request: Request, units: UnitsDep, tenant: TenantDep) -> FhirResponse:
    search = parse_search(request, [name for name, _t, _d in PATIENT_SEARCH])
    ident = search.one("identifier")
    async with units.read(tenant) as unit:
        rows = await fhir_claims.search_patients(
            unit,
            identifier=token(ident) if ident else None,
            account_system=fc.ACCOUNT,
            mrn_system=fc.MRN,
            seen=_span(search.last_updated),
            after=_after(search),
            limit=search.count + 1,
        )
    return _answer(request, "Patient", search, rows, lambda p: (p.seen, p.account), patient_resource)
