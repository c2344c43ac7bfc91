"""HTTP routes of the charge master: the practice's prices by code, a new version, CSV imports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from rcm_shared.errors import Invalid
from rcm_shared.web import MAX_OFFSET, ActorDep, TenantDep, UnitsDep

from claims.api.schemas import ChargeMasterImportRead, ChargeMasterItemCreate, ChargeMasterItemRead, ImportRowError
from claims.domain.charge_master import HEADER
from claims.use_cases import charge_master

router = APIRouter(prefix="/v1", tags=["charge master"])

CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "example": ",".join(HEADER)}}},
    }
}


def _read(row: Any) -> ChargeMasterItemRead:
    values = {k: getattr(row, k) for k in ChargeMasterItemRead.model_fields if k != "modifiers"}
    return ChargeMasterItemRead(**values, modifiers=row.modifiers.split(":") if row.modifiers else [])


@router.get(
    "/charge-master",
    response_model=list[ChargeMasterItemRead],
    summary="The charge master's items, every version (or the one in effect on a date of each), by code",
)
async def list_items(
    units: UnitsDep,
    tenant: TenantDep,
    code: Annotated[str | None, Query(max_length=5)] = None,
    on: Annotated[date | None, Query(description="only the version of each item in effect on this date")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ChargeMasterItemRead]:
    async with units.read(tenant) as unit:
        return [_read(r) for r in await charge_master.list_items(unit, code, on, limit, offset)]


@router.post(
    "/charge-master",
    response_model=ChargeMasterItemRead,
    status_code=201,
    summary="A new version of an item, from any date: on a date the newest version whose window holds it prices",
    description="Earlier versions stay as they were (a price never changes in place); 422 naming each field "
    "that is wrong.",
)
async def post_item(
    body: ChargeMasterItemCreate, units: UnitsDep, tenant: TenantDep, actor: ActorDep
) -> ChargeMasterItemRead:
    values = {k: (str(v) if v is not None else None) for k, v in body.model_dump(exclude={"modifiers"}).items()}
    async with units.write(tenant, actor) as unit:
        row = await charge_master.add_item(unit, {**values, "modifiers": " ".join(body.modifiers)})
        return _read(row)


@router.post(
    "/charge-master:import",
    response_model=ChargeMasterImportRead,
    summary="Import a charge-master CSV: every bad row reported; a dry run writes nothing, else the good rows",
    description="Body `text/csv` with the header `" + ",".join(HEADER) + "` (modifiers separated by spaces or "
    "colons; dates YYYY-MM-DD; price in dollars). Rows are numbered as in the file (the header is row 1). "
    "`dry_run=false` writes the good rows in one transaction. A file that is not such a CSV is a 422 naming "
    "the row.",
    openapi_extra=CSV_BODY,
)
async def import_items(
    request: Request,
    units: UnitsDep,
    tenant: TenantDep,
    actor: ActorDep,
    dry_run: Annotated[bool, Query(description="report only; write nothing")] = True,
) -> ChargeMasterImportRead:
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("the file is not UTF-8 text", title="Not a charge-master CSV", row=1) from exc
    async with units.write(tenant, actor) as unit:
        report = await charge_master.import_items(unit, text, dry_run=dry_run)
    return ChargeMasterImportRead(
        rows=report.rows,
        accepted=report.accepted,
        rejected=[ImportRowError(row=e.row, field=e.field, reason=e.reason) for e in report.rejected],
        applied=report.applied,
    )
