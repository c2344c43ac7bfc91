"""The deadline watch (denials/use_cases/deadlines.py) warns once (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from builders.events import adj
from denial_steps import unit_of
from denials.config import DenialsSettings
from denials.domain.classify import default_rules
from denials.models import bus
from denials.use_cases.deadlines import due_deadlines
from denials.use_cases.intake import on_adjudicated
from rcm_shared.events import Envelope
from sqlalchemy import select


async def test_deadline_watch_warns_once(client: Any) -> None:
    settings = DenialsSettings(appeal_window_days=5, deadline_warning_days=14)
    event = adj("C40", 0, [("CO", "50", 7000, None)])
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        await on_adjudicated(unit_of(conn), event, default_rules(), env, settings=settings)
        assert await due_deadlines(conn, settings) == 1
        assert await due_deadlines(conn, settings) == 0
    async with client.app.state.engine.connect() as conn:
        rows = list(
            await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == "denials.denial.deadline-approaching"))
        )
    assert len(rows) == 1 and '"days_left":5' in rows[0].payload
