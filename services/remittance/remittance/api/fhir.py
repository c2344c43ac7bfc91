"""The remittance FHIR R4 API (read-only): ExplanationOfBenefit (one per claim payment an 835 posted) and
PaymentReconciliation (one per posted 835), read and searched in keyset pages, each tenant its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from rcm_shared.fhir import (
    BASE_PATH,
    FhirError,
    FhirResponse,
    check_format,
    fhir_base,
    paged,
    parse_search,
    reference_id,
    searchset,
    token,
)
from rcm_shared.fhir.surfaces import REMITTANCE as SURFACE
from rcm_shared.web import TenantDep, UnitsDep

from remittance.api.fhir_codes import PAYER_CLAIM_NUMBER, TRACE_NUMBER
from remittance.api.fhir_eob import explanation_of_benefit
from remittance.api.fhir_reconciliation import payment_reconciliation
from remittance.use_cases import fhir_reads
from remittance.use_cases.fhir_reads import PaymentCriteria, RemittanceCriteria

EOB = "ExplanationOfBenefit"
PR = "PaymentReconciliation"
FM_STATUS = "http://hl7.org/fhir/fm-status"
STATUSES = frozenset({"active", "cancelled", "draft", "entered-in-error"})
router = APIRouter(prefix=BASE_PATH, tags=["fhir"], dependencies=[Depends(check_format)])


def _in_system(name: str, system: str) -> Callable[[str], str | None]:
    def value_of(raw: str) -> str | None:
        given, code = token(raw)
        if not code:
            raise FhirError.of(400, f"{name}: {raw!r} names no value", expression=name)
        return code if given in (None, "", system) else None

    return value_of


def _status(raw: str) -> str | None:
    system, code = token(raw)
    if system not in (None, "", FM_STATUS) or code not in STATUSES:
        raise FhirError.of(400, f"status: {raw!r} is not a {FM_STATUS} code", expression="status")
    return code


@router.get(
    f"/{EOB}/{{claim_payment_id}}", response_class=FhirResponse, summary="One claim payment as an ExplanationOfBenefit"
)
async def read_eob(claim_payment_id: str, tenant: TenantDep, units: UnitsDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        found = await fhir_reads.adjudication(unit, claim_payment_id)
    return FhirResponse(explanation_of_benefit(found))


@router.get(f"/{EOB}", response_class=FhirResponse, summary="Search ExplanationOfBenefits, latest posted first")
async def search_eobs(request: Request, tenant: TenantDep, units: UnitsDep) -> FhirResponse:
    search = parse_search(request, SURFACE.search_names(EOB))
    created = search.date("created")
    criteria = PaymentCriteria(
        limit=search.count + 1,
        claim_ids=search.any_of("claim", lambda v: reference_id("claim", v, "Claim")),
        accounts=search.any_of("patient", lambda v: reference_id("patient", v, "Patient")),
        control_numbers=search.any_of("identifier", _in_system("identifier", PAYER_CLAIM_NUMBER)),
        statuses=search.any_of("status", _status),
        created=(created.lower, created.upper),
        updated=(search.last_updated.lower, search.last_updated.upper),
        after=search.after(),
    )
    async with units.read(tenant) as unit:
        found = await fhir_reads.adjudications(unit, criteria)
    page, cursor = paged(found, search, lambda a: (a.payment.remittance_posted_at, a.payment.id))
    resources = [explanation_of_benefit(a) for a in page]
    return FhirResponse(searchset(fhir_base(request), EOB, search, resources, cursor))


@router.get(
    f"/{PR}/{{remittance_id}}", response_class=FhirResponse, summary="One posted 835 as a PaymentReconciliation"
)
async def read_reconciliation(remittance_id: str, tenant: TenantDep, units: UnitsDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        found = await fhir_reads.reconciliation(unit, remittance_id)
    return FhirResponse(payment_reconciliation(found))


@router.get(f"/{PR}", response_class=FhirResponse, summary="Search PaymentReconciliations, latest posted first")
async def search_reconciliations(request: Request, tenant: TenantDep, units: UnitsDep) -> FhirResponse:
    search = parse_search(request, SURFACE.search_names(PR))
    created = search.date("created").narrowed(search.last_updated)  # a posted 835 changes no more
    statuses = search.any_of("status", _status)
    criteria = RemittanceCriteria(
        limit=search.count + 1,
        traces=search.any_of("identifier", _in_system("identifier", TRACE_NUMBER)),
        payer_ids=search.any_of("payment-issuer", lambda v: reference_id("payment-issuer", v, "Organization")),
        created=(created.lower, created.upper),
        after=search.after(),
    )
    found: list[Any] = []
    if statuses is None or "active" in statuses:
        async with units.read(tenant) as unit:
            found = await fhir_reads.reconciliations(unit, criteria)
    page, cursor = paged(found, search, lambda r: (r.remittance.posted_at, r.remittance.id))
    resources = [payment_reconciliation(r) for r in page]
    return FhirResponse(searchset(fhir_base(request), PR, search, resources, cursor))
