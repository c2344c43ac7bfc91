"""The audit trail: every request to a PHI-bearing route is on record (who, organization, action,
resource, when, outcome, request id), readable with audit:read for one's own organization only, and
tampering with any row breaks the hash chain. SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from builders.encounters import encounter
from claims.models import audit
from rcm_cli.issuer import Issuer
from rcm_shared.auth import AuthSettings
from rcm_shared.db import create_engine
from rcm_shared.testing import app_client
from sqlalchemy import delete, update

sys.path.insert(0, str(Path(__file__).parent))
from test_auth import Tokens


@pytest.fixture
async def claims(db_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    db = await db_factory("claims")
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(tmp_path / "auth" / "jwks.json"))
    monkeypatch.setenv("CLAIMS_DATABASE_URL", db.url)
    monkeypatch.setenv("CLAIMS_DB_SCHEMA", db.schema)
    issuer = Issuer(tmp_path / "auth", AuthSettings())
    issuer.ensure_key()
    from claims.config import get_settings
    from claims.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as client:
        client.tokens = Tokens(issuer)
        client.db = db
        yield client


def bearer(client: Any, *scopes: str, org: str = "org-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens.make(list(scopes), org=org)}"}


async def test_every_access_is_on_record_and_the_chain_shows_tampering(claims: Any) -> None:
    writer = bearer(claims, "claims:write", "claims:read")
    created = await claims.post("/v1/claims", json=encounter(), headers=writer)
    assert created.status_code == 201
    claim_id = created.json()["id"]
    assert (await claims.get(f"/v1/claims/{claim_id}", headers=writer)).status_code == 200
    assert (await claims.get(f"/v1/claims/{claim_id}")).status_code == 401  # no token: denied, still on record
    assert (await claims.get("/v1/claims/CNOSUCH", headers=writer)).status_code == 404
    other_org = bearer(claims, "claims:read", org="org-2")
    assert (await claims.get(f"/v1/claims/{claim_id}", headers=other_org)).status_code == 404

    auditor = bearer(claims, "audit:read")
    trail = (await claims.get("/v1/audit", headers=auditor)).json()
    seen = [(r["actor"], r["action"], r["resource"], r["resource_id"], r["status"], r["outcome"]) for r in trail]
    assert seen[:3] == [
        ("test-client", "create", "/v1/claims", None, 201, "success"),
        ("test-client", "read", "/v1/claims/{claim_id}", claim_id, 200, "success"),
        ("test-client", "read", "/v1/claims/{claim_id}", "CNOSUCH", 404, "invalid"),
    ]
    assert all(r["request_id"] for r in trail)
    mine = (await claims.get("/v1/audit", params={"resource_id": claim_id}, headers=auditor)).json()
    assert {r["status"] for r in mine} == {200}  # org-1's view: org-2's attempt is org-2's record
    # An attempt without a token names no organization: it is on the default organization's record.
    anonymous = (await claims.get("/v1/audit", headers=bearer(claims, "audit:read", org="default"))).json()
    assert [(r["actor"], r["resource_id"], r["status"], r["outcome"]) for r in anonymous] == [
        ("anonymous", claim_id, 401, "denied")
    ]
    theirs = (await claims.get("/v1/audit", headers=bearer(claims, "audit:read", org="org-2"))).json()
    assert [(r["resource_id"], r["status"]) for r in theirs] == [(claim_id, 404)]
    assert (await claims.get("/v1/audit", headers=writer)).status_code == 403  # audit:read is its own scope

    verdict = (await claims.get("/v1/audit/verify", headers=auditor)).json()
    assert verdict["ok"] and verdict["rows"] >= 8
    engine = create_engine(claims.db.url, schema=claims.db.schema)
    async with engine.begin() as conn:  # someone edits the record of who read the claim
        await conn.execute(update(audit).where(audit.c.id == 2).values(actor="someone-else"))
    verdict = (await claims.get("/v1/audit/verify", headers=auditor)).json()
    assert (verdict["ok"], verdict["first_broken_id"]) == (False, 2), verdict
    async with engine.begin() as conn:  # put it back, then remove a row instead
        await conn.execute(update(audit).where(audit.c.id == 2).values(actor="test-client"))
    assert (await claims.get("/v1/audit/verify", headers=auditor)).json()["ok"]
    async with engine.begin() as conn:
        await conn.execute(delete(audit).where(audit.c.id == 3))
    verdict = (await claims.get("/v1/audit/verify", headers=auditor)).json()
    assert (verdict["ok"], verdict["first_broken_id"]) == (False, 4), verdict
    await engine.dispose()


async def test_concurrent_requests_share_audit_commits_and_none_is_answered_unrecorded(
    claims: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from rcm_shared import audit as audit_module

    batches: list[int] = []
    real = audit_module.append_many

    async def counted(conn: Any, table: Any, entries: Any) -> None:
        batches.append(len(entries))
        await real(conn, table, entries)

    monkeypatch.setattr(audit_module, "append_many", counted)
    reader = bearer(claims, "claims:read")
    answers = await asyncio.gather(*(claims.get(f"/v1/claims/C{n}", headers=reader) for n in range(60)))
    assert [a.status_code for a in answers] == [404] * 60
    assert sum(batches) == 60 and len(batches) < 60  # group commit: fewer transactions than requests
    auditor = bearer(claims, "audit:read")
    trail = (await claims.get("/v1/audit", params={"limit": 1000}, headers=auditor)).json()
    assert sorted(r["resource_id"] for r in trail if r["resource"] == "/v1/claims/{claim_id}") == sorted(
        f"C{n}" for n in range(60)
    )
    assert (await claims.get("/v1/audit/verify", headers=auditor)).json()["ok"]

    async def broken(conn: Any, table: Any, entries: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(audit_module, "append_many", broken)
    refused = await asyncio.gather(*(claims.get(f"/v1/claims/D{n}", headers=reader) for n in range(5)))
    assert {r.status_code for r in refused} == {503}
    assert all("audit trail could not record" in r.json()["detail"] for r in refused)
