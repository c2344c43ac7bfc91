"""Batch refresh (e.g. tomorrow's appointments): every check of the batch runs through the same engine,
with at most N at a time per payer; each result is stored and announced as it completes."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from rcm_shared.db import read_connection, write_transaction
from rcm_shared.ids import new_id
from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from eligibility.api.schemas import CheckCreate
from eligibility.clearinghouse import Failover
from eligibility.config import EligibilitySettings
from eligibility.handlers import run_check
from eligibility.models import eligibility_batch, eligibility_batch_item


async def create_batch(engine: AsyncEngine, tenant: str, checks: list[CheckCreate]) -> str:
    batch_id = new_id()
    async with write_transaction(engine) as conn:
        await conn.execute(
            insert(eligibility_batch).values(
                id=batch_id, tenant_id=tenant, status="running", total=len(checks), created_at=datetime.now(UTC)
            )
        )
        await conn.execute(
            insert(eligibility_batch_item),
            [
                {
                    "batch_id": batch_id,
                    "position": i,
                    "payer_id": c.payer_id,
                    "request": c.model_dump(mode="json"),
                    "status": "pending",
                }
                for i, c in enumerate(checks)
            ],
        )
    return batch_id


async def run_batch(
    engine: AsyncEngine, settings: EligibilitySettings, failover: Failover, tenant: str, batch_id: str, per_payer: int
) -> None:
    """Runs the pending items of a batch (also after a restart: done items are not run again)."""
    i = eligibility_batch_item.c
    async with read_connection(engine) as conn:
        items = list(
            await conn.execute(
                select(eligibility_batch_item)
                .where(and_(i.batch_id == batch_id, i.status == "pending"))
                .order_by(i.position)
            )
        )
    limits: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_payer))

    async def one(item: Any) -> None:
        async with limits[item.payer_id]:
            values: dict[str, Any]
            try:
                result = await run_check(engine, settings, failover, tenant, CheckCreate.model_validate(item.request))
                values = {"status": "done", "check_id": result.row.id}
            except Exception as exc:  # noqa: BLE001 - one failed check must not stop the batch; it is recorded
                values = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]}
            async with write_transaction(engine) as conn:
                await conn.execute(
                    update(eligibility_batch_item)
                    .where(and_(i.batch_id == batch_id, i.position == item.position))
                    .values(**values)
                )

    await asyncio.gather(*(one(item) for item in items))
    async with write_transaction(engine) as conn:
        await conn.execute(
            update(eligibility_batch)
            .where(eligibility_batch.c.id == batch_id)
            .values(status="done", finished_at=datetime.now(UTC))
        )


async def batch_status(engine: AsyncEngine, tenant: str, batch_id: str) -> dict[str, Any] | None:
    b, i = eligibility_batch.c, eligibility_batch_item.c
    async with read_connection(engine) as conn:
        batch = (
            await conn.execute(select(eligibility_batch).where(and_(b.tenant_id == tenant, b.id == batch_id)))
        ).first()
        if batch is None:
            return None
        items = list(
            await conn.execute(select(eligibility_batch_item).where(i.batch_id == batch_id).order_by(i.position))
        )
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
