"""HTTP routes of payer contracts: listed, read with their versions, a new version, imports and exports."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from rcm_shared.errors import Invalid
from rcm_shared.web import ActorDep, ProblemError, TenantDep, UnitsDep

from denials.api.contract_schemas import (
    ContractImportRead,
    ContractListItem,
    ContractRead,
    ContractWrite,
    FeeLineBody,
    ImportedVersion,
    ImportRowError,
    RefusedVersion,
    VersionSummary,
)
from denials.domain.contract_files import CSV_HEADER
from denials.use_cases import contracts
from denials.use_cases.contracts import ContractView

router = APIRouter(prefix="/v1", tags=["contracts"])

IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "example": ",".join(CSV_HEADER)}},
            "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/ContractWrite"}}},
        },
    }
}


def _plan(plan: str) -> str | None:
    return plan or None


def _read(view: ContractView) -> ContractRead:
    c, v = view.contract, view.version
    return ContractRead(
        id=c.id,
        payer_id=c.payer_id,
        plan=_plan(c.plan),
        name=c.name,
        version=v.version,
        effective_from=v.effective_from,
        effective_to=v.effective_to,
        default_rule=v.default_rule,
        default_percent=v.default_percent,
        medicare_locality=v.medicare_locality,
        multiple_procedure=bool(v.multiple_procedure),
        bilateral_percent=v.bilateral_percent,
        lesser_of_charge=bool(v.lesser_of_charge),
        professional_component_percent=v.professional_component_percent,
        note=v.note,
        fee_lines=[FeeLineBody(code=f.code, modifier=f.modifier, rate_cents=f.rate_cents) for f in view.fee_lines],
        source=v.source,
        created_at=v.created_at,
        created_by=v.created_by,
        versions=[
            VersionSummary(
                version=r.version,
                effective_from=r.effective_from,
                effective_to=r.effective_to,
                fee_lines=r.fee_lines,
                source=r.source,
                note=r.note,
                created_at=r.created_at,
                created_by=r.created_by,
            )
            for r in view.versions
        ],
    )


@router.get(
    "/contracts", response_model=list[ContractListItem], summary="The payer contracts, with their latest version"
)
async def list_contracts(units: UnitsDep, tenant: TenantDep, payer_id: str | None = None) -> list[ContractListItem]:
    async with units.read(tenant) as unit:
        found = await contracts.list_contracts(unit, payer_id)
    return [
        ContractListItem(
            id=row.id,
            payer_id=row.payer_id,
            plan=_plan(row.plan),
            name=row.name,
            version=version.version,
            effective_from=version.effective_from,
            effective_to=version.effective_to,
            default_rule=version.default_rule,
            fee_lines=version.fee_lines,
        )
        for row, version in found
    ]


@router.post(
    "/contracts",
    response_model=ContractRead,
    status_code=201,
    summary="A new version of the payer's (and plan's) contract; the contract is created with its first",
    description="On a date the newest version whose window (effective_from to effective_to) holds it is in "
    "effect: a version may correct earlier ones from any date, and they are kept as they were. 422 naming "
    "every field that is wrong, fee lines included (nothing is written). percent_of_medicare needs the "
    "Medicare fee schedule loaded (DENIALS_MEDICARE_*).",
)
async def post_contract(
    body: ContractWrite, request: Request, units: UnitsDep, tenant: TenantDep, actor: ActorDep
) -> ContractRead:
    async with units.write(tenant, actor) as unit:
        view = await contracts.add_version(unit, body.model_dump(), request.app.state.medicare)
        return _read(view)


@router.post(
    "/contracts:import",
    response_model=ContractImportRead,
    summary="Import contracts from CSV or JSON: every bad row reported; a dry run writes nothing, else the versions "
    "without a bad row",
    description="`text/csv` with the header `" + ",".join(CSV_HEADER) + "` (rate in dollars per unit; dates "
    "YYYY-MM-DD; one modifier or none; plan empty for every plan): the rows of one payer, plan, "
    "effective_from and effective_to make one new version of that contract, whose terms (default rule, "
    "adjustment flags) are its latest version's (a new contract's: no default rule, 51 and 50 and lesser of "
    "charge on). `application/json`: one contract or a list, each in the shape `GET /v1/contracts/{id}` "
    "returns (its read-only fields ignored), fee lines in cents. A version's fee lines are exactly its rows: "
    "a version a bad row may belong to (by the payer, plan and dates it names; any version where one cannot "
    "be read) is refused whole and listed in `refused` with the rows that refuse it. Rows are numbered as in "
    "the file (the header is row 1); a JSON problem names the contract's position and the field "
    "(`fee_lines[2].rate_cents`). `dry_run=false` writes the other versions in one transaction.",
    openapi_extra=IMPORT_BODY,
)
async def import_contracts(
    request: Request,
    units: UnitsDep,
    tenant: TenantDep,
    actor: ActorDep,
    dry_run: Annotated[bool, Query(description="report only; write nothing")] = True,
) -> ContractImportRead:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("text/csv", "application/json"):
        raise ProblemError(415, "Unsupported Media Type", "send the contracts as text/csv or application/json")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("the file is not UTF-8 text", title="Not a contract file", row=1) from exc
    document: Any = text
    if kind == "application/json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"not JSON: {exc}", title="Not a contract file") from exc
    async with units.write(tenant, actor) as unit:
        report = await contracts.import_contracts(
            unit, document, csv=kind == "text/csv", dry_run=dry_run, medicare=request.app.state.medicare
        )
    return ContractImportRead(
        rows=report.rows,
        accepted=report.accepted,
        rejected=[ImportRowError(row=e.row, field=e.field, reason=e.reason) for e in report.rejected],
        versions=[
            ImportedVersion(
                payer_id=p.payer_id,
                plan=_plan(p.plan),
                contract_id=p.contract_id,
                version=p.version,
                effective_from=p.effective_from,
                effective_to=p.effective_to,
                fee_lines=p.fee_lines,
                rows=list(p.rows),
            )
            for p in report.versions
        ],
        refused=[
            RefusedVersion(
                payer_id=r.payer_id,
                plan=_plan(r.plan),
                effective_from=r.effective_from,
                effective_to=r.effective_to,
                rows=list(r.rows),
                because_of=list(r.because_of),
            )
            for r in report.refused
        ],
        applied=report.applied,
    )


@router.get(
    "/contracts/{contract_id}:export",
    summary="A version of the contract (the latest unless ?version=) as the import reads it",
    description="`format=json`: the `GET /v1/contracts/{id}` document; `format=csv`: its fee lines with the "
    "header `" + ",".join(CSV_HEADER) + "` (the terms are the JSON's only).",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export_contract(
    contract_id: str,
    units: UnitsDep,
    tenant: TenantDep,
    format: Literal["csv", "json"] = "json",  # the query parameter's name
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    name = f"contract-{contract_id}"
    async with units.read(tenant) as unit:
        if format == "csv":
            text = await contracts.export_csv(unit, contract_id, version)
            headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
            return Response(text, media_type="text/csv", headers=headers)
        document = _read(await contracts.get_contract(unit, contract_id, version))
    headers = {"Content-Disposition": f'attachment; filename="{name}.json"'}
    return Response(document.model_dump_json(indent=2), media_type="application/json", headers=headers)


@router.get(
    "/contracts/{contract_id}",
    response_model=ContractRead,
    summary="A contract: one version (the latest unless ?version=) with its fee lines, and every version",
)
async def get_contract(
    contract_id: str,
    units: UnitsDep,
    tenant: TenantDep,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> ContractRead:
    async with units.read(tenant) as unit:
        return _read(await contracts.get_contract(unit, contract_id, version))
