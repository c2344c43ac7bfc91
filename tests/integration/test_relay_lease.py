"""The outbox relay's lease: one publisher per service, renewed at half its term rather than on every poll."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rcm_shared.db import create_engine, write_transaction


async def test_a_relay_renews_its_lease_at_half_life_and_no_other_takes_it_meanwhile(tmp_path: Path) -> None:
    """The relay's lease (one publisher per service) is written when taken and at half its term, not on every
    poll; a second relay gets it only once it has expired."""
    from claims.models import bus, metadata
    from rcm_shared.bus.relay import OutboxRelay
    from rcm_shared.config import KafkaSettings
    from sqlalchemy import event

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}", schema="claims")
    async with write_transaction(engine) as conn:
        await conn.run_sync(metadata.create_all)
    writes: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: writes.append(statement) if "relay_lease" in statement else None,
    )

    def relay() -> OutboxRelay:
        return OutboxRelay(
            engine=engine, tables=bus, kafka=KafkaSettings(), topics=[], name="claims", lease_seconds=1.0
        )

    first, second = relay(), relay()
    try:
        assert await first._acquire_lease()
        taken = len(writes)
        for _ in range(5):  # polls within the first half of the term: no statement at all
            assert await first._acquire_lease()
        assert len(writes) == taken
        assert not await second._acquire_lease()  # held
        await asyncio.sleep(0.6)
        assert await first._acquire_lease()  # past half-life: renewed
        assert len(writes) > taken
        await asyncio.sleep(0.6)
        assert not await second._acquire_lease()  # renewed, so still held
        await asyncio.sleep(1.1)  # the first stops polling (as a dead process would): the lease expires
        assert await second._acquire_lease()
        assert not await first._acquire_lease()
    finally:
        await engine.dispose()
