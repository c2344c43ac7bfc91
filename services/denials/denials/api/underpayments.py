"""HTTP routes of expected payment and the underpayment/overpayment worklist."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from rcm_shared.web import MAX_OFFSET, ActorDep, TenantDep, UnitsDep

from denials.api.underpayment_schemas import (
    AcceptBody,
    Adjudicated,
    AdjustContractBody,
    AppealBody,
    ContractLine,
    ExpectedLine,
    ExpectedPaymentRead,
    GroupBy,
    GroupTotal,
    HistoryRead,
    NotCompared,
    VarianceDetail,
    VarianceKind,
    VarianceRead,
    VarianceStatus,
    WorklistRead,
)
from denials.use_cases import underpayments
from denials.use_cases.expected import LIVE, expected_payment

router = APIRouter(prefix="/v1", tags=["underpayments"])


def _modifiers(text: str) -> list[str]:
    return [m for m in text.split(":") if m]


def _item(row: Any) -> VarianceRead:
    values = {k: getattr(row, k) for k in VarianceRead.model_fields if k not in ("modifiers", "fee_line")}
    fee = ContractLine(**row.fee_line) if row.fee_line else None
    return VarianceRead(**values, modifiers=_modifiers(row.modifiers), fee_line=fee)


def _detail(found: underpayments.Detail) -> VarianceDetail:
    return VarianceDetail(
        **_item(found.row).model_dump(),
        history=[HistoryRead(action=e.action, actor=e.actor, note=e.note, at=e.at) for e in found.history],
        appeal_letter=found.row.letter_text,
        adjusted_version_id=found.row.adjusted_version_id,
    )


@router.get(
    "/underpayments",
    response_model=WorklistRead,
    summary="The underpayment/overpayment worklist, the most money at stake first, with group totals",
    description="Items are adjudicated lines whose allowed amount is off the contract's by more than "
    "DENIALS_UNDERPAYMENT_TOLERANCE_CENTS. Without `status`, those still at stake (`open`, `appealed`); "
    "`status` repeats. `group_by` adds totals per payer, contract, code or cause (and kind); `totals` are per "
    "kind. Money in integer cents.",
)
async def list_items(
    units: UnitsDep,
    tenant: TenantDep,
    group_by: GroupBy | None = None,
    kind: VarianceKind | None = None,
    status: Annotated[list[VarianceStatus] | None, Query(description="default: open, appealed")] = None,
    payer_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> WorklistRead:
    async with units.read(tenant) as unit:
        found = await underpayments.worklist(
            unit,
            group_by=group_by,
            kind=kind,
            statuses=status or list(LIVE),
            payer_id=payer_id,
            limit=limit,
            offset=offset,
        )
    return WorklistRead(
        items=[_item(r) for r in found.items],
        groups=[GroupTotal.model_validate(asdict(t)) for t in found.groups],
        totals=[GroupTotal.model_validate(asdict(t)) for t in found.totals],
    )


@router.get("/underpayments/{variance_id}/appeal.pdf", response_class=Response, summary="The appeal letter as PDF")
async def appeal_pdf(variance_id: str, units: UnitsDep, tenant: TenantDep) -> Response:
    async with units.read(tenant) as unit:
        pdf = await underpayments.appeal_pdf(unit, variance_id)
    return Response(pdf, media_type="application/pdf")


@router.get("/underpayments/{variance_id}", response_model=VarianceDetail, summary="An item with its history")
async def get_item(variance_id: str, units: UnitsDep, tenant: TenantDep) -> VarianceDetail:
    async with units.read(tenant) as unit:
        return _detail(await underpayments.detail(unit, variance_id))


@router.post(
    "/underpayments/{variance_id}:appeal",
    response_model=VarianceDetail,
    summary="Appeal an underpaid line: a letter citing the contract line and the pricing steps; -> appealed",
    description="Again on an appealed item: the item as it is. An overpayment, or an item accepted, adjusted or "
    "cancelled: 409.",
)
async def appeal(
    variance_id: str, body: AppealBody, request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep
) -> VarianceDetail:
    async with units.write(tenant, actor) as unit:
        return _detail(await underpayments.appeal(unit, request.app.state.settings, variance_id, body.note))


@router.post(
    "/underpayments/{variance_id}:accept",
    response_model=VarianceDetail,
    summary="Accept the payer's amount, with a reason; -> accepted",
    description="Again on an accepted item: the item as it is. An item adjusted or cancelled: 409.",
)
async def accept(
    variance_id: str, body: AcceptBody, units: UnitsDep, tenant: TenantDep, actor: ActorDep
) -> VarianceDetail:
    async with units.write(tenant, actor) as unit:
        return _detail(await underpayments.accept(unit, variance_id, body.reason))


@router.post(
    "/underpayments/{variance_id}:adjust-contract",
    response_model=VarianceDetail,
    summary="Make the payer's rate the contract's from a date: a new contract version; -> contract_adjusted",
    description="The new version is the version the line was priced by, with the rate of the line's fee line "
    "(else a new line for its code) set to the rate that prices the line at the payer's allowed amount under "
    "the same rules; from effective_from to that version's end, or the day before a newer version starts. "
    "effective_from outside that version's window: 422; a newer version in effect on it: 409. The other items "
    "at stake of the same contract and fee line in the window are priced again: contract_adjusted when the new "
    "rate settles them, else with the new figures. Again on an adjusted item: the item as it is (no second "
    "version). A cancelled item: 409.",
)
async def adjust_contract(
    variance_id: str, body: AdjustContractBody, request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep
) -> VarianceDetail:
    async with units.write(tenant, actor) as unit:
        found = await underpayments.adjust_contract(
            unit, request.app.state.settings, variance_id, body.effective_from, body.note, request.app.state.medicare
        )
        return _detail(found)


@router.get(
    "/claims/{claim_id}/expected-payment",
    response_model=ExpectedPaymentRead,
    summary="A claim's expected payment: each line's expected allowed amount, its rule trail and contract "
    "version, and once adjudicated the payer's amounts and the variance",
)
async def get_expected_payment(claim_id: str, units: UnitsDep, tenant: TenantDep) -> ExpectedPaymentRead:
    async with units.read(tenant) as unit:
        found = await expected_payment(unit, claim_id)
    lines = []
    for view in found.lines:
        r, a = view.row, view.answer
        lines.append(
            ExpectedLine(
                line_number=r.line_number,
                code=r.code,
                modifiers=_modifiers(r.modifiers),
                units=r.units,
                charge_cents=r.charge_cents,
                service_date=r.service_date,
                place_of_service=r.place_of_service,
                contract_id=r.contract_id,
                contract_version=r.contract_version,
                rule=r.rule,
                steps=r.steps,
                fee_line=ContractLine(**r.fee_line) if r.fee_line else None,
                expected_allowed_cents=r.expected_allowed_cents,
                adjudicated=None
                if a is None
                else Adjudicated(
                    remittance_id=a.remittance_id,
                    line_number=a.line_number,
                    matched_by=a.match,
                    allowed_cents=a.allowed_cents,
                    paid_cents=a.paid_cents,
                    patient_cents=a.patient_cents,
                    expected_paid_cents=view.expected_paid_cents,
                    variance_cents=view.variance_cents,
                ),
            )
        )
    amounts = [line.expected_allowed_cents for line in lines]
    return ExpectedPaymentRead(
        claim_id=found.claim_id,
        payer_id=found.payer_id,
        expected_allowed_cents=None if None in amounts else sum(a for a in amounts if a is not None),
        lines=lines,
        items=[_item(r) for r in found.items],
        not_compared=[
            NotCompared(
                remittance_id=a.remittance_id,
                line_number=a.line_number,
                procedure_code=a.procedure_code,
                line_control_number=a.line_control_number,
                allowed_cents=a.allowed_cents,
                paid_cents=a.paid_cents,
                reason=a.note,
            )
            for a in found.not_compared
        ],
    )
