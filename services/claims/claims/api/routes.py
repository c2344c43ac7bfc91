"""HTTP routes of the claims service."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import PlainTextResponse
from rcm_shared.db import read_connection, write_transaction
from rcm_shared.logging import correlation_id
from rcm_shared.web import EngineDep, ProblemError, TenantDep
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.writer import one_segment_per_line
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from claims.acks import ingest_ack
from claims.api.schemas import (
    AckRead,
    AgingRow,
    ClaimRead,
    ClaimState,
    CorrectRequest,
    FollowUpRead,
    FollowUpReason,
    InquiryRequest,
    KpisRead,
    StatusRecordRead,
    SubmissionRead,
    SubmitRequest,
    TransitionRead,
)
from claims.config import ClaimsSettings
from claims.domain import state as st
from claims.domain.encounter import ClaimCreate
from claims.follow_up import follow_up_list, send_due_inquiries
from claims.handlers import (
    Actor,
    ClaimsUnit,
    Refused,
    correct_claim,
    create_claim,
    create_claims,
    update_claim,
)
from claims.models import claim, claim_status_record, claim_transition, submission
from claims.reports import ar_aging, kpis
from claims.resources import ScrubResources
from claims.submission import (
    DeliveryError,
    Held,
    Prepared,
    adapter_for,
    hold_for_caller,
    mark_delivery,
    prepare,
    prepare_status_inquiry,
)

router = APIRouter(prefix="/v1", tags=["claims"])


def _settings(request: Request) -> ClaimsSettings:
    settings: ClaimsSettings = request.app.state.settings
    return settings


def _resources(request: Request) -> ScrubResources:
    resources: ScrubResources = request.app.state.scrub
    return resources


def _actor(request: Request) -> Actor:
    return Actor(name=request.headers.get("X-Actor", "api"), correlation_id=correlation_id.get())


def _unit(conn: Any, tenant: str, request: Request) -> ClaimsUnit:
    return ClaimsUnit(conn, tenant, _settings(request).kafka.topic_prefix)


# the amounts a new claim is inserted without (their columns' defaults)
NEW_CLAIM = {"contractual_cents": 0, "patient_transfer_cents": 0, "written_off_cents": 0}


def _read(row: Any) -> ClaimRead:
    return ClaimRead(**{k: getattr(row, k) for k in ClaimRead.model_fields})


def _errors(exc: Exception) -> ProblemError:
    if isinstance(exc, st.IllegalTransition):
        return ProblemError(409, "Illegal transition", str(exc), current_state=exc.current, target_state=exc.target)
    if isinstance(exc, Refused):
        return ProblemError(409, "Not possible yet", str(exc))
    if isinstance(exc, ValueError):
        return ProblemError(422, "Invalid correction", str(exc))
    raise exc


@router.post(
    "/claims",
    response_model=ClaimRead,
    status_code=201,
    summary="Charge entry: store the claim, scrub it; clean claims become ready",
)
async def post_claim(body: ClaimCreate, request: Request, tenant: TenantDep, engine: EngineDep) -> ClaimRead:
    async with write_transaction(engine) as conn:
        unit = _unit(conn, tenant, request)
        claim_id = await create_claim(unit, body, _resources(request).context(), _actor(request))
        return _read(await unit.get(claim_id))


@router.post(
    "/claim-batches",
    response_model=list[ClaimRead],
    status_code=201,
    summary="Charge entry for up to 500 encounters in one transaction (e.g. a day's charges)",
)
async def post_claim_batch(
    body: Annotated[list[ClaimCreate], Body(min_length=1, max_length=500)],
    request: Request,
    tenant: TenantDep,
    engine: EngineDep,
) -> list[ClaimRead]:
    async with write_transaction(engine) as conn:
        rows = await create_claims(_unit(conn, tenant, request), body, _resources(request).context(), _actor(request))
    # the answer is built from what was written, after the commit: the file's write turn is not held for
    # reading the claims back and validating their documents again
    return [
        ClaimRead(**{k: row.get(k, NEW_CLAIM.get(k)) for k in ClaimRead.model_fields if k != "document"}, document=doc)
        for row, doc in zip(rows, body, strict=True)
    ]


@router.get(
    "/claims",
    response_model=list[ClaimRead],
    summary="The organization's claims, oldest first",
    description="`state` repeats (`?state=rejected&state=denied`); without it, claims in every state. An "
    "unknown state is refused (422).",
)
async def list_claims(
    tenant: TenantDep,
    engine: EngineDep,
    state: Annotated[list[ClaimState] | None, Query()] = None,
    payer_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ClaimRead]:
    c = claim.c
    cond = [c.tenant_id == tenant]
    if state:
        cond.append(c.state.in_(state))
    if payer_id:
        cond.append(c.payer_id == payer_id)
    async with read_connection(engine) as conn:
        rows = await conn.execute(
            select(claim).where(and_(*cond)).order_by(c.created_at, c.id).limit(limit).offset(offset)
        )
        return [_read(r) for r in rows]


@router.get("/claims/{claim_id}", response_model=ClaimRead)
async def get_claim(claim_id: str, request: Request, tenant: TenantDep, engine: EngineDep) -> ClaimRead:
    async with read_connection(engine) as conn:
        return _read(await _unit(conn, tenant, request).get(claim_id))


@router.put("/claims/{claim_id}", response_model=ClaimRead, summary="Edit a draft, ready or rejected claim")
async def put_claim(
    claim_id: str, body: ClaimCreate, request: Request, tenant: TenantDep, engine: EngineDep
) -> ClaimRead:
    try:
        async with write_transaction(engine) as conn:
            unit = _unit(conn, tenant, request)
            await update_claim(unit, claim_id, body, _resources(request).context(), _actor(request))
            return _read(await unit.get(claim_id))
    except st.IllegalTransition as exc:
        raise _errors(exc) from None


@router.get("/claims/{claim_id}/history", response_model=list[TransitionRead])
async def claim_history(claim_id: str, request: Request, tenant: TenantDep, engine: EngineDep) -> list[TransitionRead]:
    async with read_connection(engine) as conn:
        await _unit(conn, tenant, request).get(claim_id)
        t = claim_transition.c
        rows = await conn.execute(
            select(claim_transition).where(and_(t.tenant_id == tenant, t.claim_id == claim_id)).order_by(t.id)
        )
        return [TransitionRead(**{k: getattr(r, k) for k in TransitionRead.model_fields}) for r in rows]


@router.get(
    "/claims/{claim_id}/status-records",
    response_model=list[StatusRecordRead],
    summary="Acknowledgments and status answers received (999, 277CA, 277), 276 inquiries sent, and 835s for a "
    "claim while it was draft or ready (money applied, state kept), in order",
)
async def claim_status_records(
    claim_id: str, request: Request, tenant: TenantDep, engine: EngineDep
) -> list[StatusRecordRead]:
    async with read_connection(engine) as conn:
        await _unit(conn, tenant, request).get(claim_id)
        r = claim_status_record.c
        rows = await conn.execute(
            select(claim_status_record).where(and_(r.tenant_id == tenant, r.claim_id == claim_id)).order_by(r.id)
        )
        return [StatusRecordRead(source=x.source, summary=x.summary, codes=x.codes, at=x.at) for x in rows]


@router.get(
    "/follow-up",
    response_model=list[FollowUpRead],
    summary="Insurance follow-up: claims with no 999, 277CA or payment past the payer's expected days, and "
    "claims near their timely-filing limit, most urgent first",
)
async def follow_up(
    request: Request,
    tenant: TenantDep,
    engine: EngineDep,
    as_of: date | None = None,
    payer_id: str | None = None,
    reason: FollowUpReason | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[FollowUpRead]:
    async with read_connection(engine) as conn:
        items = await follow_up_list(
            conn, tenant, _resources(request).payer_rules, as_of or datetime.now(UTC).date(), payer_id
        )
    if reason:
        items = [i for i in items if i.reason == reason]
    return [FollowUpRead(**i.as_dict()) for i in items[offset : offset + limit]]


@router.post(
    "/follow-up/inquiries",
    response_model=list[SubmissionRead],
    summary="Send a 276 status inquiry for every claim on the follow-up list whose inquiry is due",
)
async def follow_up_inquiries(
    request: Request, tenant: TenantDep, engine: EngineDep, body: InquiryRequest | None = None
) -> list[SubmissionRead]:
    body = body or InquiryRequest()
    settings = _settings(request)
    prepared = await send_due_inquiries(
        engine,
        settings,
        _resources(request).payer_rules,
        tenant=tenant,
        as_of=body.as_of,
        limit=body.limit,
        hold_s=settings.delivery_grace_s,
    )
    adapter = adapter_for(settings)
    return [await _deliver(request, tenant, engine, adapter, p) for p in prepared]


@router.get(
    "/claims/{claim_id}/x12",
    response_class=PlainTextResponse,
    summary="The 837 interchange this claim was sent in, one segment a line",
    description="The interchange as stored when it was sent, with a line break after each segment terminator "
    "so that a person can read it; the segments are unchanged and it reads as the same X12 (readers skip "
    "line breaks between segments). `as_sent=true` gives the bytes delivered to the clearinghouse, unchanged.",
)
async def claim_x12(
    claim_id: str,
    request: Request,
    tenant: TenantDep,
    engine: EngineDep,
    as_sent: Annotated[bool, Query(description="the interchange byte for byte as delivered")] = False,
) -> PlainTextResponse:
    async with read_connection(engine) as conn:
        row = await _unit(conn, tenant, request).get(claim_id)
        if row.submission_id is None:
            raise ProblemError(404, "Not submitted", f"claim {claim_id} has not been sent yet (state {row.state})")
        text = (await conn.execute(select(submission.c.x12).where(submission.c.id == row.submission_id))).scalar_one()
    return PlainTextResponse(text if as_sent else one_segment_per_line(text), media_type="application/edi-x12")


async def _submit(
    request: Request, tenant: str, engine: AsyncEngine, claim_ids: list[str] | None
) -> list[SubmissionRead]:
    settings = _settings(request)
    adapter = adapter_for(settings)
    held: list[Held] = []
    try:
        async with write_transaction(engine) as conn:
            unit = _unit(conn, tenant, request)
            prepared = await prepare(unit, settings, claim_ids, _actor(request), adapter.name, held)
            await hold_for_caller(conn, prepared, settings.delivery_grace_s)
    except st.IllegalTransition as exc:
        raise _errors(exc) from None
    if held and not prepared and claim_ids is not None:
        # the claims asked for were all held (back in draft, the reason in their edits): nothing was sent
        raise ProblemError(
            422,
            "Claim held",
            "; ".join(f"{h.claim_id}: {h.reason}" for h in held),
            held=[{"claim_id": h.claim_id, "reason": h.reason} for h in held],
        )
    return [await _deliver(request, tenant, engine, adapter, p) for p in prepared]


async def _deliver(request: Request, tenant: str, engine: AsyncEngine, adapter: Any, p: Prepared) -> SubmissionRead:
    """Hand a prepared interchange to the clearinghouse; a failure leaves it pending for the worker."""
    read = SubmissionRead(submission_id=p.submission_id, payer_id=p.payer_id, claim_ids=p.claim_ids, delivered=False)
    try:
        destination, response = await adapter.deliver(p.submission_id, p.x12)
        read.delivered, read.destination = True, destination
    except DeliveryError as exc:
        read.error = f"{exc} (the worker retries)"
        response = destination = None
    async with write_transaction(engine) as conn:
        await mark_delivery(conn, p.submission_id, destination, read.error)
        if response:
            read.acknowledgment = await _ack_text(conn, tenant, request, response)
    return read


async def _ack_text(conn: Any, tenant: str, request: Request, text: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".x12", delete=False) as fh:
        fh.write(text)
    try:
        result = await ingest_ack(_unit(conn, tenant, request), Path(fh.name), Actor("clearinghouse"))
        return result.__dict__
    except X12Error as exc:
        return {"error": str(exc)}
    finally:
        Path(fh.name).unlink(missing_ok=True)


@router.post("/claims/{claim_id}/submit", response_model=list[SubmissionRead])
async def submit_claim(claim_id: str, request: Request, tenant: TenantDep, engine: EngineDep) -> list[SubmissionRead]:
    return await _submit(request, tenant, engine, [claim_id])


@router.post(
    "/submissions",
    response_model=list[SubmissionRead],
    summary="Send ready claims, grouped by payer and claim type into 837 interchanges",
)
async def post_submissions(
    body: SubmitRequest, request: Request, tenant: TenantDep, engine: EngineDep
) -> list[SubmissionRead]:
    return await _submit(request, tenant, engine, body.claim_ids)


@router.post(
    "/claims/{claim_id}/status-inquiry",
    response_model=SubmissionRead,
    summary="Send a 276 claim status inquiry; the 277 answer is recorded on the claim",
)
async def status_inquiry(claim_id: str, request: Request, tenant: TenantDep, engine: EngineDep) -> SubmissionRead:
    settings = _settings(request)
    try:
        async with write_transaction(engine) as conn:
            prepared = await prepare_status_inquiry(_unit(conn, tenant, request), settings, claim_id)
            await hold_for_caller(conn, [prepared], settings.delivery_grace_s)
    except st.IllegalTransition as exc:
        raise _errors(exc) from None
    return await _deliver(request, tenant, engine, adapter_for(settings), prepared)


@router.post(
    "/claims/{claim_id}/correct",
    response_model=ClaimRead,
    status_code=201,
    summary="Create a replacement claim (frequency 7, REF*F8) for one the payer has",
)
async def correct(
    claim_id: str, body: CorrectRequest, request: Request, tenant: TenantDep, engine: EngineDep
) -> ClaimRead:
    if body.document is not None and body.correction is not None:
        raise ProblemError(422, "Invalid request", "send a document or a correction, not both")
    try:
        async with write_transaction(engine) as conn:
            unit = _unit(conn, tenant, request)
            new_id = await correct_claim(
                unit,
                claim_id,
                _resources(request).context(),
                _actor(request),
                doc=body.document,
                correction=body.correction,
            )
            return _read(await unit.get(new_id))
    except (st.IllegalTransition, Refused, ValueError) as exc:
        raise _errors(exc) from None


@router.post(
    "/claims/{claim_id}/void",
    response_model=ClaimRead,
    summary="Void: directly if never sent, else through a frequency-8 claim to the payer (the claim is void "
    "once the payer accepts it and takes back what it paid; 409 until the payer has numbered the claim)",
)
async def void(claim_id: str, request: Request, tenant: TenantDep, engine: EngineDep) -> ClaimRead:
    try:
        async with write_transaction(engine) as conn:
            unit = _unit(conn, tenant, request)
            new_id = await correct_claim(unit, claim_id, _resources(request).context(), _actor(request), void=True)
            return _read(await unit.get(new_id))
    except (st.IllegalTransition, Refused) as exc:
        raise _errors(exc) from None


@router.post("/claims/{claim_id}/close", response_model=ClaimRead)
async def close(claim_id: str, request: Request, tenant: TenantDep, engine: EngineDep) -> ClaimRead:
    try:
        async with write_transaction(engine) as conn:
            unit = _unit(conn, tenant, request)
            await unit.transition(await unit.get(claim_id, lock=True), st.CLOSED, _actor(request), reason="closed")
            return _read(await unit.get(claim_id))
    except st.IllegalTransition as exc:
        raise _errors(exc) from None


@router.post(
    "/acknowledgments",
    response_model=AckRead,
    summary="Ingest a 999, 277CA or 277 (raw X12 body); rejections are mapped to claims and fields",
)
async def post_ack(request: Request, tenant: TenantDep, engine: EngineDep) -> AckRead:
    body = await request.body()
    if not body:
        raise ProblemError(422, "Empty body", "the request carries no X12")
    with tempfile.NamedTemporaryFile("wb", suffix=".x12", delete=False) as fh:
        fh.write(body)
    try:
        async with write_transaction(engine) as conn:
            result = await ingest_ack(_unit(conn, tenant, request), Path(fh.name), _actor(request))
    except X12Error as exc:
        raise ProblemError(422, "Invalid acknowledgment", str(exc), x12=exc.as_dict()) from None
    finally:
        Path(fh.name).unlink(missing_ok=True)
    return AckRead(**result.__dict__)


@router.get("/reports/kpis", response_model=KpisRead, summary="Clean-claim rate, first-pass yield, denial rate, ...")
async def report_kpis(
    tenant: TenantDep, engine: EngineDep, since: date | None = None, until: date | None = None
) -> KpisRead:
    """Over original claims whose first date of service is in [since, until] (both optional)."""
    async with read_connection(engine) as conn:
        return KpisRead(**(await kpis(conn, tenant, since, until)).__dict__)


@router.get("/reports/ar-aging", response_model=list[AgingRow], summary="Open insurance balances by payer and age")
async def report_ar_aging(tenant: TenantDep, engine: EngineDep, as_of: date | None = None) -> list[AgingRow]:
    async with read_connection(engine) as conn:
        rows = await ar_aging(conn, tenant, as_of or datetime.now(UTC).date())
    return [AgingRow.model_validate(r) for r in rows]
