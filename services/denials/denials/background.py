"""The denials worker's loops: the deadline watch warns (once) about denials whose deadline is near."""

from __future__ import annotations

import asyncio

from rcm_shared.db import write_transaction
from rcm_shared.runtime import wait_or_stop
from sqlalchemy.ext.asyncio import AsyncEngine

from denials.config import get_settings
from denials.use_cases.deadlines import due_deadlines


async def deadline_watch(stop: asyncio.Event, engine: AsyncEngine) -> None:
    settings = get_settings()
    while not stop.is_set():
        async with write_transaction(engine) as conn:  # one pass across tenants, each denial in a unit of its tenant
            await due_deadlines(conn, settings)
        await wait_or_stop(stop, settings.deadline_poll_seconds)


LOOPS = [deadline_watch]
