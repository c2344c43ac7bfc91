"""`rcm events status` and `rcm dlq list` as a newcomer first runs them: no flags, every service or topic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from rcm_cli.main import app
from rcm_shared.bus.outbox import Outbox
from rcm_shared.bus.tables import bus_tables
from rcm_shared.db import create_engine, make_metadata
from rcm_shared.events import Envelope
from sqlalchemy import update
from typer.testing import CliRunner


async def rcm(*args: str) -> Result:
    # the commands run their own event loop (asyncio.run), so not on the test's
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def _outbox_rows(db: Any, topic: str, count: int, published: int) -> None:
    tables = bus_tables(make_metadata())
    engine = create_engine(db.url, schema=db.schema)
    try:
        async with engine.begin() as conn:
            for _ in range(count):
                env = Envelope(source="/claims", type="claim.status_changed", tenantid="org-1", data={})
                await Outbox(tables).add(conn, env, topic=topic, key="c1")
            first = tables.outbox.c.id <= published
            await conn.execute(update(tables.outbox).where(first).values(published_at=datetime.now(UTC)))
    finally:
        await engine.dispose()


async def test_events_status_shows_every_service_unless_one_is_named(
    db_factory: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    claims = await db_factory("claims")  # type: ignore[misc]
    denials = await db_factory("denials")  # type: ignore[misc]
    for name, db in (("CLAIMS", claims), ("DENIALS", denials)):
        monkeypatch.setenv(f"{name}_DATABASE_URL", db.url)
        monkeypatch.setenv(f"{name}_DB_SCHEMA", db.schema)
    # eligibility and remittance keep the embedded default: a var folder where nothing has run yet
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path / "fresh-var"))
    await _outbox_rows(claims, "claims.claim.status-changed", count=3, published=2)

    result = await rcm("events", "status")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "eligibility",
        "  no database yet (`rcm run` or `rcm migrate` creates it)",
        "claims",
        "  claims.claim.status-changed: 2 published, 1 pending",
        "remittance",
        "  no database yet (`rcm run` or `rcm migrate` creates it)",
        "denials",
        "  no events in its outbox",
    ]
    assert not (tmp_path / "fresh-var" / "eligibility.db").exists()  # looking creates no empty database

    narrowed = await rcm("events", "status", "-s", "claims")
    assert narrowed.exit_code == 0, narrowed.output
    assert narrowed.output.splitlines() == ["claims", "  claims.claim.status-changed: 2 published, 1 pending"]

    (tmp_path / "fresh-var").mkdir()
    (tmp_path / "fresh-var" / "remittance.db").touch()  # a file, but not a migrated database
    broken = await rcm("events", "status")
    assert broken.exit_code == 1 and "denials\n  no events in its outbox" in broken.output
    assert "remittance\n  cannot read its outbox: OperationalError: no such table: outbox_event" in broken.output

    unknown = await rcm("events", "status", "-s", "billing")
    assert unknown.exit_code == 2 and "unknown service 'billing'" in unknown.output
