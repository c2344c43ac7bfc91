"""Revenue-cycle KPIs and insurance A/R aging (``domain.reports`` defines them) over the tenant's claims."""

from __future__ import annotations

from datetime import date
from typing import Any

from rcm_shared.unit import Unit

from claims.domain.reports import Kpis, aging, kpis_of
from claims.repository import ReportsRepository


async def kpis(unit: Unit, since: date | None = None, until: date | None = None) -> Kpis:
    """Over original claims whose first date of service is in [since, until] (both optional)."""
    reports = ReportsRepository(unit)
    rows = await reports.originals(since, until)
    ids = [r.id for r in rows]
    return kpis_of(rows, await reports.replacement_money(ids), await reports.transitions(ids))


async def ar_aging(unit: Unit, as_of: date) -> list[dict[str, Any]]:
    """Open insurance balances by payer and age (from the date of service)."""
    return aging(await ReportsRepository(unit).open_with_payer(), as_of)
