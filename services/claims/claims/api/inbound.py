"""HTTP route of the inbound acknowledgment folder's review list: the files set aside because no one practice's
clearinghouse connection claims them (``claims.adapters.quarantine``). Read-only: the fix is a connection in
the practice profile and the file moved back into the folder (the worker reads it again)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from rcm_shared.web import TenantDep

from claims.api.deps import SettingsDep
from claims.use_cases.acknowledgments import quarantined_files

router = APIRouter(prefix="/v1", tags=["claims"])


class EnvelopeIdsRead(BaseModel):
    sender_id: str
    receiver_id: str


class InterchangeIdsRead(EnvelopeIdsRead):
    control_number: str  # ISA13; sender_id ISA06, receiver_id ISA08
    groups: list[EnvelopeIdsRead]  # GS02, GS03 of each functional group


class QuarantinedFileRead(BaseModel):
    file: str
    cause: str  # no_connection | several_organizations
    reason: str  # why, naming the ids, and what to do
    quarantined_at: datetime
    interchanges: list[InterchangeIdsRead]


@router.get(
    "/inbound/quarantine",
    response_model=list[QuarantinedFileRead],
    summary="Acknowledgment files (999, 277CA, 277) applied to no organization: addressed to no practice's "
    "connection, or to several; the deployment's operator (the default organization) sees them, others none",
)
async def list_quarantine(tenant: TenantDep, settings: SettingsDep) -> list[QuarantinedFileRead]:
    found = await quarantined_files(settings.inbound_ack_path(), tenant, settings.default_tenant)
    return [
        QuarantinedFileRead(
            file=q.file,
            cause=q.cause,
            reason=q.reason,
            quarantined_at=q.quarantined_at,
            interchanges=[InterchangeIdsRead.model_validate(p.as_dict()) for p in q.interchanges],
        )
        for q in found
    ]
