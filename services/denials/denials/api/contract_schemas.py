"""API schemas of payer contracts and their imports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FeeLineBody(BaseModel):
    code: str = Field(description="CPT or HCPCS code", examples=["99213"])
    modifier: str = Field(default="", description='one modifier ("26", "TC", ...), "" for the code\'s own rate')
    rate_cents: int = Field(description="the rate per unit, in cents")


class ContractWrite(BaseModel):
    """A new version of the payer's (and plan's) contract; the contract is created with its first version.
    The same shape, with the read-only fields of the answer, is what `GET /v1/contracts/{id}` returns and the
    JSON import takes."""

    model_config = ConfigDict(extra="ignore")

    payer_id: str = Field(description="the payer id claims are billed to", examples=["ACME01"])
    plan: str | None = Field(default=None, description="a plan or product of the payer; none: every plan")
    name: str | None = Field(default=None, description="a label, set when the contract is created")
    effective_from: date
    effective_to: date | None = Field(default=None, description="the version's last day; open when none")
    default_rule: Literal["none", "percent_of_charges", "percent_of_medicare"] = Field(
        default="none", description="how a code without a fee line is priced"
    )
    default_percent: Decimal = Field(default=Decimal(0), description='"80" is 80 % (of the charge or of Medicare)')
    medicare_locality: str | None = Field(
        default=None, description="MAC number + locality number (e.g. 0111205) for percent of Medicare; none: national"
    )
    multiple_procedure: bool = Field(default=True, description="multiple procedures (51): 100/50/50 % by rank")
    bilateral_percent: Decimal = Field(default=Decimal(150), description="a bilateral line (50): this % of one side")
    lesser_of_charge: bool = Field(default=True, description="the allowed amount is at most the billed charge")
    professional_component_percent: Decimal = Field(
        default=Decimal(40), description="the 26 share of a global rate when Medicare's RVUs cannot say"
    )
    note: str | None = Field(default=None, max_length=4000, description="why this version")
    fee_lines: list[FeeLineBody] = []


class VersionSummary(BaseModel):
    version: int
    effective_from: date
    effective_to: date | None
    fee_lines: int
    source: str = Field(description="api, import or adjustment (from an underpayment item)")
    note: str | None
    created_at: datetime
    created_by: str


class ContractRead(ContractWrite):
    id: str
    version: int = Field(description="the version shown (the latest unless ?version= asks another)")
    source: str
    created_at: datetime
    created_by: str
    versions: list[VersionSummary]


class ContractListItem(BaseModel):
    id: str
    payer_id: str
    plan: str | None
    name: str | None
    version: int = Field(description="the latest version")
    effective_from: date
    effective_to: date | None
    default_rule: str
    fee_lines: int


class ImportRowError(BaseModel):
    row: int = Field(
        description="CSV: the row in the file (the header is row 1); JSON: the contract's position, from 1"
    )
    field: str
    reason: str


class ImportedVersion(BaseModel):
    payer_id: str
    plan: str | None
    contract_id: str | None = Field(description="none for a contract a dry run would create")
    version: int
    effective_from: date
    effective_to: date | None
    fee_lines: int
    rows: list[int]


class RefusedVersion(BaseModel):
    payer_id: str
    plan: str | None
    effective_from: date
    effective_to: date | None
    rows: list[int] = Field(description="its own rows, each good")
    because_of: list[int] = Field(
        description="the bad rows that may be its (by the payer, plan and dates they name; any version where "
        "one cannot be read): written without them it would drop their codes' rates, so it is not written"
    )


class ContractImportRead(BaseModel):
    rows: int = Field(description="data rows read (CSV rows; JSON contracts)")
    accepted: int = Field(description="fee lines written (applied) or that would be (dry run)")
    rejected: list[ImportRowError]
    versions: list[ImportedVersion]
    refused: list[RefusedVersion] = Field(description="versions not written because of bad rows")
    applied: bool
