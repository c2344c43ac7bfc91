"""HTTP routes of the denials service: the work queue, actions, appeal letters, analytics."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from rcm_shared.db import read_connection, write_transaction
from rcm_shared.web import EngineDep, ProblemError, TenantDep
from sqlalchemy import and_, func, select

from denials.api.schemas import (
    ActionRequest,
    Analytics,
    Breakdown,
    DenialCategory,
    DenialDetail,
    DenialRead,
    DenialStatus,
    HistoryRead,
    QueueItem,
)
from denials.handlers import WORK_STATES, SameActor, Unit, act, work_queue
from denials.models import adjudication_seen, appeal, denial, denial_event

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
    request: Request,
    tenant: TenantDep,
    engine: EngineDep,
    status: Annotated[
        list[DenialStatus] | None, Query(description="default: open, in_progress, write_off_pending")
    ] = None,
    category: DenialCategory | None = None,
    payer_id: str | None = None,
    assignee: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[QueueItem]:
    async with read_connection(engine) as conn:
        unit = Unit(conn, tenant, request.app.state.settings)
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


async def _detail(unit: Unit, denial_id: str) -> DenialDetail:
    row = await unit.get(denial_id)
    events = await unit.conn.execute(
        select(denial_event).where(denial_event.c.denial_id == denial_id).order_by(denial_event.c.id)
    )
    letter = (
        await unit.conn.execute(
            select(appeal.c.letter_text)
            .where(appeal.c.denial_id == denial_id)
            .order_by(appeal.c.created_at.desc())
            .limit(1)
        )
    ).scalar()
    return _read(
        row,
        DenialDetail,
        history=[HistoryRead(action=e.action, actor=e.actor, note=e.note, at=e.at) for e in events],
        appeal_letter=letter,
    )


@router.get("/denials/analytics", response_model=Analytics)
async def analytics(
    tenant: TenantDep, engine: EngineDep, since: date | None = None, until: date | None = None
) -> Analytics:
    until = until or datetime.now(UTC).date()
    since = since or until - timedelta(days=90)
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    d, a = denial.c, adjudication_seen.c
    async with read_connection(engine) as conn:
        seen = (
            await conn.execute(
                select(
                    func.count(func.distinct(a.claim_id)), func.count(func.distinct(a.claim_id)).filter(a.denied == 1)
                ).where(and_(a.tenant_id == tenant, a.seen_on >= since, a.seen_on <= until))
            )
        ).one()
        period = and_(d.tenant_id == tenant, d.opened_at >= start, d.opened_at < end)
        rows = list(await conn.execute(select(denial).where(period)))

        def breakdown(key: str) -> list[Breakdown]:
            out: dict[str, list[int]] = {}
            for r in rows:
                keys = r.carcs if key == "carc" else [getattr(r, key)]
                for k in keys or ["(none)"]:
                    out.setdefault(k, [0, 0])
                    out[k][0] += 1
                    out[k][1] += r.amount_cents
            return [Breakdown(key=k, denials=v[0], amount_cents=v[1]) for k, v in sorted(out.items())]

    resolved = [r for r in rows if r.resolved_at is not None]
    recovered = sum(r.recovered_cents for r in rows)
    denied_amount = sum(r.amount_cents for r in rows)
    days = [(r.resolved_at - r.opened_at).total_seconds() / 86400 for r in resolved]
    return Analytics(
        since=since,
        until=until,
        adjudicated_claims=seen[0],
        denied_claims=seen[1],
        denial_rate=round(seen[1] / seen[0], 4) if seen[0] else 0.0,
        by_payer=breakdown("payer_id"),
        by_category=breakdown("category"),
        by_carc=breakdown("carc"),
        avoidable_share=round(sum(1 for r in rows if r.avoidable == "yes") / len(rows), 4) if rows else 0.0,
        recovered_cents=recovered,
        recovery_rate=round(recovered / denied_amount, 4) if denied_amount else 0.0,
        average_days_to_resolve=round(sum(days) / len(days), 2) if days else None,
    )


@router.get("/denials/{denial_id}", response_model=DenialDetail)
async def get_denial(denial_id: str, request: Request, tenant: TenantDep, engine: EngineDep) -> DenialDetail:
    async with read_connection(engine) as conn:
        return await _detail(Unit(conn, tenant, request.app.state.settings), denial_id)


def _actor(request: Request) -> str:
    """Who acts: the token's subject; without authentication (a development stack), the X-Actor header."""
    principal = getattr(request.state, "principal", None)
    return str(principal.client_id) if principal is not None else request.headers.get("X-Actor", "api")


@router.post(
    "/denials/{denial_id}/actions",
    response_model=DenialDetail,
    summary="assign, comment, appeal (letter as text and PDF), resubmit, write_off, bill_patient, upheld, "
    "approve_write_off, reject_write_off",
    description="A resolved denial (recovered, written off, billed to the patient, closed, superseded) takes "
    "comments only; any other action on it is a 409 problem. bill_patient moves the denied amount to the "
    "patient's account (only money that is the patient's: coverage not in force, or a code the classification "
    "marks billable to the patient; an underpayment or unclassified denial is a 409 saying why); "
    "write_off adjusts it off insurance A/R. A write-off over DENIALS_WRITE_OFF_APPROVAL_CENTS waits "
    "(status write_off_pending) until another person approves it (approve_write_off) or rejects it "
    "(reject_write_off); the one who asked approving it is a 403 problem.",
)
async def post_action(
    denial_id: str, body: ActionRequest, request: Request, tenant: TenantDep, engine: EngineDep
) -> DenialDetail:
    actor = _actor(request)
    try:
        async with write_transaction(engine) as conn:
            unit = Unit(conn, tenant, request.app.state.settings)
            await act(
                unit, denial_id, body.action, actor, note=body.note, assignee=body.assignee, correction=body.correction
            )
            return await _detail(unit, denial_id)
    except SameActor as exc:
        raise ProblemError(403, "Forbidden", str(exc)) from None


@router.get("/denials/{denial_id}/appeal.pdf", response_class=Response, summary="The appeal letter as PDF")
async def appeal_pdf(denial_id: str, tenant: TenantDep, engine: EngineDep) -> Response:
    async with read_connection(engine) as conn:
        pdf = (
            await conn.execute(
                select(appeal.c.letter_pdf)
                .where(and_(appeal.c.tenant_id == tenant, appeal.c.denial_id == denial_id))
                .order_by(appeal.c.created_at.desc())
                .limit(1)
            )
        ).scalar()
    if pdf is None:
        raise ProblemError(404, "Not found", f"no appeal letter for denial {denial_id}")
    return Response(base64.b64decode(pdf), media_type="application/pdf")
