"""The remittance FHIR R4 API (read-only): ExplanationOfBenefit (one per claim payment an 835 posted) and
PaymentReconciliation (one per posted 835), read and searched in keyset pages, each tenant its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from rcm_shared.fhir import (
    BASE_PATH,
    Cursor,
    FhirError,
    FhirResponse,
    ResourceCapability,
    Search,
    Surface,
    check_format,
    fhir_base,
    instant,
    parse_search,
    reference_id,
    searchset,
    token,
)
from rcm_shared.web import TenantDep, UnitsDep

from remittance.api.fhir_codes import PAYER_CLAIM_NUMBER, TRACE_NUMBER
from remittance.api.fhir_eob import explanation_of_benefit
from remittance.api.fhir_reconciliation import payment_reconciliation
from remittance.use_cases import fhir_reads
from remittance.use_cases.fhir_reads import After, PaymentCriteria, RemittanceCriteria

EOB = "ExplanationOfBenefit"
PR = "PaymentReconciliation"
FM_STATUS = "http://hl7.org/fhir/fm-status"
STATUSES = frozenset({"active", "cancelled", "draft", "entered-in-error"})
EOB_SEARCH = (
    ("claim", "reference", "Claim/<our claim id> (CLP01) the payment is for"),
    ("patient", "reference", "Patient/<patient account>: payments of that patient's claims"),
    ("created", "date", "when the payment was posted"),
    ("status", "token", "active (a standing adjudication) or cancelled (a payer's reversal, or a payment reversed)"),
    ("identifier", "token", f"the payer's claim control number (CLP07), system {PAYER_CLAIM_NUMBER}"),
)
PR_SEARCH = (
    ("created", "date", "when the 835 was posted"),
    ("status", "token", "active (every posted 835)"),
    ("identifier", "token", f"the payment's trace number (TRN02), system {TRACE_NUMBER}"),
    ("payment-issuer", "reference", "the payer: Organization/<payer id> or the payer id"),
)
SURFACE = Surface(
    "remittance",
    "RCM remittance: 835 payments as ExplanationOfBenefit and PaymentReconciliation",
    (
        ResourceCapability(
            EOB,
            search=EOB_SEARCH,
            documentation="One per claim payment (CLP) of a posted 835; a reversal and the payment it reverses "
            "are both cancelled. Read-only.",
        ),
        ResourceCapability(
            PR,
            search=PR_SEARCH,
            documentation="One per posted 835 transaction set (id: the remittance id); held, rejected and "
            "superseded 835s posted nothing and are not served. Read-only.",
        ),
    ),
)

router = APIRouter(prefix=BASE_PATH, tags=["fhir"], dependencies=[Depends(check_format)])


def _any_of(search: Search, name: str, value_of: Callable[[str], str | None]) -> set[str] | None:
    """A parameter's values: comma-separated ones are alternatives, a repeated parameter must hold each
    time; ``value_of`` turns a value into what is stored (None: a value that can match nothing)."""
    found: set[str] | None = None
    for raw in search.params.get(name, []):
        these = {v for part in raw.split(",") if part and (v := value_of(part)) is not None}
        found = these if found is None else found & these
    return found


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


def _after(search: Search) -> After | None:
    if search.cursor is None:
        return None
    try:
        return datetime.fromisoformat(search.cursor.key.replace("Z", "+00:00")), search.cursor.id
    except ValueError:
        raise FhirError.of(400, "_cursor is not a cursor this server handed out", expression="_cursor") from None


def _page(
    rows: list[Any], search: Search, key: Callable[[Any], tuple[datetime, str]]
) -> tuple[list[Any], Cursor | None]:
    """At most ``search.count`` rows, and the cursor after the last when the query found one more."""
    page = rows[: search.count]
    if len(rows) <= search.count:
        return page, None
    moment, ident = key(page[-1])
    return page, Cursor(instant(moment), ident)


@router.get(
    f"/{EOB}/{{claim_payment_id}}", response_class=FhirResponse, summary="One claim payment as an ExplanationOfBenefit"
)
async def read_eob(claim_payment_id: str, tenant: TenantDep, units: UnitsDep) -> FhirResponse:
    async with units.read(tenant) as unit:
        found = await fhir_reads.adjudication(unit, claim_payment_id)
    return FhirResponse(explanation_of_benefit(found))


@router.get(f"/{EOB}", response_class=FhirResponse, summary="Search ExplanationOfBenefits, latest change first")
async def search_eobs(request: Request, tenant: TenantDep, units: UnitsDep) -> FhirResponse:
    search = parse_search(request, [name for name, _kind, _doc in EOB_SEARCH])
    created = search.date("created")
    criteria = PaymentCriteria(
        limit=search.count + 1,
        claim_ids=_any_of(search, "claim", lambda v: reference_id("claim", v, "Claim")),
        accounts=_any_of(search, "patient", lambda v: reference_id("patient", v, "Patient")),
        control_numbers=_any_of(search, "identifier", _in_system("identifier", PAYER_CLAIM_NUMBER)),
        statuses=_any_of(search, "status", _status),
        created=(created.lower, created.upper),
        updated=(search.last_updated.lower, search.last_updated.upper),
        after=_after(search),
    )
    async with units.read(tenant) as unit:
        found = await fhir_reads.adjudications(unit, criteria)
    page, cursor = _page(found, search, lambda a: (a.payment.updated_at, a.payment.id))
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
    search = parse_search(request, [name for name, _kind, _doc in PR_SEARCH])
    created = search.date("created").narrowed(search.last_updated)  # a posted 835 changes no more
    statuses = _any_of(search, "status", _status)
    criteria = RemittanceCriteria(
        limit=search.count + 1,
        traces=_any_of(search, "identifier", _in_system("identifier", TRACE_NUMBER)),
        payer_ids=_any_of(search, "payment-issuer", lambda v: reference_id("payment-issuer", v, "Organization")),
        created=(created.lower, created.upper),
        after=_after(search),
    )
    found: list[Any] = []
    if statuses is None or "active" in statuses:
        async with units.read(tenant) as unit:
            found = await fhir_reads.reconciliations(unit, criteria)
    page, cursor = _page(found, search, lambda r: (r.remittance.posted_at, r.remittance.id))
    resources = [payment_reconciliation(r) for r in page]
    return FhirResponse(searchset(fhir_base(request), PR, search, resources, cursor))
