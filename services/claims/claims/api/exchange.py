"""HTTP routes of what goes to and comes from the clearinghouse and the payers: submissions (837), status
inquiries (276), acknowledgments (999, 277CA, 277) and the insurance follow-up list."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from rcm_shared.errors import Invalid
from rcm_shared.unit import Actor, Units
from rcm_shared.web import MAX_OFFSET, ActorDep, TenantDep, UnitsDep

from claims.adapters.clearinghouse import Adapter
from claims.api.deps import ClearinghouseDep, ScrubDep, SettingsDep
from claims.api.schemas import AckRead, FollowUpRead, FollowUpReason, InquiryRequest, SubmissionRead, SubmitRequest
from claims.config import ClaimsSettings
from claims.use_cases import submission
from claims.use_cases.acknowledgments import acknowledge
from claims.use_cases.delivery import deliver
from claims.use_cases.follow_up import follow_up_list, send_due_inquiries
from claims.use_cases.submission import Prepared

router = APIRouter(prefix="/v1", tags=["claims"])


async def _deliver(units: Units, tenant: str, adapter: Adapter, p: Prepared) -> SubmissionRead:
    """Hand a prepared interchange to the clearinghouse; a failure leaves it pending for the worker."""
    done = await deliver(units, tenant, adapter, p.submission_id, p.x12)
    return SubmissionRead(
        submission_id=p.submission_id,
        payer_id=p.payer_id,
        claim_ids=p.claim_ids,
        delivered=done.delivered,
        destination=done.destination,
        error=f"{done.error} (the worker retries)" if done.error is not None else None,
        acknowledgment=done.acknowledgment,
    )


async def _submit(
    units: Units,
    tenant: str,
    actor: Actor,
    settings: ClaimsSettings,
    adapter: Adapter,
    claim_ids: list[str] | None,
) -> list[SubmissionRead]:
    async with units.write(tenant, actor) as unit:
        batch = await submission.submit(unit, settings, claim_ids, adapter.name, hold_s=settings.delivery_grace_s)
    batch.refuse_if_all_held()  # after the commit: the claims held stay in draft with the reason
    return [await _deliver(units, tenant, adapter, p) for p in batch.prepared]


@router.get(
    "/follow-up",
    response_model=list[FollowUpRead],
    summary="Insurance follow-up: claims with no 999, 277CA or payment past the payer's expected days, and "
    "claims near their timely-filing limit, most urgent first",
)
async def follow_up(
    units: UnitsDep,
    tenant: TenantDep,
    scrub: ScrubDep,
    as_of: date | None = None,
    payer_id: str | None = None,
    reason: FollowUpReason | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[FollowUpRead]:
    async with units.read(tenant) as unit:
        items = await follow_up_list(unit, scrub.payer_rules, as_of or datetime.now(UTC).date(), payer_id)
    if reason:
        items = [i for i in items if i.reason == reason]
    return [FollowUpRead(**i.as_dict()) for i in items[offset : offset + limit]]


@router.post(
    "/follow-up/inquiries",
    response_model=list[SubmissionRead],
    summary="Send a 276 status inquiry for every claim on the follow-up list whose inquiry is due",
)
async def follow_up_inquiries(
    units: UnitsDep,
    tenant: TenantDep,
    settings: SettingsDep,
    scrub: ScrubDep,
    adapter: ClearinghouseDep,
    body: InquiryRequest | None = None,
) -> list[SubmissionRead]:
    body = body or InquiryRequest()
    prepared = await send_due_inquiries(
        units,
        settings,
        scrub.payer_rules,
        tenant=tenant,
        as_of=body.as_of,
        limit=body.limit,
        hold_s=settings.delivery_grace_s,
    )
    return [await _deliver(units, tenant, adapter, p) for p in prepared]


@router.post("/claims/{claim_id}/submit", response_model=list[SubmissionRead])
async def submit_claim(
    claim_id: str,
    units: UnitsDep,
    tenant: TenantDep,
    actor: ActorDep,
    settings: SettingsDep,
    adapter: ClearinghouseDep,
) -> list[SubmissionRead]:
    return await _submit(units, tenant, actor, settings, adapter, [claim_id])


@router.post(
    "/submissions",
    response_model=list[SubmissionRead],
    summary="Send ready claims, grouped by payer and claim type into 837 interchanges",
)
async def post_submissions(
    body: SubmitRequest,
    units: UnitsDep,
    tenant: TenantDep,
    actor: ActorDep,
    settings: SettingsDep,
    adapter: ClearinghouseDep,
) -> list[SubmissionRead]:
    return await _submit(units, tenant, actor, settings, adapter, body.claim_ids)


@router.post(
    "/claims/{claim_id}/status-inquiry",
    response_model=SubmissionRead,
    summary="Send a 276 claim status inquiry; the 277 answer is recorded on the claim",
)
async def status_inquiry(
    claim_id: str,
    units: UnitsDep,
    tenant: TenantDep,
    actor: ActorDep,
    settings: SettingsDep,
    adapter: ClearinghouseDep,
) -> SubmissionRead:
    async with units.write(tenant, actor) as unit:
        prepared = await submission.status_inquiry(unit, settings, claim_id, hold_s=settings.delivery_grace_s)
    return await _deliver(units, tenant, adapter, prepared)


@router.post(
    "/acknowledgments",
    response_model=AckRead,
    summary="Ingest a 999, 277CA or 277 (raw X12 body); rejections are mapped to claims and fields",
)
async def post_ack(request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep) -> AckRead:
    body = await request.body()
    if not body:
        raise Invalid("the request carries no X12", title="Empty body")
    async with units.write(tenant, actor) as unit:
        result = await acknowledge(unit, body)
    return AckRead(**result.__dict__)
