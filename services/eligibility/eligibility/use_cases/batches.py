"""Batch refresh (e.g. tomorrow's appointments): every check of the batch runs as a real-time check, with at most
N at a time per payer; each result is stored and announced as it completes."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.ids import new_id
from rcm_shared.unit import Actor, Unit, Units

from eligibility.adapters.clearinghouses import Failover
from eligibility.config import EligibilitySettings
from eligibility.domain.inquiry import CheckCreate
from eligibility.repository import EligibilityRepository
from eligibility.use_cases.checks import run_check


async def create_batch(unit: Unit, checks: list[CheckCreate]) -> str:
    batch_id = new_id()
    items = [
        {"position": i, "payer_id": c.payer_id, "request": c.model_dump(mode="json"), "status": "pending"}
        for i, c in enumerate(checks)
    ]
    await EligibilityRepository(unit).add_batch(batch_id, datetime.now(UTC), items)
    return batch_id


async def run_batch(
    units: Units,
    tenant: str,
    actor: Actor,
    settings: EligibilitySettings,
    failover: Failover,
    batch_id: str,
    per_payer: int,
) -> None:
    """Runs the pending items of a batch (also after a restart: done items are not run again)."""
    async with units.read(tenant, actor) as unit:
        items = await EligibilityRepository(unit).batch_items(batch_id, pending=True)
    limits: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_payer))

    async def one(item: Any) -> None:
        async with limits[item.payer_id]:
            values: dict[str, Any]
            try:
                check = CheckCreate.model_validate(item.request)
                result = await run_check(units, tenant, actor, settings, failover, check)
                values = {"status": "done", "check_id": result.row.id}
            except Exception as exc:  # noqa: BLE001 - one failed check must not stop the batch; it is recorded
                values = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]}
            async with units.write(tenant, actor) as unit:
                await EligibilityRepository(unit).settle_item(batch_id, item.position, values)

    await asyncio.gather(*(one(item) for item in items))
    async with units.write(tenant, actor) as unit:
        await EligibilityRepository(unit).finish_batch(batch_id, datetime.now(UTC))


async def batch_status(unit: Unit, batch_id: str) -> dict[str, Any]:
    """A batch's progress: how many items are pending, done and failed, and each item's outcome."""
    repo = EligibilityRepository(unit)
    batch = await repo.batch(batch_id)
    if batch is None:
        raise NotFound(f"no batch {batch_id}")
    items = await repo.batch_items(batch_id)
    counts = {s: sum(1 for it in items if it.status == s) for s in ("pending", "done", "failed")}
    return {
        "id": batch.id,
        "status": batch.status,
        "total": batch.total,
        **counts,
        "items": [
            {"position": it.position, "status": it.status, "check_id": it.check_id, "error": it.error} for it in items
        ],
    }
