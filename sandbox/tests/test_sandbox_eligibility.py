"""The eligibility service against the sandbox's simulated payers: 270 out, 271s our reader accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from eligibility.adapters.clearinghouses import Failover, HttpAdapter
from rcm_shared.testing import app_client
from sandbox.main import create_app as sandbox_app

T = {"X-Tenant-ID": "org-1"}


@pytest.fixture
async def client(db_factory: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    db = await db_factory("eligibility")
    monkeypatch.setenv("ELIGIBILITY_DATABASE_URL", db.url)
    monkeypatch.setenv("ELIGIBILITY_DB_SCHEMA", db.schema)
    from eligibility.config import get_settings
    from eligibility.main import create_app

    # The adapter speaks HTTP over a real socket (aiohttp): a local server hands each request to the sandbox app.
    sandbox = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app()), base_url="http://sandbox")

    async def forward(request: web.Request) -> web.Response:
        answer = await sandbox.post(request.path, content=await request.read(), headers=dict(request.headers))
        return web.Response(status=answer.status_code, body=answer.content, content_type="application/edi-x12")

    front = web.Application()
    front.router.add_post("/x12/270", forward)
    async with sandbox, TestServer(front) as server, app_client(create_app, get_settings.cache_clear) as c:
        c.app.state.failover = Failover([HttpAdapter("sandbox", str(server.make_url("/x12/270")))])
        yield c
        await c.app.state.failover.aclose()


def check(member: str, payer: str = "ACME01", date: str = "2026-11-30") -> dict[str, Any]:
    return {
        "provider": {"npi": "1234567893", "name": "Valley Family Clinic"},
        "payer_id": payer,
        "payer_name": "X",
        "subscriber": {"member_id": member, "first_name": "Jane", "last_name": "Doe", "birth_date": "1980-02-29"},
        "service_date": date,
        "service_types": ["30", "98"],
    }


async def test_active_member_with_benefits(client: Any) -> None:
    r = (await client.post("/v1/eligibility/checks", json=check("W123456789"), headers=T)).json()
    assert r["status"] == "active" and r["source"] == "sandbox"
    result = r["result"]
    assert (result["plan"], result["group_number"], result["coverage_end"]) == ("GOLD PPO", "GRP100", "2026-12-31")
    general = next(
        b for b in result["benefits"] if (b["service_type"], b["coverage_level"], b["network"]) == ("30", "IND", "in")
    )
    assert general["deductible"] == {"limit": "1500.00", "remaining": "500.00", "met": None}
    assert general["out_of_pocket"]["remaining"] == "4800.00" and general["coinsurance"] == "0.20"
    office = next(b for b in result["benefits"] if (b["service_type"], b["network"]) == ("98", "in"))
    assert office["copay"] == "25.00"


async def test_inactive_unknown_member_and_unknown_payer(client: Any) -> None:
    lapsed = (await client.post("/v1/eligibility/checks", json=check("W999000111"), headers=T)).json()
    assert lapsed["status"] == "inactive" and lapsed["result"]["coverage_end"] == "2025-12-31"
    unknown = (await client.post("/v1/eligibility/checks", json=check("NOPE123"), headers=T)).json()
    assert unknown["status"] == "error" and unknown["result"]["errors"][0]["code"] == "72"
    payer = (await client.post("/v1/eligibility/checks", json=check("W123456789", payer="ZZZ"), headers=T)).json()
    assert payer["status"] == "error" and payer["result"]["errors"][0]["code"] == "79"
    medicare = (await client.post("/v1/eligibility/checks", json=check("1EG4TE5MK73", payer="MCRB1"), headers=T)).json()
    assert medicare["status"] == "active" and medicare["result"]["coverage_end"] is None


async def test_sandbox_refuses_what_is_not_a_270() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app()), base_url="http://s") as c:
        r = await c.post("/x12/270", content=b"ISA*garbage")
    assert r.status_code == 400 and r.text.startswith("invalid 270")


async def test_change_healthcare_v3_compatible_route(client: Any) -> None:
    body = {
        "controlNumber": "123456789",
        "tradingPartnerServiceId": "ACME01",
        "provider": {"organizationName": "Valley Family Clinic", "npi": "1234567893"},
        "subscriber": {"memberId": "W123456789", "firstName": "Jane", "lastName": "Doe", "dateOfBirth": "19800229"},
        "encounter": {"dateOfService": "20261130", "serviceTypeCodes": ["98"]},
    }
    r = await client.post("/change/medicalnetwork/eligibility/v3", json=body, headers=T)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["controlNumber"] == "123456789" and out["payer"]["name"] == "ACME HEALTH PLAN"
    assert out["planStatus"][0]["statusCode"] == "1" and out["planInformation"] == {"groupNumber": "GRP100"}
    assert out["planDateInformation"] == {"planBegin": "20260101", "planEnd": "20261231"}
    remaining = [b for b in out["benefitsInformation"] if b["code"] == "C" and b.get("timeQualifierCode") == "29"]
    assert remaining[0]["benefitAmount"] == "500"
    unknown = await client.post(
        "/change/medicalnetwork/eligibility/v3",
        json={**body, "subscriber": {**body["subscriber"], "memberId": "NOPE1"}},
        headers=T,
    )
    assert unknown.json()["errors"][0]["code"] == "72" and unknown.json()["errors"][0]["location"] == "Loop 2100C"
    bad = await client.post("/change/medicalnetwork/eligibility/v3", json={**body, "controlNumber": "12"}, headers=T)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "controlNumber"
    from eligibility.models import audit
    from sqlalchemy import select

    async with client.app.state.engine.connect() as conn:  # one row per answer (a new check's with its rows)
        trail = [(row.resource, row.status, row.request_id) for row in await conn.execute(select(audit))]
    compat = [(status, rid) for resource, status, rid in trail if resource.startswith("/change/")]
    assert compat == [(a.status_code, a.headers["X-Correlation-ID"]) for a in (r, unknown, bad)]


async def test_batch_runs_every_check_and_reports_progress(client: Any) -> None:
    import asyncio

    members = ["W123456789", "W999000111", "NOPE123"]
    r = await client.post(
        "/v1/eligibility/batches", json={"checks": [check(m) for m in members], "per_payer_concurrency": 2}, headers=T
    )
    assert r.status_code == 202
    batch_id = r.json()["id"]
    for _ in range(200):  # bounded: the batch runs in the background
        status = (await client.get(f"/v1/eligibility/batches/{batch_id}", headers=T)).json()
        if status["status"] == "done":
            break
        await asyncio.sleep(0.02)
    assert status["status"] == "done" and status["done"] == 3 and status["failed"] == 0, status["items"]
    results = [
        (await client.get(f"/v1/eligibility/checks/{it['check_id']}", headers=T)).json()["status"]
        for it in status["items"]
    ]
    assert results == ["active", "inactive", "error"]
    assert (await client.get(f"/v1/eligibility/batches/{batch_id}", headers={"X-Tenant-ID": "x"})).status_code == 404


async def test_claims_sandbox_adapter_gets_a_999(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The claims service's 'sandbox' clearinghouse adapter: 837 in, the sandbox's 999 recorded on the claims."""
    from builders.encounters import encounter
    from claims.adapters.scrub_resources import default_resources
    from claims.config import get_settings
    from claims.main import create_app

    db = await db_factory("claims")
    monkeypatch.setenv("CLAIMS_DATABASE_URL", db.url)
    monkeypatch.setenv("CLAIMS_DB_SCHEMA", db.schema)
    monkeypatch.setenv("CLAIMS_CLEARINGHOUSE_ADAPTER", "sandbox")
    monkeypatch.setenv("CLAIMS_DEFAULT_TENANT", T["X-Tenant-ID"])  # it sends under the deployment's own ids
    get_settings.cache_clear()
    default_resources.cache_clear()
    import claims.adapters.clearinghouse as submission

    real_adapter = submission.HttpAdapter

    def via_asgi(url: str, timeout: float = 10.0, name: str = "http") -> Any:
        return real_adapter(url, timeout, name, transport=httpx.ASGITransport(app=sandbox_app()))

    monkeypatch.setattr("claims.api.deps.adapter_for", lambda s: via_asgi(s.sandbox_url, name="sandbox"))
    app = create_app()
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            claim = (await c.post("/v1/claims", json=encounter(), headers=T)).json()
            (sub,) = (await c.post(f"/v1/claims/{claim['id']}/submit", headers=T)).json()
            assert sub["delivered"] and sub["destination"].endswith("/x12/837")
            assert sub["acknowledgment"]["kind"] == "999" and sub["acknowledgment"]["claims_updated"] == [claim["id"]]
            after = (await c.get(f"/v1/claims/{claim['id']}", headers=T)).json()
    assert after["state"] == "submitted" and after["status_detail"]["summary"] == "999 accepted"
    get_settings.cache_clear()
