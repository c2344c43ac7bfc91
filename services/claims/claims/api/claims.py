"""HTTP routes of the claims themselves: charge entry, edits, the list and the claim's records, corrections,
voids and closing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import PlainTextResponse
from rcm_shared.web import MAX_OFFSET, ActorDep, TenantDep, UnitsDep
from rcm_shared.x12.writer import one_segment_per_line

from claims.api.deps import ScrubDep
from claims.api.schemas import ClaimRead, ClaimState, CorrectRequest, StatusRecordRead, TransitionRead
from claims.domain.encounter import ClaimCreate
from claims.use_cases import queries
from claims.use_cases.charge_entry import create_claim, create_claims, update_claim
from claims.use_cases.corrections import correct_claim
from claims.use_cases.lifecycle import close_claim

router = APIRouter(prefix="/v1", tags=["claims"])

# the amounts a new claim is inserted without (their columns' defaults)
NEW_CLAIM = {"contractual_cents": 0, "patient_transfer_cents": 0, "written_off_cents": 0}


def _read(row: Any) -> ClaimRead:
    return ClaimRead(**{k: getattr(row, k) for k in ClaimRead.model_fields})


@router.post(
    "/claims",
    response_model=ClaimRead,
    status_code=201,
    summary="Charge entry: store the claim, scrub it; clean claims become ready",
)
async def post_claim(
    body: ClaimCreate, units: UnitsDep, tenant: TenantDep, actor: ActorDep, scrub: ScrubDep
) -> ClaimRead:
    async with units.write(tenant, actor) as unit:
        claim_id = await create_claim(unit, body, scrub.context())
        return _read(await queries.get_claim(unit, claim_id))


@router.post(
    "/claim-batches",
    response_model=list[ClaimRead],
    status_code=201,
    summary="Charge entry for up to 500 encounters in one transaction (e.g. a day's charges)",
)
async def post_claim_batch(
    body: Annotated[list[ClaimCreate], Body(min_length=1, max_length=500)],
    units: UnitsDep,
    tenant: TenantDep,
    actor: ActorDep,
    scrub: ScrubDep,
) -> list[ClaimRead]:
    async with units.write(tenant, actor) as unit:
        rows = await create_claims(unit, body, scrub.context())
    # the answer is built from what was written, after the commit: the file's write turn is not held for
    # reading the claims back and validating their documents again (but those the charge master priced)
    return [
        ClaimRead(
            **{k: row.get(k, NEW_CLAIM.get(k)) for k in ClaimRead.model_fields if k != "document"},
            document=row["document"] if any(line.charge is None for line in doc.lines) else doc,
        )
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
    units: UnitsDep,
    tenant: TenantDep,
    state: Annotated[list[ClaimState] | None, Query()] = None,
    payer_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ClaimRead]:
    async with units.read(tenant) as unit:
        return [_read(r) for r in await queries.list_claims(unit, state, payer_id, limit, offset)]


@router.get("/claims/{claim_id}", response_model=ClaimRead)
async def get_claim(claim_id: str, units: UnitsDep, tenant: TenantDep) -> ClaimRead:
    async with units.read(tenant) as unit:
        return _read(await queries.get_claim(unit, claim_id))


@router.put("/claims/{claim_id}", response_model=ClaimRead, summary="Edit a draft, ready or rejected claim")
async def put_claim(
    claim_id: str, body: ClaimCreate, units: UnitsDep, tenant: TenantDep, actor: ActorDep, scrub: ScrubDep
) -> ClaimRead:
    async with units.write(tenant, actor) as unit:
        return _read(await update_claim(unit, claim_id, body, scrub.context()))


@router.get("/claims/{claim_id}/history", response_model=list[TransitionRead])
async def claim_history(claim_id: str, units: UnitsDep, tenant: TenantDep) -> list[TransitionRead]:
    async with units.read(tenant) as unit:
        rows = await queries.claim_history(unit, claim_id)
    return [TransitionRead(**{k: getattr(r, k) for k in TransitionRead.model_fields}) for r in rows]


@router.get(
    "/claims/{claim_id}/status-records",
    response_model=list[StatusRecordRead],
    summary="Acknowledgments and status answers received (999, 277CA, 277), 276 inquiries sent, and 835s for a "
    "claim while it was draft or ready (money applied, state kept), in order",
)
async def claim_status_records(claim_id: str, units: UnitsDep, tenant: TenantDep) -> list[StatusRecordRead]:
    async with units.read(tenant) as unit:
        rows = await queries.claim_status_records(unit, claim_id)
    return [StatusRecordRead(source=x.source, summary=x.summary, codes=x.codes, at=x.at) for x in rows]


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
    units: UnitsDep,
    tenant: TenantDep,
    as_sent: Annotated[bool, Query(description="the interchange byte for byte as delivered")] = False,
) -> PlainTextResponse:
    async with units.read(tenant) as unit:
        text = await queries.claim_x12(unit, claim_id)
    return PlainTextResponse(text if as_sent else one_segment_per_line(text), media_type="application/edi-x12")


@router.post(
    "/claims/{claim_id}/correct",
    response_model=ClaimRead,
    status_code=201,
    summary="Create a replacement claim (frequency 7, REF*F8) for one the payer has",
)
async def correct(
    claim_id: str, body: CorrectRequest, units: UnitsDep, tenant: TenantDep, actor: ActorDep, scrub: ScrubDep
) -> ClaimRead:
    async with units.write(tenant, actor) as unit:
        new_id = await correct_claim(unit, claim_id, scrub.context(), doc=body.document, correction=body.correction)
        return _read(await queries.get_claim(unit, new_id))


@router.post(
    "/claims/{claim_id}/void",
    response_model=ClaimRead,
    summary="Void: directly if never sent, else through a frequency-8 claim to the payer (the claim is void "
    "once the payer accepts it and takes back what it paid; 409 until the payer has numbered the claim)",
)
async def void(claim_id: str, units: UnitsDep, tenant: TenantDep, actor: ActorDep, scrub: ScrubDep) -> ClaimRead:
    async with units.write(tenant, actor) as unit:
        new_id = await correct_claim(unit, claim_id, scrub.context(), void=True)
        return _read(await queries.get_claim(unit, new_id))


@router.post("/claims/{claim_id}/close", response_model=ClaimRead)
async def close(claim_id: str, units: UnitsDep, tenant: TenantDep, actor: ActorDep) -> ClaimRead:
    async with units.write(tenant, actor) as unit:
        return _read(await close_claim(unit, claim_id))
