"""Each tenant's practice as claims announces it (denials/use_cases/letterhead.py, practice.changed through the
worker's event table): stored by version, an older or repeated version ignored, and appeal letters headed and
signed by the version in effect on their date; a tenant without one keeps the settings' name (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from builders.contracts import billed, billed_claim, contract, paid
from builders.events import adj
from builders.practice_events import practice_changed
from contract_steps import adjudicate, bill, enter, headers, worklist
from denial_steps import act, feed, unit_of
from denials.adapters.letters import Letterhead
from denials.config import DenialsSettings
from denials.consumers import registry
from denials.use_cases.letterhead import letterhead, on_practice_changed
from rcm_shared.bus.consumer import PermanentError
from rcm_shared.db import session_factory
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import PracticeChangedV1

SETTINGS_NAME = DenialsSettings().practice_name


def today() -> date:
    """The day letters are dated (UTC)."""
    return datetime.now(UTC).date()


def profile(tenant: str, version: int, name: str, start: date) -> PracticeChangedV1:
    return practice_changed(tenant, version, name=name).model_copy(update={"effective_from": start})


async def deliver(client: Any, event: PracticeChangedV1, tenant: str | None = None) -> None:
    """Through the worker's event table, as the consumer runs it."""
    handler = registry.get(PracticeChangedV1.event_type, PracticeChangedV1.schema_version)
    assert handler is not None, "denials handles practice.changed"
    envelope = Envelope.wrap(event, source="/claims", tenant_id=tenant or event.tenant_id)
    async with session_factory(client.app.state.engine)() as session, session.begin():
        await handler(session, envelope)


async def test_appeal_letters_carry_the_tenants_own_legal_name_and_header(client: Any) -> None:
    """org-1's profile (from a month ago) heads and signs its denial and underpayment appeals; org-2 has none and
    keeps the deployment's name."""
    await deliver(client, profile("org-1", 1, "Valley Family Clinic", today() - timedelta(days=30)))
    (denial_id,) = await feed(client, adj("C6", 0, [("CO", "50", 10000, None)]))
    letter = (await act(client, denial_id, {"action": "appeal"})).json()["appeal_letter"]
    assert letter.splitlines()[:5] == [
        "Valley Family Clinic LLC",
        "100 Main St",
        "Springfield, IL 62701",
        "Phone (217) 555-0100",
        today().isoformat(),
    ]
    assert letter.splitlines()[-1] == "Billing office, Valley Family Clinic LLC" and SETTINGS_NAME not in letter
    await enter(client, contract())
    await bill(client, billed_claim("U1", [billed(1, "99213", 15000)]))
    await adjudicate(client, paid("U1", [(1, "99213", 15000, 8000, 0)]))
    (item,) = (await worklist(client))["items"]
    r = await client.post(f"/v1/underpayments/{item['id']}:appeal", json={}, headers=headers())
    assert r.json()["appeal_letter"].startswith("Valley Family Clinic LLC\n100 Main St\n"), r.text
    await enter(client, contract(), tenant="org-2")
    await bill(client, billed_claim("U1", [billed(1, "99213", 15000)]), tenant="org-2")
    await adjudicate(client, paid("U1", [(1, "99213", 15000, 8000, 0)]), tenant="org-2")
    (theirs,) = (await worklist(client, tenant="org-2"))["items"]
    r = await client.post(f"/v1/underpayments/{theirs['id']}:appeal", json={}, headers=headers("org-2"))
    text = r.json()["appeal_letter"]
    assert text.startswith(f"{SETTINGS_NAME}\n{today().isoformat()}\n") and "Valley" not in text


async def test_a_letter_takes_the_version_in_effect_on_its_date(client: Any) -> None:
    """v1 from 60 days ago (Valley), v2 from 30 days on (Hilltop): a letter today is Valley's, one dated after
    v2 starts Hilltop's, one before v1 the settings' name."""
    now = today()
    await deliver(client, profile("org-1", 1, "Valley", now - timedelta(days=60)))
    await deliver(client, profile("org-1", 2, "Hilltop", now + timedelta(days=30)))
    async with client.app.state.engine.connect() as conn:
        unit = unit_of(conn)
        heads = [await letterhead(unit, day, SETTINGS_NAME) for day in (now, now + timedelta(days=31))]
        assert [h.name for h in heads] == ["Valley LLC", "Hilltop LLC"]
        assert (await letterhead(unit, now - timedelta(days=61), SETTINGS_NAME)) == Letterhead(SETTINGS_NAME)


async def test_an_older_or_repeated_version_changes_nothing(client: Any) -> None:
    start = today() - timedelta(days=10)
    async with client.app.state.engine.begin() as conn:
        unit = unit_of(conn)
        assert await on_practice_changed(unit, profile("org-1", 2, "Hilltop", start), "e2") is True
        assert await on_practice_changed(unit, profile("org-1", 2, "Hilltop again", start), "e3") is False
        assert await on_practice_changed(unit, profile("org-1", 1, "Valley", start), "e1") is False
        assert (await letterhead(unit, today(), SETTINGS_NAME)).name == "Hilltop LLC"


async def test_a_profile_of_another_tenant_than_its_event_is_dead_lettered(client: Any) -> None:
    with pytest.raises(PermanentError, match="carries the profile of tenant org-2"):
        await deliver(client, profile("org-2", 1, "Elsewhere", today()), tenant="org-1")
    async with client.app.state.engine.connect() as conn:
        assert (await letterhead(unit_of(conn, "org-1"), today(), SETTINGS_NAME)).name == SETTINGS_NAME
        assert (await letterhead(unit_of(conn, "org-2"), today(), SETTINGS_NAME)).name == SETTINGS_NAME
