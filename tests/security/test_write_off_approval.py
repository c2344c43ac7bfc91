"""A write-off over the approval threshold takes two people, told apart by their tokens' subjects: a header
naming someone else does not make the requester a second person (SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from builders.events import adj
from denials.config import DenialsSettings
from denials.domain.classify import default_rules
from denials.models import bus
from denials.use_cases.intake import on_adjudicated
from rcm_cli.issuer import Issuer
from rcm_shared.auth import AuthSettings
from rcm_shared.events import Envelope
from rcm_shared.testing import app_client
from rcm_shared.unit import Actor, Units

sys.path.insert(0, str(Path(__file__).parent))
from test_auth import Tokens


@pytest.fixture
async def denials(db_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    db = await db_factory("denials")
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(tmp_path / "auth" / "jwks.json"))
    monkeypatch.setenv("DENIALS_DATABASE_URL", db.url)
    monkeypatch.setenv("DENIALS_DB_SCHEMA", db.schema)
    monkeypatch.setenv("DENIALS_WRITE_OFF_APPROVAL_CENTS", "10000")
    issuer = Issuer(tmp_path / "auth", AuthSettings())
    issuer.ensure_key()
    from denials.config import get_settings
    from denials.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as client:
        client.tokens = Tokens(issuer)
        yield client


async def test_the_requester_cannot_approve_a_large_write_off_whatever_header_it_sends(denials: Any) -> None:
    event = adj("C1", 0, [("CO", "29", 25000, None)], charge=25000, payment_date=date(2026, 11, 2))
    envelope = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with denials.app.state.engine.begin() as conn:
        unit = Units.of_service(DenialsSettings(), bus).on(conn, "org-1", Actor("test"))
        (denial_id,) = await on_adjudicated(unit, event, default_rules(), envelope, settings=DenialsSettings())

    def as_(subject: str) -> dict[str, str]:
        token = denials.tokens.make(["denials:work", "denials:read"], sub=subject)
        return {"Authorization": f"Bearer {token}", "X-Actor": "someone-else"}

    path = f"/v1/denials/{denial_id}/actions"
    asked = await denials.post(path, json={"action": "write_off", "note": "filed too late"}, headers=as_("maria"))
    assert asked.status_code == 200 and asked.json()["status"] == "write_off_pending"
    same = await denials.post(path, json={"action": "approve_write_off"}, headers=as_("maria"))
    assert same.status_code == 403 and "requested by maria" in same.json()["detail"]
    approved = await denials.post(path, json={"action": "approve_write_off"}, headers=as_("lee"))
    assert approved.status_code == 200 and approved.json()["status"] == "written_off"
    assert [(h["action"], h["actor"]) for h in approved.json()["history"]][1:] == [
        ("write_off_requested", "maria"),
        ("written_off", "lee"),
    ]
