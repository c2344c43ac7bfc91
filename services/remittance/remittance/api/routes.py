"""HTTP routes of the remittance service."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from rcm_shared.db import read_connection, write_transaction
from rcm_shared.web import EngineDep, ProblemError, TenantDep, audit_entry, audited
from rcm_shared.x12.errors import X12Error
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from remittance import crossover, patients, review
from remittance.api.schemas import (
    AdjustmentRead,
    ClaimBalance,
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
    PatientAccountRead,
    PayerTotals,
    ProviderAdjustmentRead,
    Reconciliation,
    RemittanceRead,
    RemittanceStatus,
    ReviewItemRead,
    ReviewKind,
    ReviewResolve,
    ReviewStatus,
    StatementRunCreate,
    StatementRunRead,
    StatementSummary,
    TenderCreate,
    TenderRead,
)
from remittance.config import RemittanceSettings
from remittance.domain.posting import PATIENT_TYPES
from remittance.handlers import ingest_835, record_deposit
from remittance.models import review_item, statement
from remittance.patients import Practice, Tender
from remittance.repository import RemittanceRepository

router = APIRouter(prefix="/v1", tags=["remittance"])
X12_TYPES = ("text/plain", "application/edi-x12", "application/octet-stream", "application/x12")


def _settings(request: Request) -> RemittanceSettings:
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
    responses={200: {"description": "every transaction set was already received (duplicates)"}},
)
async def post_remittance(request: Request, tenant: TenantDep, engine: EngineDep) -> Any:
    settings = _settings(request)
    path, digest = await _spool(request, settings)
    try:
        results = await ingest_835(
            engine,
            path,
            tenant=tenant,
            batch_size=settings.batch_size,
            sha256=digest,
            topic_prefix=settings.kafka.topic_prefix,
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
    engine: EngineDep,
    payer_id: str | None = None,
    status: Annotated[list[RemittanceStatus] | None, Query()] = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RemittanceRead]:
    async with read_connection(engine) as conn:
        rows = await RemittanceRepository(conn, tenant).list_remittances(
            payer_id=payer_id, status=status, since=since, until=until, limit=limit, offset=offset
        )
    return [_remittance(r) for r in rows]


def _actor(request: Request) -> str:
    """Who decides: the operator named by X-Actor (as on claims and denials), else the token's client."""
    principal = getattr(request.state, "principal", None)
    return request.headers.get("X-Actor") or (principal.client_id if principal is not None else "api")


async def _decided(engine: AsyncEngine, tenant: str, remittance_id: str) -> RemittanceRead:
    async with read_connection(engine) as conn:
        repo = RemittanceRepository(conn, tenant)
        row = await repo.get_remittance(remittance_id)
        assert row is not None  # decided a moment ago, and never deleted
        return _remittance(row, await repo.provider_adjustments(remittance_id))


@router.get(
    "/remittances/{remittance_id}/held-set",
    response_model=HeldSetRead,
    summary="What a held 835 carries as the payer sent it: each claim (and by how much it does not foot), each PLB",
)
async def held_set_of(remittance_id: str, tenant: TenantDep, engine: EngineDep) -> HeldSetRead:
    async with read_connection(engine) as conn:
        row = await RemittanceRepository(conn, tenant).get_remittance(remittance_id)
        contents = await review.held_contents(conn, tenant, remittance_id) if row is not None else None
    if row is None or contents is None:
        raise ProblemError(404, "Not found", f"no held 835 {remittance_id}")
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
    summary="Post a held 835 as the payer sent it, after an operator's review (who: X-Actor; why: the note)",
    responses={409: {"description": "not held: already released, rejected or superseded by a corrected 835"}},
)
async def release_remittance(
    remittance_id: str, body: HeldDecision, request: Request, tenant: TenantDep, engine: EngineDep
) -> RemittanceRead:
    settings = _settings(request)
    try:
        await review.release(
            engine,
            tenant=tenant,
            remittance_id=remittance_id,
            decision=review.Decision(_actor(request), body.note),
            audit_entry=audit_entry(request, 200),
            batch_size=settings.batch_size,
            topic_prefix=settings.kafka.topic_prefix,
        )
    except review.ReviewError as exc:
        raise ProblemError(exc.status, "Not found" if exc.status == 404 else "Conflict", exc.detail) from None
    audited(request, 200)
    return await _decided(engine, tenant, remittance_id)


@router.post(
    "/remittances/{remittance_id}/reject",
    response_model=RemittanceRead,
    summary="Keep a held 835 unposted, with the operator's note; the payer's corrected 835 still supersedes it",
    responses={409: {"description": "not held: already released, rejected or superseded by a corrected 835"}},
)
async def reject_remittance(
    remittance_id: str, body: HeldDecision, request: Request, tenant: TenantDep, engine: EngineDep
) -> RemittanceRead:
    try:
        await review.reject(
            engine,
            tenant=tenant,
            remittance_id=remittance_id,
            decision=review.Decision(_actor(request), body.note),
            audit_entry=audit_entry(request, 200),
        )
    except review.ReviewError as exc:
        raise ProblemError(exc.status, "Not found" if exc.status == 404 else "Conflict", exc.detail) from None
    audited(request, 200)
    return await _decided(engine, tenant, remittance_id)


@router.get("/remittances/{remittance_id}", response_model=RemittanceRead)
async def get_remittance(remittance_id: str, tenant: TenantDep, engine: EngineDep) -> RemittanceRead:
    async with read_connection(engine) as conn:
        repo = RemittanceRepository(conn, tenant)
        row = await repo.get_remittance(remittance_id)
        if row is None:
            raise ProblemError(404, "Not found", f"no remittance {remittance_id}")
        return _remittance(row, await repo.provider_adjustments(remittance_id))


async def _claim_payments(repo: RemittanceRepository, rows: list[Any]) -> list[ClaimPaymentRead]:
    ids = [r.id for r in rows]
    by_claim: dict[str, list[LineRead]] = {}
    for line in await repo.lines_of(ids):
        values = {k: getattr(line, k) for k in LineRead.model_fields}
        values["modifiers"] = line.modifiers.split()
        by_claim.setdefault(line.claim_payment_id, []).append(LineRead(**values))
    adjustments: dict[str, list[AdjustmentRead]] = {}
    for a in await repo.adjustments_of(ids):
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
        for r in rows
    ]


@router.get("/remittances/{remittance_id}/claims", response_model=list[ClaimPaymentRead])
async def remittance_claims(
    remittance_id: str,
    tenant: TenantDep,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ClaimPaymentRead]:
    async with read_connection(engine) as conn:
        repo = RemittanceRepository(conn, tenant)
        if await repo.get_remittance(remittance_id) is None:
            raise ProblemError(404, "Not found", f"no remittance {remittance_id}")
        rows = await repo.claim_payments(remittance_id=remittance_id, limit=limit, offset=offset)
        return await _claim_payments(repo, rows)


@router.get("/claims/{claim_id}/postings", response_model=ClaimPostings, summary="Everything posted to one claim")
async def claim_postings(claim_id: str, tenant: TenantDep, engine: EngineDep) -> ClaimPostings:
    async with read_connection(engine) as conn:
        repo = RemittanceRepository(conn, tenant)
        rows = await repo.claim_payments(claim_id=claim_id, limit=1000)
        ledger = await repo.ledger_for_claim(claim_id)
        if not rows and not ledger:
            raise ProblemError(404, "Not found", f"nothing posted to claim {claim_id}")
        payments = await _claim_payments(repo, rows)
        denials = await repo.denial_postings(claim_id)
    totals: dict[str, int] = {}
    for e in ledger:
        totals[e.entry_type] = totals.get(e.entry_type, 0) + e.amount_cents
    return ClaimPostings(
        claim_id=claim_id,
        payments=payments,
        ledger=[LedgerEntryRead(**{k: getattr(e, k) for k in LedgerEntryRead.model_fields}) for e in ledger],
        totals_cents=totals,
        patient_responsibility_cents=sum(v for k, v in totals.items() if k in PATIENT_TYPES),
        denial_postings=[
            DenialPostingRead(**{k: getattr(d, k) for k in DenialPostingRead.model_fields}) for d in denials
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
    engine: EngineDep,
    status: Annotated[list[ReviewStatus] | None, Query(description="default: open")] = None,
    kind: ReviewKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ReviewItemRead]:
    async with read_connection(engine) as conn:
        rows = await RemittanceRepository(conn, tenant).review_items(
            status=status or ["open"], kind=kind, limit=limit, offset=offset
        )
    return [ReviewItemRead(**{k: getattr(r, k) for k in ReviewItemRead.model_fields}) for r in rows]


@router.post("/review-items/{item_id}/resolve", response_model=ReviewItemRead)
async def resolve_review_item(
    item_id: int, body: ReviewResolve, tenant: TenantDep, engine: EngineDep
) -> ReviewItemRead:
    async with write_transaction(engine) as conn:
        v = review_item.c
        result = await conn.execute(
            update(review_item)
            .where(and_(v.tenant_id == tenant, v.id == item_id, v.status == "open"))
            .values(status="resolved", note=body.note, resolved_at=datetime.now(UTC))
        )
        row = await RemittanceRepository(conn, tenant).review_item(item_id)
    if row is None:
        raise ProblemError(404, "Not found", f"no review item {item_id}")
    if not result.rowcount and row.status != "resolved":
        raise ProblemError(409, "Conflict", f"review item {item_id} is {row.status}")
    return ReviewItemRead(**{k: getattr(row, k) for k in ReviewItemRead.model_fields})


@router.post(
    "/deposits",
    response_model=DepositRead,
    status_code=201,
    summary="Record a bank deposit; matched to the remittance with the same trace number and amount",
)
async def post_deposit(body: DepositCreate, tenant: TenantDep, engine: EngineDep) -> Any:
    result = await record_deposit(
        engine,
        tenant=tenant,
        trace_number=body.trace_number,
        amount_cents=body.amount_cents,
        deposit_date=body.deposit_date,
    )
    if not result.created and (result.amount_cents, result.deposit_date) != (body.amount_cents, body.deposit_date):
        raise ProblemError(409, "Conflict", f"deposit {body.trace_number} was recorded with other values")
    read = DepositRead(**{k: getattr(result, k) for k in DepositRead.model_fields})
    return JSONResponse(read.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.get("/deposits/reconciliation", response_model=Reconciliation)
async def reconciliation(tenant: TenantDep, engine: EngineDep) -> Reconciliation:
    async with read_connection(engine) as conn:
        deposits, remittances = await RemittanceRepository(conn, tenant).reconciliation()
    return Reconciliation(
        unmatched_deposits=[DepositRead(**{k: getattr(d, k) for k in DepositRead.model_fields}) for d in deposits],
        unmatched_remittances=[_remittance(r) for r in remittances],
    )


@router.get("/reports/payer-totals", response_model=list[PayerTotals])
async def payer_totals(
    tenant: TenantDep, engine: EngineDep, since: date | None = None, until: date | None = None
) -> list[PayerTotals]:
    async with read_connection(engine) as conn:
        rows = await RemittanceRepository(conn, tenant).payer_totals(since, until)
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


# -- the patient side -------------------------------------------------------------------------------------
def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        raise ProblemError(400, "Bad Request", "send an Idempotency-Key header (1-200 characters) with each payment")
    return key


def _practice(settings: RemittanceSettings) -> Practice:
    return Practice(
        settings.practice_name,
        settings.practice_address,
        settings.practice_phone,
        settings.pay_online,
        settings.pay_by_mail,
    )


async def _tender(request: Request, tenant: str, engine: AsyncEngine, body: TenderCreate, kind: str) -> Any:
    key = _idempotency_key(request)
    t = Tender(
        body.account_id,
        body.amount_cents,
        body.method,
        body.reference,
        body.received_on or datetime.now(UTC).date(),
        body.claim_ids,
    )
    box = patients.outbox(_settings(request).kafka.topic_prefix)
    try:
        async with write_transaction(engine) as conn:
            if kind == "payment":
                payment_id, new = await patients.apply_payment(conn, box, tenant, t, key)
            else:
                payment_id, new = await patients.refund_credit(conn, box, tenant, t, key)
            balance = (await patients.account_balances(conn, tenant, [t.account_id])).get(t.account_id, 0)
    except patients.IdempotencyConflict as exc:
        raise ProblemError(409, "Conflict", str(exc)) from None
    except patients.PatientError as exc:
        raise ProblemError(422, "Unprocessable Content", str(exc)) from None
    read = TenderRead(
        payment_id=payment_id,
        account_id=t.account_id,
        kind=kind,
        amount_cents=t.amount_cents,
        replayed=not new,
        balance_cents=balance,
    )
    return JSONResponse(read.model_dump(mode="json"), status_code=201 if new else 200)


@router.post(
    "/patient-payments",
    response_model=TenderRead,
    status_code=201,
    summary="Post a patient payment (Idempotency-Key required): named claims first, then the oldest open ones; "
    "any rest is a credit on account",
)
async def post_patient_payment(body: TenderCreate, request: Request, tenant: TenantDep, engine: EngineDep) -> Any:
    return await _tender(request, tenant, engine, body, "payment")


@router.post(
    "/patient-refunds",
    response_model=TenderRead,
    status_code=201,
    summary="Refund (part of) a patient's credit balance (Idempotency-Key required)",
)
async def post_patient_refund(body: TenderCreate, request: Request, tenant: TenantDep, engine: EngineDep) -> Any:
    return await _tender(request, tenant, engine, body, "refund")


@router.get("/patient-accounts/{account_id}", response_model=PatientAccountRead)
async def patient_account_balance(account_id: str, tenant: TenantDep, engine: EngineDep) -> PatientAccountRead:
    async with read_connection(engine) as conn:
        per_claim = await patients.claim_balances(conn, tenant, account_id)
        pending = await patients.pending_with_insurance(conn, tenant, account_id)
    if not per_claim and not pending:
        raise ProblemError(404, "Not Found", f"no patient account {account_id}")
    balance = sum(per_claim.values())
    return PatientAccountRead(
        account_id=account_id,
        balance_cents=balance,
        due_cents=max(balance, 0),
        credit_cents=max(-balance, 0),
        claims=[ClaimBalance(claim_id=c, balance_cents=b) for c, b in per_claim.items() if c is not None],
        on_account_cents=per_claim.get(None, 0),
        pending_with_insurance=pending,
    )


@router.post(
    "/statements/runs",
    response_model=StatementRunRead,
    status_code=201,
    summary="Produce statements (PDF and structured) for every account with a balance due (on its cycle day)",
    description=(
        "`as_of` is the statement date (default: today, UTC). A statement as of a date counts only what was "
        "posted by the end of that day (UTC): the patient's charges and payments, the payers' payments and "
        "adjustments. A run as of an earlier date shows each account as it stood then; an account that owed "
        "nothing by then gets no statement, and nothing posted later is aged or billed in it."
    ),
)
async def post_statement_run(
    request: Request, tenant: TenantDep, engine: EngineDep, body: StatementRunCreate | None = None
) -> StatementRunRead:
    body = body or StatementRunCreate()
    settings = _settings(request)
    as_of = body.as_of or datetime.now(UTC).date()
    async with write_transaction(engine) as conn:
        await crossover.release_late(
            conn,
            patients.outbox(settings.kafka.topic_prefix),
            tenant,
            as_of,
            settings.crossover_wait_days,
            datetime.now(UTC),
        )
        run_id, issued = await patients.run_statements(
            conn, patients.outbox(settings.kafka.topic_prefix), tenant, as_of, _practice(settings), body.cycle_day
        )
    return StatementRunRead(run_id=run_id, as_of=as_of, statements=[StatementSummary(**i) for i in issued])


@router.get("/statements", response_model=list[StatementSummary])
async def list_statements(
    tenant: TenantDep,
    engine: EngineDep,
    account_id: str | None = None,
    run_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[StatementSummary]:
    s = statement.c
    where = [s.tenant_id == tenant]
    if account_id:
        where.append(s.account_id == account_id)
    if run_id:
        where.append(s.run_id == run_id)
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(s.id, s.account_id, s.amount_due_cents)
            .where(and_(*where))
            .order_by(s.created_at, s.id)
            .limit(limit)
            .offset(offset)
        )
        return [StatementSummary(id=r.id, account_id=r.account_id, amount_due_cents=r.amount_due_cents) for r in rows]


async def _statement(tenant: str, engine: AsyncEngine, statement_id: str) -> Any:
    async with read_connection(engine) as conn:
        row = (
            await conn.execute(
                select(statement).where(and_(statement.c.tenant_id == tenant, statement.c.id == statement_id))
            )
        ).first()
    if row is None:
        raise ProblemError(404, "Not Found", f"no statement {statement_id}")
    return row


@router.get("/statements/{statement_id}", summary="The statement as a structured document")
async def get_statement(statement_id: str, tenant: TenantDep, engine: EngineDep) -> dict[str, Any]:
    return dict((await _statement(tenant, engine, statement_id)).document)


@router.get(
    "/statements/{statement_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The statement as sent (PDF)",
)
async def get_statement_pdf(statement_id: str, tenant: TenantDep, engine: EngineDep) -> Response:
    row = await _statement(tenant, engine, statement_id)
    return Response(bytes(row.pdf), media_type="application/pdf")
