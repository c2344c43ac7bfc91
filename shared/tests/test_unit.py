"""The unit of work: events land in the outbox with the state change's transaction, or not at all."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rcm_shared.db import create_engine
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.testing import migrate
from rcm_shared.topics import topic_for
from rcm_shared.unit import Actor, Units
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]


def _changed(claim_id: str) -> ClaimStatusChangedV1:
    return ClaimStatusChangedV1(claim_id=claim_id, old_state=None, new_state="ready", changed_at=datetime.now(UTC))


async def test_events_commit_with_the_unit_and_roll_back_with_it(tmp_path: Path) -> None:
    from claims.config import ClaimsSettings
    from claims.models import bus

    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(ROOT / "services" / "claims", url, "claims")
    engine = create_engine(url, schema="claims")
    settings = ClaimsSettings(database_url=url)
    settings.kafka.topic_prefix = "t1."
    units = Units.of_service(settings, bus, engine)
    try:
        async with units.write("org-1", Actor("alice", correlation_id="corr-1")) as unit:
            sent = await unit.emit(_changed("C-1"), key="C-1")
        with pytest.raises(RuntimeError):
            async with units.write("org-1", Actor("bob")) as unit:
                await unit.emit(_changed("C-2"), key="C-2")
                raise RuntimeError("the use case failed after emitting")
        async with units.read("org-1") as unit:
            rows = (await unit.conn.execute(select(bus.outbox))).all()
    finally:
        await engine.dispose()
    assert [(r.key, r.topic, r.tenant_id, r.event_id) for r in rows] == [
        ("C-1", "t1." + topic_for("claim.status_changed"), "org-1", sent.id)
    ]
    assert (sent.source, sent.correlationid, sent.subject) == ("/claims", "corr-1", "C-1")


async def test_a_unit_for_an_event_acts_in_its_tenant_and_chains_to_it(tmp_path: Path) -> None:
    from claims.models import bus

    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    cause = Envelope.wrap(
        _changed("C-9"), source="/remittance", tenant_id="org-2", correlation_id="corr-9", traceparent=trace
    )
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(ROOT / "services" / "claims", url, "claims")
    engine = create_engine(url, schema="claims")
    try:
        async with engine.begin() as conn:
            unit = await Units(bus, source="/claims").for_event(conn, cause)
            caused = await unit.emit(_changed("C-9"), key="C-9")
    finally:
        await engine.dispose()
    assert unit.tenant == "org-2"
    assert unit.actor.name == f"event:claim.status_changed:{cause.id}"
    assert (caused.tenantid, caused.correlationid, caused.causationid) == ("org-2", "corr-9", cause.id)
    assert caused.traceparent == trace  # no span is current here (tracing off): the cause's trace goes on


def test_units_without_an_engine_refuse_to_open_transactions() -> None:
    from claims.models import bus

    with pytest.raises(RuntimeError, match="no engine"):
        _ = Units(bus, source="/claims").engine
