"""HTTP routes of the denials service: the work queue, actions, appeal letters, analytics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from rcm_shared.web import MAX_OFFSET, ActorDep, ProblemError, TenantDep, UnitsDep

from denials.api.schemas import (
    ActionRequest,
    Analytics,
    DenialCategory,
    DenialDetail,
    DenialRead,
    DenialStatus,
    HistoryRead,
    QueueItem,
)
from denials.domain.states import WORK_STATES
from denials.use_cases import analytics as period
from denials.use_cases import queue as worklist
from denials.use_cases.actions import act
from denials.use_cases.approvals import SameActor
from denials.use_cases.queue import Detail, detail, work_queue

router = APIRouter(prefix="/v1", tags=["denials"])


T = TypeVar("T", bound=DenialRead)


def _read(row: Any, cls: type[T], **extra: Any) -> T:
    return cls(**{k: getattr(row, k) for k in DenialRead.model_fields}, **extra)


@router.get(
    "/denials",
    response_model=list[QueueItem],
    summary="The work queue, highest priority first",
    description="Without `status`, the denials that wait on someone in the billing office: `open`, `in_progress` "
    "and `write_off_pending` (a write-off over the approval threshold, waiting for a second person). Denials "
    "waiting on the payer (`appealed`, `resubmitted`) and resolved ones (`recovered`, `written_off`, "
    "`billed_patient`, `closed`, `superseded`) are listed when asked for; `status` repeats "
    "(`?status=recovered&status=written_off`). An unknown status or category is refused (422). The denials "
    "are the caller's organization's (the token's, or X-Tenant-ID): `rcm demo` works under `default` (or "
    "RCM_DEMO_TENANT) and works every denial of its day, so after it the queue is empty and its denials are "
    "under the resolved statuses.",
)
async def queue(
    units: UnitsDep,
    tenant: TenantDep,
    status: Annotated[
        list[DenialStatus] | None, Query(description="default: open, in_progress, write_off_pending")
    ] = None,
    category: DenialCategory | None = None,
    payer_id: str | None = None,
    assignee: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[QueueItem]:
    async with units.read(tenant) as unit:
        rows = await work_queue(
            unit,
            status=status or list(WORK_STATES),
            category=category,
            payer_id=payer_id,
            assignee=assignee,
            limit=limit,
            offset=offset,
        )
    return [_read(r, QueueItem, recovery_probability=round(p, 3), priority=score) for r, p, score in rows]


def _detail(found: Detail) -> DenialDetail:
    return _read(
        found.row,
        DenialDetail,
        history=[HistoryRead(action=e.action, actor=e.actor, note=e.note, at=e.at) for e in found.history],
        appeal_letter=found.appeal_letter,
    )


@router.get("/denials/analytics", response_model=Analytics)
async def analytics(
    units: UnitsDep, tenant: TenantDep, since: date | None = None, until: date | None = None
) -> Analytics:
    async with units.read(tenant) as unit:
        return Analytics.model_validate(await period.analytics(unit, since, until))


@router.get("/denials/{denial_id}", response_model=DenialDetail)
async def get_denial(denial_id: str, units: UnitsDep, tenant: TenantDep) -> DenialDetail:
    async with units.read(tenant) as unit:
        return _detail(await detail(unit, denial_id))


@router.post(
    "/denials/{denial_id}/actions",
    response_model=DenialDetail,
    summary="assign, comment, appeal (letter as text and PDF), resubmit, write_off, bill_patient, upheld, "
    "approve_write_off, reject_write_off",
    description="A resolved denial (recovered, written off, billed to the patient, closed, superseded) takes "
    "comments only; any other action on it is a 409 problem. bill_patient moves the denied amount to the "
    "patient's account (only money that is the patient's: coverage not in force, or a code the classification "
    "marks billable to the patient; an unclassified denial is a 409 saying why); "
    "write_off adjusts it off insurance A/R. A write-off over DENIALS_WRITE_OFF_APPROVAL_CENTS waits "
    "(status write_off_pending) until another person approves it (approve_write_off) or rejects it "
    "(reject_write_off); the one who asked approving it is a 403 problem.",
)
async def post_action(
    denial_id: str, body: ActionRequest, request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep
) -> DenialDetail:
    try:
        async with units.write(tenant, actor) as unit:
            await act(
                unit,
                request.app.state.settings,
                denial_id,
                body.action,
                note=body.note,
                assignee=body.assignee,
                correction=body.correction,
            )
            return _detail(await detail(unit, denial_id))
    except SameActor as exc:
        raise ProblemError(403, "Forbidden", str(exc)) from None


@router.get("/denials/{denial_id}/appeal.pdf", response_class=Response, summary="The appeal letter as PDF")
async def appeal_pdf(denial_id: str, units: UnitsDep, tenant: TenantDep) -> Response:
    async with units.read(tenant) as unit:
        pdf = await worklist.appeal_pdf(unit, denial_id)
    return Response(pdf, media_type="application/pdf")
