"""HTTP routes of the patient side: patient payments and refunds, accounts, statements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from rcm_shared.unit import Actor, Units
from rcm_shared.web import MAX_OFFSET, ActorDep, ProblemError, TenantDep, UnitsDep

from remittance.api.deps import AddressBookDep
from remittance.api.routes import settings_of
from remittance.api.schemas import (
    ClaimBalance,
    NotMailable,
    PatientAccountRead,
    StatementRunCreate,
    StatementRunRead,
    StatementSummary,
    TenderCreate,
    TenderRead,
)
from remittance.config import RemittanceSettings
from remittance.domain.patients import Tender
from remittance.domain.practice import Practice, split_address
from remittance.use_cases import patient_ledger, payments, statements

router = APIRouter(prefix="/v1", tags=["remittance"])


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        raise ProblemError(400, "Bad Request", "send an Idempotency-Key header (1-200 characters) with each payment")
    return key


def _practice(settings: RemittanceSettings) -> Practice:
    """The header of a tenant whose practice profile has not come from claims yet."""
    return Practice(
        settings.practice_name,
        split_address(settings.practice_address),
        settings.practice_phone,
        settings.pay_online or None,
        settings.pay_by_mail or None,
        from_profile=False,
    )


async def _tender(
    request: Request, tenant: str, actor: Actor, units: Units, body: TenderCreate, kind: str
) -> JSONResponse:
    key = _idempotency_key(request)
    t = Tender(
        body.account_id,
        body.amount_cents,
        body.method,
        body.reference,
        body.received_on or datetime.now(UTC).date(),
        body.claim_ids,
    )
    use_case = payments.apply_payment if kind == "payment" else payments.refund_credit
    async with units.write(tenant, actor) as unit:
        done = await use_case(unit, t, key)
    read = TenderRead(
        payment_id=done.payment_id,
        account_id=t.account_id,
        kind=kind,
        amount_cents=t.amount_cents,
        replayed=not done.new,
        balance_cents=done.balance_cents,
    )
    return JSONResponse(read.model_dump(mode="json"), status_code=201 if done.new else 200)


@router.post(
    "/patient-payments",
    response_model=TenderRead,
    status_code=201,
    summary="Post a patient payment (Idempotency-Key required): named claims first, then the oldest open ones; "
    "any rest is a credit on account",
)
async def post_patient_payment(
    body: TenderCreate, request: Request, tenant: TenantDep, actor: ActorDep, units: UnitsDep
) -> Any:
    return await _tender(request, tenant, actor, units, body, "payment")


@router.post(
    "/patient-refunds",
    response_model=TenderRead,
    status_code=201,
    summary="Refund (part of) a patient's credit balance (Idempotency-Key required)",
)
async def post_patient_refund(
    body: TenderCreate, request: Request, tenant: TenantDep, actor: ActorDep, units: UnitsDep
) -> Any:
    return await _tender(request, tenant, actor, units, body, "refund")


@router.get("/patient-accounts/{account_id}", response_model=PatientAccountRead)
async def patient_account_balance(account_id: str, tenant: TenantDep, units: UnitsDep) -> PatientAccountRead:
    async with units.read(tenant) as unit:
        account = await patient_ledger.patient_account(unit, account_id)
    balance = account.balance_cents
    return PatientAccountRead(
        account_id=account_id,
        balance_cents=balance,
        due_cents=max(balance, 0),
        credit_cents=max(-balance, 0),
        claims=[ClaimBalance(claim_id=c, balance_cents=b) for c, b in account.per_claim.items() if c is not None],
        on_account_cents=account.per_claim.get(None, 0),
        pending_with_insurance=account.pending_with_insurance,
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
        "nothing by then gets no statement, and nothing posted later is aged or billed in it. Each statement "
        "carries the organization's own header (its practice profile) and is addressed to the patient's "
        "mailing address, asked of the claims API with the caller's token (scope `claims:read`); a statement "
        "whose address is unknown is produced all the same and listed in `not_mailable`."
    ),
)
async def post_statement_run(
    request: Request,
    tenant: TenantDep,
    actor: ActorDep,
    units: UnitsDep,
    addresses: AddressBookDep,
    body: StatementRunCreate | None = None,
) -> StatementRunRead:
    body = body or StatementRunCreate()
    settings = settings_of(request)
    as_of = body.as_of or datetime.now(UTC).date()
    run = await statements.produce_statements(
        units,
        tenant,
        actor,
        as_of,
        _practice(settings),
        addresses,
        body.cycle_day,
        crossover_wait_days=settings.crossover_wait_days,
    )
    return StatementRunRead(
        run_id=run.run_id,
        as_of=as_of,
        statements=[StatementSummary(**i) for i in run.issued],
        not_mailable=[NotMailable(**n) for n in run.not_mailable],
    )


@router.get("/statements", response_model=list[StatementSummary])
async def list_statements(
    tenant: TenantDep,
    units: UnitsDep,
    account_id: str | None = None,
    run_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[StatementSummary]:
    async with units.read(tenant) as unit:
        rows = await statements.statements(unit, account_id, run_id, limit, offset)
    return [StatementSummary(id=r.id, account_id=r.account_id, amount_due_cents=r.amount_due_cents) for r in rows]


@router.get("/statements/{statement_id}", summary="The statement as a structured document")
async def get_statement(statement_id: str, tenant: TenantDep, units: UnitsDep) -> dict[str, Any]:
    async with units.read(tenant) as unit:
        row = await statements.statement(unit, statement_id)
    return dict(row.document)


@router.get(
    "/statements/{statement_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The statement as sent (PDF)",
)
async def get_statement_pdf(statement_id: str, tenant: TenantDep, units: UnitsDep) -> Response:
    async with units.read(tenant) as unit:
        row = await statements.statement(unit, statement_id)
    return Response(bytes(row.pdf), media_type="application/pdf")
