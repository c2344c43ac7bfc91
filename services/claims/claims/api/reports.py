"""HTTP routes of the reports: revenue-cycle KPIs and insurance A/R aging."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter
from rcm_shared.web import TenantDep, UnitsDep

from claims.api.schemas import AgingRow, KpisRead
from claims.use_cases.reports import ar_aging, kpis

router = APIRouter(prefix="/v1", tags=["claims"])


@router.get("/reports/kpis", response_model=KpisRead, summary="Clean-claim rate, first-pass yield, denial rate, ...")
async def report_kpis(
    units: UnitsDep, tenant: TenantDep, since: date | None = None, until: date | None = None
) -> KpisRead:
    """Over original claims whose first date of service is in [since, until] (both optional)."""
    async with units.read(tenant) as unit:
        return KpisRead(**(await kpis(unit, since, until)).__dict__)


@router.get("/reports/ar-aging", response_model=list[AgingRow], summary="Open insurance balances by payer and age")
async def report_ar_aging(units: UnitsDep, tenant: TenantDep, as_of: date | None = None) -> list[AgingRow]:
    async with units.read(tenant) as unit:
        rows = await ar_aging(unit, as_of or datetime.now(UTC).date())
    return [AgingRow.model_validate(r) for r in rows]
