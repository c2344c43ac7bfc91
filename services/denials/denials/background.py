"""Deadline watch: warn (once) about open denials whose appeal or refiling deadline is near."""

from __future__ import annotations

import asyncio
import contextlib

from rcm_shared.db import write_transaction
from sqlalchemy.ext.asyncio import AsyncEngine

from denials.config import get_settings
from denials.handlers import due_deadlines


async def deadline_watch(stop: asyncio.Event, engine: AsyncEngine) -> None:
    settings = get_settings()
    while not stop.is_set():
        async with write_transaction(engine) as conn:
            await due_deadlines(conn, settings)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.deadline_poll_seconds)
