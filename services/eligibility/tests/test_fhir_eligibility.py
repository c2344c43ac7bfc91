"""The FHIR R4 API of eligibility (eligibility/api/fhir.py): a CoverageEligibilityRequest checked through the REST
check's use case and answered with the CoverageEligibilityResponse of its normalized 271; reads, searches and
paging, tenancy, scopes (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from builders import T
from builders.fhir import assert_fhir, outcome_issues
from builders.x271 import request_body
from eligibility_fhir_steps import (
    FHIR,
    answered,
    bundle_request,
    changed,
    contained_request,
    items,
    parameters,
    post,
)
from rcm_shared.x12.sets.x270 import read_270
from sqlalchemy import func, select

BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
COPAY_TYPE = "http://terminology.hl7.org/CodeSystem/coverage-copay-type"
REMAINING = "https://rcm.example.org/fhir/StructureDefinition/benefit-remaining"
UNITS = {"IND": "individual", "FAM": "family"}


async def stored(client: Any, check_id: str) -> Any:
    from eligibility.models import eligibility_check

    async with client.app.state.engine.connect() as conn:
        return (await conn.execute(select(eligibility_check).where(eligibility_check.c.id == check_id))).one()


async def count_checks(client: Any) -> int:
    from eligibility.models import eligibility_check

    async with client.app.state.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(eligibility_check))).scalar_one())


def _money(value: dict[str, Any] | None) -> Decimal | None:
    return None if value is None else Decimal(str(value["value"]))


def figures(response: dict[str, Any]) -> dict[tuple[str, str, str, str], Any]:
    """Per (service type, network, unit, benefit type) of the response, its figures."""
    found = {}
    for item in response["insurance"][0].get("item", []):
        key = (
            item["category"]["coding"][0]["code"],
            item.get("network", {}).get("coding", [{}])[0].get("code", ""),
            item.get("unit", {}).get("coding", [{}])[0].get("code", ""),
        )
        for b in item.get("benefit", []):
            left = next((e["valueMoney"] for e in b.get("extension", []) if e["url"] == REMAINING), None)
            money = (_money(b.get("allowedMoney")), _money(b.get("usedMoney")), _money(left))
            found[(*key, b["type"]["coding"][0]["code"])] = b.get("allowedUnsignedInt", money)
    return found


def expected(normalized: dict[str, Any]) -> dict[tuple[str, str, str, str], Any]:
    """The same figures as the normalized 271 holds them: limit allowed, met (else limit - remaining) used."""
    found: dict[tuple[str, str, str, str], Any] = {}
    for b in normalized["benefits"]:
        key = (b["service_type"], b["network"], UNITS.get(b["coverage_level"], ""))
        for kind, amounts in (("deductible", b["deductible"]), ("maxoutofpocket", b["out_of_pocket"])):
            limit, met, left = (
                None if amounts[k] is None else Decimal(amounts[k]) for k in ("limit", "met", "remaining")
            )
            if limit is None and met is None and left is None:
                continue
            used = met if met is not None else (limit - left if limit is not None and left is not None else None)
            found[(*key, kind)] = (limit, used, left)
        if b["copay"] is not None:
            found[(*key, "copay")] = (Decimal(b["copay"]), None, None)
        if b["coinsurance"] is not None:
            found[(*key, "copay-percent")] = int(Decimal(b["coinsurance"]) * 100)
    return found


async def test_a_contained_request_is_the_rest_check_and_its_response_the_normalized_271(client: Any) -> None:
    r = await post(client, contained_request())
    assert r.status_code == 201, r.text
    created = assert_fhir(r.json())  # a create answers with the resource created: the request as checked
    check_id = created["id"]
    assert created["resourceType"] == "CoverageEligibilityRequest"
    here = f"http://test/fhir/R4/CoverageEligibilityRequest/{check_id}"
    assert r.headers["location"] == here and r.headers["content-location"] == here
    assert r.headers["content-type"] == "application/fhir+json"
    read = await client.get(f"/fhir/R4/CoverageEligibilityResponse/{check_id}", headers=T)
    assert read.status_code == 200, read.text
    response = assert_fhir(read.json())  # its answer: the response of the same id
    rest = (await client.get(f"/v1/eligibility/checks/{check_id}", headers=T)).json()
    normalized = rest["result"]
    assert rest["status"] == "active" and rest["service_types"] == ["30", "98"]
    # the same 270 the REST check sends for the same question (another tenant: no answer reused)
    same = request_body()
    same["subscriber"]["sex"] = "F"
    twin = (await client.post("/v1/eligibility/checks", json=same, headers={"X-Tenant-ID": "org-2"})).json()
    (ours,), (theirs,) = [read_270((await stored(client, i)).x12_270.encode()) for i in (check_id, twin["id"])]
    assert dataclasses.replace(ours, trace_number="") == dataclasses.replace(theirs, trace_number="")
    assert ours.subscriber.member_id == "W123456789" and ours.service_types == ["30", "98"]

    assert (response["status"], response["outcome"], response["purpose"]) == ("active", "complete", ["benefits"])
    assert response["request"] == {"reference": f"CoverageEligibilityRequest/{check_id}"}
    assert response["disposition"] == "Coverage active: GOLD PLAN"
    (insurance,) = response["insurance"]
    assert insurance["inforce"] is True
    assert insurance["benefitPeriod"] == {"start": normalized["coverage_start"], "end": normalized["coverage_end"]}
    contained = {c["id"]: c for c in response["contained"]}
    assert contained["insurer"]["identifier"][0]["value"] == "ACME01"
    assert contained["coverage"]["subscriberId"] == "W123456789"
    assert contained["patient"]["name"] == [{"family": "Doe", "given": ["Jane"]}]
    got, want = figures(response), expected(normalized)
    assert got == want
    assert got[("30", "in", "individual", "deductible")] == (Decimal(1500), Decimal(1000), Decimal(500))
    assert {k[3] for k in got} == {"deductible", "maxoutofpocket", "copay", "copay-percent"}
    general = next(i for i in insurance["item"] if i["category"]["coding"][0]["code"] == "30" and "network" in i)
    assert general["term"]["coding"][0]["code"] == "annual" and general["authorizationRequired"] is True
    types = {b["type"]["coding"][0]["system"] for b in general["benefit"]}
    assert types == {BENEFIT_TYPE, COPAY_TYPE}

    submitted = (await post(client, contained_request(), "/$submit")).json()  # the recent answer, reused
    assert submitted == response  # rebuilt the same from the check
    asked = assert_fhir((await client.get(f"/fhir/R4/CoverageEligibilityRequest/{check_id}", headers=T)).json())
    assert asked == created
    assert asked["servicedDate"] == "2026-11-30" and asked["provider"] == {"reference": "#provider"}
    assert sorted(i["category"]["coding"][0]["code"] for i in asked["item"]) == ["30", "98"]
    again = await post(client, contained_request())  # the recent answer reused, as the REST check does
    assert again.status_code == 200 and again.json() == created and "location" not in again.headers
    assert again.headers["content-location"] == here
    assert client.primary.calls == 2  # this check and its REST twin


async def test_a_bundle_request_resolves_entries_by_full_url_and_keeps_the_patient(client: Any) -> None:
    r = await post(client, bundle_request("W200", "ACC-7", dependent=True))
    assert r.status_code == 201, r.text
    assert assert_fhir(r.json())["patient"] == {"reference": "Patient/ACC-7"}
    response = assert_fhir(
        (await client.get(f"/fhir/R4/CoverageEligibilityResponse/{r.json()['id']}", headers=T)).json()
    )
    assert response["patient"] == {"reference": "Patient/ACC-7"}
    contained = {c["id"]: c for c in response["contained"]}
    assert contained["coverage"]["beneficiary"] == {"reference": "Patient/ACC-7"}
    assert contained["coverage"]["relationship"]["coding"][0]["code"] == "child"
    assert contained["subscriber"]["name"] == [{"family": "Doe", "given": ["Jane"]}]
    (inquiry,) = read_270((await stored(client, response["id"])).x12_270.encode())
    assert (inquiry.subscriber.last, inquiry.subscriber.member_id) == ("DOE", "W200")
    assert (inquiry.dependent.first, str(inquiry.dependent.birth_date)) == ("JIM", "2015-06-01")
    assert inquiry.provider_is_person and inquiry.provider_first == "VERA"
    asked = assert_fhir((await client.get(f"/fhir/R4/CoverageEligibilityRequest/{response['id']}", headers=T)).json())
    assert asked["patient"] == {"reference": "Patient/ACC-7"}
    assert {c["resourceType"] for c in asked["contained"]} == {"Patient", "Organization", "Coverage", "Practitioner"}


async def test_submit_takes_the_request_a_bundle_or_parameters(client: Any) -> None:
    r = await post(client, parameters(contained_request("W301")), "/$submit")
    assert r.status_code == 200 and "location" not in r.headers, r.text
    assert assert_fhir(r.json())["resourceType"] == "CoverageEligibilityResponse"
    assert r.headers["content-location"] == f"http://test/fhir/R4/CoverageEligibilityResponse/{r.json()['id']}"
    r = await post(client, bundle_request("W302", "ACC-2"), "/$submit")
    assert r.status_code == 200 and r.json()["patient"] == {"reference": "Patient/ACC-2"}
    r = await post(client, parameters(bundle_request("W303", "ACC-3")), "/$submit")
    assert r.status_code == 200 and r.json()["patient"] == {"reference": "Patient/ACC-3"}
    validation = changed(contained_request("W304"), ["purpose"], ["validation"])
    r = await post(client, validation, "/$submit")
    assert r.status_code == 200 and assert_fhir(r.json())["purpose"] == ["validation"]
    assert client.primary.calls == 4


async def test_rejected_and_inactive_answers(client: Any) -> None:
    response = assert_fhir(await answered(client, contained_request("BAD1")))
    normalized = (await client.get(f"/v1/eligibility/checks/{response['id']}", headers=T)).json()["result"]
    assert response["outcome"] == "error" and "inforce" not in response["insurance"][0]
    (error,) = response["error"]
    assert error["code"]["coding"][0] == {"system": "https://codesystem.x12.org/005010/901", "code": "72"}
    assert normalized["errors"][0]["code"] == "72" and error["code"]["text"] == normalized["errors"][0]["next_step"]
    assert "AAA 72" in response["disposition"]
    inactive = assert_fhir(await answered(client, contained_request("OLD1")))
    assert inactive["outcome"] == "complete" and inactive["insurance"][0]["inforce"] is False


@pytest.fixture
async def sandboxed(client: Any) -> Any:
    """The client with the sandbox's simulated payers behind its clearinghouse (plan book figures, family amounts,
    AAA rejections), reached over HTTP as the sandbox eligibility tests reach them."""
    from eligibility.adapters.clearinghouses import Failover, HttpAdapter
    from sandbox.main import create_app as sandbox_app

    sandbox = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app()), base_url="http://sandbox")

    async def forward(request: web.Request) -> web.Response:
        answer = await sandbox.post(request.path, content=await request.read(), headers=dict(request.headers))
        return web.Response(status=answer.status_code, body=answer.content, content_type="application/edi-x12")

    front = web.Application()
    front.router.add_post("/x12/270", forward)
    fakes = client.app.state.failover
    async with sandbox, TestServer(front) as server:
        client.app.state.failover = Failover([HttpAdapter("sandbox", str(server.make_url("/x12/270")))])
        yield client
        await client.app.state.failover.aclose()
        client.app.state.failover = fakes


async def test_the_sandbox_payers_figures_and_rejections_map_one_for_one(sandboxed: Any) -> None:
    response = assert_fhir(await answered(sandboxed, contained_request("W123456789")))
    rest = (await sandboxed.get(f"/v1/eligibility/checks/{response['id']}", headers=T)).json()
    assert rest["source"] == "sandbox" and response["disposition"] == f"Coverage active: {rest['result']['plan']}"
    got = figures(response)
    assert got == expected(rest["result"])
    assert ("30", "in", "family", "deductible") in got and ("30", "in", "individual", "maxoutofpocket") in got
    unknown_payer = changed(contained_request("W123456789"), ["contained", 2, "identifier", 0, "value"], "ZZZ")
    rejected = assert_fhir(await answered(sandboxed, unknown_payer))
    assert rejected["outcome"] == "error" and rejected["error"][0]["code"]["coding"][0]["code"] == "79"


CONTAINED = contained_request("W400")
REQ = "CoverageEligibilityRequest"
BAD = [
    (changed(CONTAINED, ["insurance"], ...), 422, f"{REQ}.insurance"),
    (changed(CONTAINED, ["insurance"], []), 422, f"{REQ}.insurance"),
    (changed(CONTAINED, ["contained", 2, "identifier"], []), 422, f"{REQ}.insurer"),  # unknown payer
    (changed(CONTAINED, ["purpose"], ["benefits", "discovery"]), 422, f"{REQ}.purpose[1]"),
    (changed(CONTAINED, ["contained", 0, "birthDate"], "1980-02-30"), 400, f"{REQ}.contained[0].birthDate"),
    (changed(CONTAINED, ["patient"], {"reference": "#nobody"}), 400, f"{REQ}.patient.reference"),
    (changed(CONTAINED, ["patient"], {"reference": "#payer"}), 422, f"{REQ}.patient"),
    (changed(CONTAINED, ["patient"], {"identifier": {"system": "urn:x", "value": "1"}}), 422, f"{REQ}.patient"),
    (changed(CONTAINED, ["contained", 1, "subscriberId"], ...), 422, f"{REQ}.contained[1].subscriberId"),
    (changed(CONTAINED, ["contained", 1, "subscriberId"], "W*1"), 422, f"{REQ}.contained[1].subscriberId"),
    (changed(CONTAINED, ["contained", 0, "name", 0, "given"], ...), 422, f"{REQ}.contained[0].name[0].given"),
    (changed(CONTAINED, ["contained", 0, "birthDate"], "2999-01-01"), 422, f"{REQ}.contained[0].birthDate"),
    (
        changed(CONTAINED, ["contained", 3, "identifier", 0, "value"], "1234567890"),
        422,
        f"{REQ}.contained[3].identifier[0].value",
    ),  # fails the NPI check digit
    (
        changed(CONTAINED, ["item"], [{"category": {"coding": [{"system": "urn:x", "code": "30"}]}}]),
        422,
        f"{REQ}.item[0].category",
    ),
    (changed(CONTAINED, ["item"], items("300")), 422, f"{REQ}.item[0].category.coding[0].code"),
    (changed(CONTAINED, ["item"], [{"productOrService": {"text": "99213"}}]), 422, f"{REQ}.item[0].productOrService"),
    (
        changed(CONTAINED, ["servicedDate"], ...) | {"servicedPeriod": {"start": "2026-11-30", "end": "2026-11-01"}},
        422,
        f"{REQ}.servicedPeriod",
    ),
    (changed(CONTAINED, ["status"], "draft"), 422, f"{REQ}.status"),
    (changed(bundle_request("W401", "A1"), ["type"], "batch"), 400, "Bundle.type"),
    (
        changed(bundle_request("W401", "A1"), ["entry", 2, "fullUrl"], "urn:uuid:other"),
        400,
        "Bundle.entry[0].resource.insurance[0].coverage.reference",
    ),
    ({"resourceType": "Patient"}, 400, "resourceType"),
]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no SQL involved: one backend is enough
async def test_bad_requests_are_refused_naming_the_element_and_nothing_is_asked(client: Any) -> None:
    for body, status, expression in BAD:
        r = await post(client, body)
        assert r.status_code == status, (expression, r.text)
        issues = outcome_issues(r.json())
        assert expression in [e for _, _, where in issues for e in where], (expression, issues)
    r = await post(client, {"resourceType": "Parameters", "parameter": []}, "/$submit")
    assert r.status_code == 400 and outcome_issues(r.json())[0][2] == ["Parameters.parameter"]
    # an operation's parameter is never dropped unread: one $submit does not take is named (rcm_shared.fhir.body)
    extra = parameters(CONTAINED)
    extra["parameter"].append({"name": "timeout", "valueInteger": 5})
    r = await post(client, extra, "/$submit")
    assert r.status_code == 400, r.text
    ((code, _, where),) = outcome_issues(r.json())
    assert (code, where) == ("not-supported", ["Parameters.parameter[1].name"])
    r = await client.post("/fhir/R4/CoverageEligibilityRequest", content=b"{not json", headers=FHIR)
    assert r.status_code == 400 and outcome_issues(r.json())[0][0] == "structure"
    assert (client.primary.calls, await count_checks(client)) == (0, 0)


async def test_metadata_lists_both_resources_their_searches_and_submit(client: Any) -> None:
    statement = assert_fhir((await client.get("/fhir/R4/metadata")).json())
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == {"CoverageEligibilityRequest", "CoverageEligibilityResponse"}
    request, response = resources["CoverageEligibilityRequest"], resources["CoverageEligibilityResponse"]
    assert [i["code"] for i in request["interaction"]] == ["create", "read", "search-type"]
    assert [p["name"] for p in request["searchParam"]] == ["patient", "created", "status", "_count", "_lastUpdated"]
    assert [p["name"] for p in response["searchParam"]][:4] == ["patient", "created", "status", "request"]
    assert request["operation"][0]["definition"].endswith("/OperationDefinition/CoverageEligibilityRequest-submit")


async def _pages(client: Any, url: str, headers: dict[str, str] = T) -> tuple[list[str], int]:
    """Every id a search finds, following its next links to the end, and the number of pages."""
    seen: list[str] = []
    pages = 0
    while url:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        bundle = assert_fhir(r.json())
        seen += [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "").removeprefix(
            "http://test"
        )
        pages += 1
    return seen, pages


async def _ids(client: Any, kind: str, query: str, headers: dict[str, str] = T) -> list[str]:
    return (await _pages(client, f"/fhir/R4/{kind}?{query}", headers))[0]


async def test_searches_page_by_cursor_and_filter_by_each_parameter(client: Any) -> None:
    made = [assert_fhir((await post(client, contained_request(f"W5{n}"))).json()) for n in range(3)]
    made += [assert_fhir((await post(client, bundle_request(f"W6{n}", "ACC-9"))).json()) for n in range(2)]
    made.append((await client.post("/v1/eligibility/checks", json=request_body("W70"), headers=T)).json())
    newest_first = [m["id"] for m in reversed(made)]
    for kind in ("CoverageEligibilityRequest", "CoverageEligibilityResponse"):
        seen, pages = await _pages(client, f"/fhir/R4/{kind}?_count=2")
        assert seen == newest_first and pages == 3  # every check once, newest first
        assert await _ids(client, kind, "patient=Patient/ACC-9") == newest_first[1:3]
        assert await _ids(client, kind, "patient=ACC-9,ACC-1&_count=1") == newest_first[1:3]
        assert await _ids(client, kind, "patient=ACC-1") == []
        assert await _ids(client, kind, "status=active") == newest_first
        assert await _ids(client, kind, "status=http://hl7.org/fhir/fm-status|cancelled") == []
    third = (await client.get(f"/fhir/R4/CoverageEligibilityResponse/{made[2]['id']}", headers=T)).json()
    moment = third["meta"]["lastUpdated"]
    assert third["created"] == moment  # a check never changes: made and last updated at once
    for name in ("created", "_lastUpdated"):
        query = f"{name}=ge{moment}"
        assert await _ids(client, "CoverageEligibilityResponse", query) == newest_first[:4], name
        query = f"{name}=lt{moment}"
        assert await _ids(client, "CoverageEligibilityRequest", query) == newest_first[4:], name
    answered = f"request=CoverageEligibilityRequest/{made[1]['id']}"
    assert await _ids(client, "CoverageEligibilityResponse", answered) == [made[1]["id"]]
    r = await client.get("/fhir/R4/CoverageEligibilityRequest?request=x", headers={**T, "Prefer": "handling=strict"})
    assert r.status_code == 400 and outcome_issues(r.json())[0][2] == ["request"]  # the responses' parameter only
    for bad, where in (("patient=Claim/1", "patient"), ("created=yesterday", "created"), ("_count=-1", "_count")):
        r = await client.get(f"/fhir/R4/CoverageEligibilityResponse?{bad}", headers=T)
        assert r.status_code == 400 and outcome_issues(r.json())[0][2] == [where], bad


async def test_another_tenants_checks_are_not_found(client: Any) -> None:
    check_id = (await post(client, contained_request())).json()["id"]
    other = {"X-Tenant-ID": "org-2"}
    for kind in ("CoverageEligibilityRequest", "CoverageEligibilityResponse"):
        r = await client.get(f"/fhir/R4/{kind}/{check_id}", headers=other)
        assert r.status_code == 404 and outcome_issues(r.json())[0][0] == "not-found"
        assert await _ids(client, kind, "", other) == []
        assert await _ids(client, kind, "") == [check_id]
    r = await client.get("/fhir/R4/CoverageEligibilityResponse/nope", headers=T)
    assert r.status_code == 404 and outcome_issues(r.json())[0][0] == "not-found"


@pytest.fixture
def tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Authentication on, and a token of org-1 for the scopes asked (requested before the client)."""
    from rcm_cli.issuer import Issuer
    from rcm_shared.auth import AuthSettings

    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(tmp_path / "auth" / "jwks.json"))
    issuer = Issuer(tmp_path / "auth", AuthSettings())
    issuer.ensure_key()

    def token(*scopes: str) -> dict[str, str]:
        client_id, secret = issuer.create_client("org-1", list(scopes))
        return {"Authorization": f"Bearer {issuer.token(client_id, secret)['access_token']}"}

    return token


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no SQL involved: one backend is enough
async def test_the_fhir_routes_require_the_services_scopes(tokens: Any, client: Any) -> None:
    reader, checker = tokens("eligibility:read"), tokens("eligibility:check")
    assert (await client.get("/fhir/R4/metadata")).status_code == 200  # open: read before holding a token
    r = await client.get("/fhir/R4/CoverageEligibilityResponse")
    assert r.status_code == 401 and outcome_issues(r.json())[0][0] == "login"
    for path in ("", "/$submit"):
        r = await client.post(f"/fhir/R4/CoverageEligibilityRequest{path}", json=contained_request(), headers=reader)
        assert r.status_code == 403 and outcome_issues(r.json())[0][0] == "forbidden", path
    r = await client.post("/fhir/R4/CoverageEligibilityRequest", json=contained_request(), headers=checker)
    assert r.status_code == 201, r.text
    check_id = r.json()["id"]
    r = await client.get(f"/fhir/R4/CoverageEligibilityResponse/{check_id}", headers=checker)
    assert r.status_code == 403 and outcome_issues(r.json())[0][0] == "forbidden"
    r = await client.get(f"/fhir/R4/CoverageEligibilityResponse/{check_id}", headers=reader)
    assert r.status_code == 200 and assert_fhir(r.json())["id"] == check_id
