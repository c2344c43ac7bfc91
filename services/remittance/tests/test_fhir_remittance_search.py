"""Searching the remittance FHIR API (SQLite and PostgreSQL): each search parameter of ExplanationOfBenefit
and PaymentReconciliation, paging by the next link, tenancy, bad input answered with an OperationOutcome
naming the parameter, the CapabilityStatement, and the token's scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from builders import T
from builders.fhir import assert_fhir, outcome_issues
from builders.x835 import claim, copay_claim, header, interchange, line, paid_claim
from rcm_shared.testing import app_client
from remittance_fhir_steps import BASE, PCCN, TRACE, bpr02, post_835, read, search
from remittance_steps import billed

EOB = "ExplanationOfBenefit"
PR = "PaymentReconciliation"


def instant(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


async def claims_of(client: Any, params: Any) -> list[str]:
    return sorted(e["claim"]["reference"].removeprefix("Claim/") for e in await search(client, EOB, params))


async def traces_of(client: Any, params: Any) -> list[str]:
    return sorted(r["paymentIdentifier"]["value"] for r in await search(client, PR, params))


async def two_payers(client: Any) -> datetime:
    """ACME's 835 (PCN0001, PCN0002; trace EFTS1), then OTHER's (PCN0003; EFTS2); returns a moment between."""
    acme = [paid_claim(), copay_claim()]
    await post_835(client, interchange((header("EFTS1", bpr02(acme)), acme, [])))
    between = datetime.now(UTC)
    other = [claim("PCN0003", "1", "60.00", "60.00", "OTH3", [line("99211", "60.00", "60.00", [], "PCN0003-1")])]
    other_header = header("EFTS2", bpr02(other), payer_id="OTHER1", payer_name="OTHER PLAN")
    await post_835(client, interchange((other_header, other, []), isa=2))
    return between


async def test_each_eob_search_parameter(stack: tuple[Any, Any]) -> None:
    client, engine = stack
    between = await two_payers(client)
    await billed(engine, "PCN0001", "A1")
    await billed(engine, "PCN0002", "A2")
    assert await claims_of(client, {"claim": "Claim/PCN0001"}) == ["PCN0001"]
    assert await claims_of(client, {"claim": "PCN0001,Claim/PCN0003"}) == ["PCN0001", "PCN0003"]
    assert await claims_of(client, [("claim", "PCN0001"), ("claim", "PCN0002")]) == []  # repeated: both must hold
    assert await claims_of(client, {"patient": "Patient/A1"}) == ["PCN0001"]
    assert await claims_of(client, {"patient": "A1,A2"}) == ["PCN0001", "PCN0002"]
    assert await claims_of(client, {"patient": "Patient/A9"}) == []
    assert await claims_of(client, {"identifier": "ICN1002"}) == ["PCN0002"]
    assert await claims_of(client, {"identifier": f"{PCCN}|OTH3"}) == ["PCN0003"]
    assert await claims_of(client, {"identifier": "https://other.example|ICN1002"}) == []
    assert await claims_of(client, {"status": "active"}) == ["PCN0001", "PCN0002", "PCN0003"]
    assert await claims_of(client, {"status": "http://hl7.org/fhir/fm-status|cancelled"}) == []
    assert await claims_of(client, {"created": f"ge{instant(between)}"}) == ["PCN0003"]
    assert await claims_of(client, {"created": f"lt{instant(between)}"}) == ["PCN0001", "PCN0002"]
    # billing PCN0001 and PCN0002 named their patients after ``between``: their EOBs changed then
    assert await claims_of(client, {"_lastUpdated": f"lt{instant(between)}"}) == []
    assert await claims_of(client, {"_lastUpdated": f"ge{instant(between)}", "patient": "A2"}) == ["PCN0002"]


async def test_each_payment_reconciliation_search_parameter(client: Any) -> None:
    between = await two_payers(client)
    assert await traces_of(client, {}) == ["EFTS1", "EFTS2"]
    assert await traces_of(client, {"identifier": "EFTS1"}) == ["EFTS1"]
    assert await traces_of(client, {"identifier": f"{TRACE}|EFTS2,EFTS1"}) == ["EFTS1", "EFTS2"]
    assert await traces_of(client, {"identifier": "https://other.example|EFTS1"}) == []
    assert await traces_of(client, {"payment-issuer": "Organization/OTHER1"}) == ["EFTS2"]
    assert await traces_of(client, {"payment-issuer": "ACME01"}) == ["EFTS1"]
    assert await traces_of(client, {"status": "active"}) == ["EFTS1", "EFTS2"]
    assert await traces_of(client, {"status": "cancelled"}) == []
    assert await traces_of(client, {"created": f"ge{instant(between)}"}) == ["EFTS2"]
    assert await traces_of(client, {"_lastUpdated": f"lt{instant(between)}"}) == ["EFTS1"]
    today = datetime.now(UTC).date().isoformat()
    assert await traces_of(client, {"created": f"le{today}"}) == ["EFTS1", "EFTS2"]


async def test_searches_page_by_the_next_link_to_the_end_and_keep_their_parameters(client: Any) -> None:
    many = [paid_claim(f"PG{n:02}", f"ICNPG{n:02}") for n in range(7)]  # one 835: all posted at one instant
    await post_835(client, interchange((header("EFTP1", bpr02(many)), many, [])))
    for n in range(2, 4):
        extra = [paid_claim(f"PX{n}", f"ICNPX{n}")]
        await post_835(client, interchange((header(f"EFTP{n}", bpr02(extra)), extra, []), isa=n))
    for kind, params, expected in ((EOB, "status=active&_count=3", 9), (PR, "_count=2", 3)):
        seen: list[str] = []
        url = f"{BASE}/{kind}?{params}"
        pages = 0
        while url:
            r = await client.get(url, headers=T)
            bundle = assert_fhir(r.json())
            seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
            links = {link["relation"]: link["url"] for link in bundle["link"]}
            assert params.split("&")[0] in links["self"]
            url = links.get("next", "").removeprefix("http://test")
            pages += 1
        assert len(seen) == len(set(seen)) == expected, kind
        assert pages == -(-expected // int(params.rsplit("=", 1)[1])), kind
        newest_first = await search(client, kind, {"_count": "100"})
        assert [r["id"] for r in newest_first] == seen  # the pages, in order, are the whole result


async def test_another_tenants_resources_are_not_found(client: Any) -> None:
    (mine,) = await post_835(client, interchange((header("EFTT1", bpr02([paid_claim()])), [paid_claim()], [])))
    other = {"content-type": "application/edi-x12", "X-Tenant-ID": "org-2"}
    theirs = [copay_claim()]
    await post_835(client, interchange((header("EFTT2", bpr02(theirs)), theirs, [])), headers=other)
    (eob,) = await search(client, EOB)
    org2 = {"X-Tenant-ID": "org-2"}
    for path in (f"{EOB}/{eob['id']}", f"{PR}/{mine['remittance_id']}"):
        r = await client.get(f"{BASE}/{path}", headers=org2)
        assert r.status_code == 404 and outcome_issues(r.json())[0][0] == "not-found"
    assert [e["claim"]["reference"] for e in await search(client, EOB, headers=org2)] == ["Claim/PCN0002"]
    assert [p["paymentIdentifier"]["value"] for p in await search(client, PR, headers=org2)] == ["EFTT2"]
    assert await search(client, EOB, {"claim": "PCN0001"}, headers=org2) == []


@pytest.mark.parametrize(
    ("kind", "query", "status", "expression"),
    [
        (EOB, "_count=-1", 400, ["_count"]),
        (EOB, "created=yesterday", 400, ["created"]),
        (EOB, "claim=Patient/PCN0001", 400, ["claim"]),
        (EOB, "patient=Claim/A1", 400, ["patient"]),
        (EOB, "status=paid", 400, ["status"]),
        (EOB, "identifier=x%7C", 400, ["identifier"]),
        (EOB, "_cursor=zz", 400, ["_cursor"]),
        (PR, "payment-issuer=Patient/ACME01", 400, ["payment-issuer"]),
        (PR, "_lastUpdated=2026-13", 400, ["_lastUpdated"]),
        (EOB, "_format=xml", 406, []),
        (f"{EOB}/nope", "", 404, []),
        (f"{PR}/nope", "", 404, []),
    ],
)
async def test_bad_input_is_an_operation_outcome_naming_the_parameter(
    client: Any, kind: str, query: str, status: int, expression: list[str]
) -> None:
    r = await client.get(f"{BASE}/{kind}?{query}", headers=T)
    assert (r.status_code, r.headers["content-type"]) == (status, "application/fhir+json"), r.text
    assert outcome_issues(r.json())[0][2] == expression


async def test_the_capability_statement_lists_both_resources_and_their_parameters(client: Any) -> None:
    statement = await read(client, "metadata")
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == {EOB, PR}
    for kind, names in (
        (EOB, ["claim", "patient", "created", "status", "identifier"]),
        (PR, ["created", "status", "identifier", "payment-issuer"]),
    ):
        assert [p["name"] for p in resources[kind]["searchParam"]] == [*names, "_count", "_lastUpdated"]
        assert [i["code"] for i in resources[kind]["interaction"]] == ["read", "search-type"]


@pytest.fixture
async def secured(db_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, Any]]:
    """The remittance app with authentication on, and the issuer that signs its tokens."""
    from rcm_cli.issuer import Issuer
    from rcm_shared.auth import AuthSettings

    db = await db_factory("remittance")
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(tmp_path / "auth" / "jwks.json"))
    monkeypatch.setenv("REMITTANCE_DATABASE_URL", db.url)
    monkeypatch.setenv("REMITTANCE_DB_SCHEMA", db.schema)
    monkeypatch.setenv("REMITTANCE_CLAIMS_URL", "")
    issuer = Issuer(tmp_path / "auth", AuthSettings())
    issuer.ensure_key()
    from remittance.config import get_settings
    from remittance.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c, issuer


async def test_a_token_without_remittance_read_is_refused_with_an_operation_outcome(
    secured: tuple[Any, Any],
) -> None:
    client, issuer = secured

    def bearer(*scopes: str) -> dict[str, str]:
        client_id, secret = issuer.create_client("org-1", list(scopes))
        return {"Authorization": f"Bearer {issuer.token(client_id, secret)['access_token']}"}

    r = await client.get(f"{BASE}/metadata")  # open, as FHIR clients expect
    assert r.status_code == 200 and assert_fhir(r.json())["resourceType"] == "CapabilityStatement"
    for path in (EOB, PR, f"{EOB}/x", f"{PR}/x"):
        r = await client.get(f"{BASE}/{path}")
        assert r.status_code == 401 and outcome_issues(r.json())[0][0] == "login"
        r = await client.get(f"{BASE}/{path}", headers=bearer("claims:read", "remittance:post"))
        assert (r.status_code, r.headers["content-type"]) == (403, "application/fhir+json")
        assert outcome_issues(r.json())[0][0] == "forbidden"
    for scopes in (["remittance:read"], ["system/ExplanationOfBenefit.rs", "system/PaymentReconciliation.read"]):
        for path in (EOB, PR):
            r = await client.get(f"{BASE}/{path}", headers=bearer(*scopes))
            assert r.status_code == 200 and assert_fhir(r.json())["type"] == "searchset", (scopes, r.text)
