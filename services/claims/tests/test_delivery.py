"""Delivery (claims.use_cases.delivery): what the API leaves pending, the worker delivers once.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import T
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
)


async def test_a_submission_left_pending_is_retried_by_the_worker_after_the_grace_and_written_once(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import time

    from claims import background
    from claims.adapters import clearinghouse as submission_module
    from claims.config import get_settings

    a = await create(client)
    real = submission_module.FiledropAdapter.deliver

    async def refuse(self: Any, submission_id: str, x12: str) -> tuple[str, str | None]:
        raise submission_module.DeliveryError("clearinghouse unreachable")

    monkeypatch.setattr(submission_module.FiledropAdapter, "deliver", refuse)
    (sub,) = (await client.post("/v1/submissions", json={}, headers=T)).json()
    assert not sub["delivered"] and "the worker retries" in sub["error"]
    monkeypatch.setattr(submission_module.FiledropAdapter, "deliver", real)
    engine = client.app.state.engine
    assert await background.deliver_pending(engine) == 0  # within the grace the API request has: left alone
    later = datetime.now(UTC) + timedelta(seconds=get_settings().delivery_grace_s + 1)
    assert await background.deliver_pending(engine, now=later) == 1
    assert await background.deliver_pending(engine, now=later) == 0  # delivered: never again
    # the API's delivery and a retry at the same moment: both succeed, one file, no temporary left behind
    x12 = (await client.get(f"/v1/claims/{a['id']}/x12", params={"as_sent": "true"}, headers=T)).text
    adapter = submission_module.adapter_for(get_settings())
    replace = submission_module.os.replace

    def slow_replace(src: Any, dst: Any) -> None:  # every writer has written its temporary before any rename
        time.sleep(0.05)
        replace(src, dst)

    monkeypatch.setattr(submission_module.os, "replace", slow_replace)
    results = await asyncio.gather(*(adapter.deliver(sub["submission_id"], x12) for _ in range(8)))
    (destination,) = {r[0] for r in results}
    assert Path(destination).read_text() == x12
    assert [p.name for p in Path(destination).parent.iterdir()] == [Path(destination).name]


async def test_an_answer_that_cannot_be_applied_never_undoes_the_delivery_and_is_kept(
    client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from claims.adapters import clearinghouse
    from claims.config import get_settings
    from claims.use_cases import delivery

    monkeypatch.setattr(get_settings(), "inbound_ack_dir", str(tmp_path))

    async def answers(self: Any, submission_id: str, x12: str) -> tuple[str, str | None]:
        return f"out/{submission_id}", "NOT AN X12 ANSWER"

    monkeypatch.setattr(clearinghouse.FiledropAdapter, "deliver", answers)
    a = await create(client)
    (unreadable,) = (await client.post("/v1/submissions", json={}, headers=T)).json()
    # a deadlock, a bug: anything but an unreadable answer, once the delivery is recorded
    broken = RuntimeError("deadlock detected")

    async def fails(unit: Any, data: bytes) -> Any:
        raise broken

    monkeypatch.setattr(delivery, "acknowledge", fails)
    b = await create(client, **{"subscriber.member_id": "W987654321"})
    (unapplied,) = (await client.post("/v1/submissions", json={}, headers=T)).json()

    for sub, claim in ((unreadable, a), (unapplied, b)):
        assert sub["delivered"] and sub["error"] is None, sub
        assert "error" in sub["acknowledgment"], sub
        kept = tmp_path / "failed" / f"{sub['submission_id']}.999"
        assert kept.read_bytes() == b"NOT AN X12 ANSWER"  # the payer's answer, kept to be sent again
        assert (tmp_path / "failed" / f"{kept.name}.error.txt").read_text().strip()
        assert (await client.get(f"/v1/claims/{claim['id']}", headers=T)).json()["state"] == "submitted"
    # both deliveries stand: the worker has nothing to send again
    from claims import background

    later = datetime.now(UTC) + timedelta(seconds=get_settings().delivery_grace_s + 1)
    assert await background.deliver_pending(client.app.state.engine, now=later) == 0
