"""HTTP routes of the remittance service: 835s, the held queue, what was posted, review items, deposits."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from rcm_shared.unit import Units
from rcm_shared.web import (
    MAX_OFFSET,
    MAX_ROW_ID,
    ActorDep,
    ProblemError,
    TenantDep,
    UnitsDep,
    audit_entry,
    audited,
)
from rcm_shared.x12.errors import X12Error

from remittance.api.schemas import (
    AdjustmentRead,
    ClaimPaymentRead,
    ClaimPostings,
    DenialPostingRead,
    DepositCreate,
    DepositRead,
    HeldClaimRead,
    HeldDecision,
    HeldPlbRead,
    HeldSetRead,
    IngestedRemittance,
    IngestResponse,
    LedgerEntryRead,
    LineRead,
    PayerTotals,
    ProviderAdjustmentRead,
    Reconciliation,
    RemittanceRead,
    RemittanceStatus,
    ReviewItemRead,
    ReviewKind,
    ReviewResolve,
    ReviewStatus,
)
from remittance.config import RemittanceSettings
from remittance.domain.posting import PATIENT_TYPES
from remittance.use_cases import deposits, queries, review
from remittance.use_cases.ingestion import ingest_835
from remittance.use_cases.routing import refuse_foreign

router = APIRouter(prefix="/v1", tags=["remittance"])
X12_TYPES = ("text/plain", "application/edi-x12", "application/octet-stream", "application/x12")


def settings_of(request: Request) -> RemittanceSettings:
    settings: RemittanceSettings = request.app.state.settings
    return settings


async def _spool(request: Request, settings: RemittanceSettings) -> tuple[Path, str]:
    """Stream the upload to disk (raw X12 body or a multipart 'file' field) without holding it in memory."""
    spool = settings.spool_path()
    spool.mkdir(parents=True, exist_ok=True)
    path = spool / f"{uuid.uuid4()}.835"
    limit = settings.max_upload_mb * 1024 * 1024
    digest = hashlib.sha256()
    size = 0
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        with path.open("wb") as out:
            if content_type == "multipart/form-data":
                form = await request.form(max_files=1, max_fields=5, max_part_size=limit)
                upload = form.get("file")
                if upload is None or isinstance(upload, str):
                    raise ProblemError(422, "Missing file", "send the 835 as the multipart field 'file'")
                while chunk := await upload.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise ProblemError(413, "Too large", f"the limit is {settings.max_upload_mb} MB")
                    digest.update(chunk)
                    out.write(chunk)
            elif content_type in X12_TYPES or not content_type:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise ProblemError(413, "Too large", f"the limit is {settings.max_upload_mb} MB")
                    digest.update(chunk)
                    out.write(chunk)
            else:
                raise ProblemError(
                    415,
                    "Unsupported media type",
                    f"send text/plain, application/edi-x12 or multipart/form-data, not {content_type}",
                )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise ProblemError(422, "Empty body", "the request carries no 835")
    return path, digest.hexdigest()


@router.post(
    "/remittances",
    response_model=IngestResponse,
    status_code=201,
    summary="Ingest an 835 (raw X12 body or multipart 'file'); a file already received is not posted twice",
    responses={
        200: {"description": "every transaction set was already received (duplicates)"},
        409: {"description": "the 835's ISA/GS ids belong to another organization's clearinghouse connection"},
    },
)
async def post_remittance(request: Request, tenant: TenantDep, actor: ActorDep, units: UnitsDep) -> Any:
    settings = settings_of(request)
    path, digest = await _spool(request, settings)
    try:
        await refuse_foreign(units, path, tenant, settings.own_connection(), settings.default_tenant)
        results = await ingest_835(
            units, path, tenant=tenant, actor=actor, batch_size=settings.batch_size, sha256=digest
        )
    except X12Error as exc:
        raise ProblemError(422, "Invalid 835", str(exc), type_="urn:rcm:problem:x12", x12=exc.as_dict()) from None
    finally:
        path.unlink(missing_ok=True)
    body = IngestResponse(remittances=[IngestedRemittance(**r.__dict__) for r in results])
    status = 200 if results and all(r.status == "duplicate" for r in results) else 201
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


def _remittance(row: Any, plbs: list[Any] | None = None) -> RemittanceRead:
    return RemittanceRead(
        **{k: getattr(row, k) for k in RemittanceRead.model_fields if k != "provider_adjustments"},
        provider_adjustments=[
            ProviderAdjustmentRead(**{k: getattr(p, k) for k in ProviderAdjustmentRead.model_fields})
            for p in plbs or []
        ],
    )


@router.get(
    "/remittances",
    response_model=list[RemittanceRead],
    summary="The 835s received, newest first",
    description="`status` repeats (`?status=held&status=rejected`); without it, remittances in every status. "
    "An unknown status is refused (422).",
)
async def list_remittances(
    tenant: TenantDep,
    units: UnitsDep,
    payer_id: str | None = None,
    status: Annotated[list[RemittanceStatus] | None, Query()] = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[RemittanceRead]:
    async with units.read(tenant) as unit:
        rows = await queries.remittances(
            unit, payer_id=payer_id, status=status, since=since, until=until, limit=limit, offset=offset
        )
    return [_remittance(r) for r in rows]


async def _decided(units: Units, tenant: str, remittance_id: str) -> RemittanceRead:
    async with units.read(tenant) as unit:
        return _remittance(*await queries.remittance(unit, remittance_id))


@router.get(
    "/remittances/{remittance_id}/held-set",
    response_model=HeldSetRead,
    summary="What a held 835 carries as the payer sent it: each claim (and by how much it does not foot), each PLB",
)
async def held_set_of(remittance_id: str, tenant: TenantDep, units: UnitsDep) -> HeldSetRead:
    async with units.read(tenant) as unit:
        row, contents = await review.held_set(unit, remittance_id)
    return HeldSetRead(
        remittance_id=remittance_id,
        status=row.status,
        imbalance_cents=row.imbalance_cents,
        hold_reasons=list(row.hold_reasons),
        claims=[HeldClaimRead(**c.__dict__) for c in contents.claims],
        provider_adjustments=[HeldPlbRead(**p.__dict__) for p in contents.provider_adjustments],
    )


@router.post(
    "/remittances/{remittance_id}/release",
    response_model=RemittanceRead,
    summary="Post a held 835 as the payer sent it, after an operator's review (who: the caller; why: the note)",
    responses={409: {"description": "not held: already released, rejected or superseded by a corrected 835"}},
)
async def release_remittance(
    remittance_id: str, body: HeldDecision, request: Request, tenant: TenantDep, actor: ActorDep, units: UnitsDep
) -> RemittanceRead:
    await review.release(
        units,
        tenant=tenant,
        remittance_id=remittance_id,
        decision=review.Decision(actor.name, body.note),
        audit_entry=audit_entry(request, 200),
        actor=actor,
        batch_size=settings_of(request).batch_size,
    )
    audited(request, 200)
    return await _decided(units, tenant, remittance_id)


@router.post(
    "/remittances/{remittance_id}/reject",
    response_model=RemittanceRead,
    summary="Keep a held 835 unposted, with the operator's note; the payer's corrected 835 still supersedes it",
    responses={409: {"description": "not held: already released, rejected or superseded by a corrected 835"}},
)
async def reject_remittance(
    remittance_id: str, body: HeldDecision, request: Request, tenant: TenantDep, actor: ActorDep, units: UnitsDep
) -> RemittanceRead:
    await review.reject(
        units,
        tenant=tenant,
        remittance_id=remittance_id,
        decision=review.Decision(actor.name, body.note),
        audit_entry=audit_entry(request, 200),
        actor=actor,
    )
    audited(request, 200)
    return await _decided(units, tenant, remittance_id)


@router.get("/remittances/{remittance_id}", response_model=RemittanceRead)
async def get_remittance(remittance_id: str, tenant: TenantDep, units: UnitsDep) -> RemittanceRead:
    return await _decided(units, tenant, remittance_id)


def _claim_payments(payments: queries.Payments) -> list[ClaimPaymentRead]:
    by_claim: dict[str, list[LineRead]] = {}
    for line in payments.lines:
        values = {k: getattr(line, k) for k in LineRead.model_fields}
        values["modifiers"] = line.modifiers.split()
        by_claim.setdefault(line.claim_payment_id, []).append(LineRead(**values))
    adjustments: dict[str, list[AdjustmentRead]] = {}
    for a in payments.adjustments:
        adjustments.setdefault(a.claim_payment_id, []).append(
            AdjustmentRead(group=a.group_code, reason=a.reason_code, amount_cents=a.amount_cents, line=a.line_number)
        )
    return [
        ClaimPaymentRead(
            **{k: getattr(r, k) for k in ClaimPaymentRead.model_fields if k not in ("adjustments", "lines", "remarks")},
            adjustments=adjustments.get(r.id, []),
            remarks=r.remarks.split(),
            lines=by_claim.get(r.id, []),
        )
        for r in payments.rows
    ]


@router.get("/remittances/{remittance_id}/claims", response_model=list[ClaimPaymentRead])
async def remittance_claims(
    remittance_id: str,
    tenant: TenantDep,
    units: UnitsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ClaimPaymentRead]:
    async with units.read(tenant) as unit:
        payments = await queries.remittance_claims(unit, remittance_id, limit, offset)
    return _claim_payments(payments)


@router.get("/claims/{claim_id}/postings", response_model=ClaimPostings, summary="Everything posted to one claim")
async def claim_postings(claim_id: str, tenant: TenantDep, units: UnitsDep) -> ClaimPostings:
    async with units.read(tenant) as unit:
        posted = await queries.claim_postings(unit, claim_id)
    totals: dict[str, int] = {}
    for e in posted.ledger:
        totals[e.entry_type] = totals.get(e.entry_type, 0) + e.amount_cents
    return ClaimPostings(
        claim_id=claim_id,
        payments=_claim_payments(posted.payments),
        ledger=[LedgerEntryRead(**{k: getattr(e, k) for k in LedgerEntryRead.model_fields}) for e in posted.ledger],
        totals_cents=totals,
        patient_responsibility_cents=sum(v for k, v in totals.items() if k in PATIENT_TYPES),
        denial_postings=[
            DenialPostingRead(**{k: getattr(d, k) for k in DenialPostingRead.model_fields})
            for d in posted.denial_postings
        ],
    )


@router.get(
    "/review-items",
    response_model=list[ReviewItemRead],
    summary="Held, unmatched and unpaired items",
    description="Without `status`, the open items (the payment poster's queue); `status` repeats, "
    "`?status=open&status=resolved` lists every item. An unknown status or kind is refused (422).",
)
async def review_items(
    tenant: TenantDep,
    units: UnitsDep,
    status: Annotated[list[ReviewStatus] | None, Query(description="default: open")] = None,
    kind: ReviewKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ReviewItemRead]:
    async with units.read(tenant) as unit:
        rows = await queries.review_items(unit, status=status or ["open"], kind=kind, limit=limit, offset=offset)
    return [ReviewItemRead(**{k: getattr(r, k) for k in ReviewItemRead.model_fields}) for r in rows]


@router.post("/review-items/{item_id}/resolve", response_model=ReviewItemRead)
async def resolve_review_item(
    item_id: Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)],
    body: ReviewResolve,
    tenant: TenantDep,
    actor: ActorDep,
    units: UnitsDep,
) -> ReviewItemRead:
    async with units.write(tenant, actor) as unit:
        row = await queries.resolve_review_item(unit, item_id, body.note)
    return ReviewItemRead(**{k: getattr(row, k) for k in ReviewItemRead.model_fields})


@router.post(
    "/deposits",
    response_model=DepositRead,
    status_code=201,
    summary="Record a bank deposit; matched to the remittance with the same trace number and amount",
)
async def post_deposit(body: DepositCreate, tenant: TenantDep, actor: ActorDep, units: UnitsDep) -> Any:
    result = await deposits.deposit(
        units,
        tenant=tenant,
        trace_number=body.trace_number,
        amount_cents=body.amount_cents,
        deposit_date=body.deposit_date,
        actor=actor,
    )
    read = DepositRead(**{k: getattr(result, k) for k in DepositRead.model_fields})
    return JSONResponse(read.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.get("/deposits/reconciliation", response_model=Reconciliation)
async def reconciliation(tenant: TenantDep, units: UnitsDep) -> Reconciliation:
    async with units.read(tenant) as unit:
        unmatched_deposits, remittances = await deposits.reconciliation(unit)
    return Reconciliation(
        unmatched_deposits=[
            DepositRead(**{k: getattr(d, k) for k in DepositRead.model_fields}) for d in unmatched_deposits
        ],
        unmatched_remittances=[_remittance(r) for r in remittances],
    )


@router.get("/reports/payer-totals", response_model=list[PayerTotals])
async def payer_totals(
    tenant: TenantDep, units: UnitsDep, since: date | None = None, until: date | None = None
) -> list[PayerTotals]:
    async with units.read(tenant) as unit:
        rows = await queries.payer_totals(unit, since, until)
    return [
        PayerTotals(
            payer_id=r.payer_id,
            remittances=r.remittances,
            paid_cents=r.paid_cents or 0,
            contractual_cents=r.contractual_cents or 0,
            patient_responsibility_cents=r.patient_cents or 0,
            provider_adjustment_cents=-(r.plb_cents or 0),
        )
        for r in rows
    ]
