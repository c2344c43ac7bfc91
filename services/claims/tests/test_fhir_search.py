"""FHIR searches of the claims service (claims.api.fhir): Claim, ClaimResponse and Patient by each parameter,
paged newest first by keyset, each organization seeing its own; and a token without the scope refused.

Through the API, on SQLite and PostgreSQL (the scope check on SQLite: it is the same code on both)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from builders import T
from builders.encounters import TODAY, days_ago
from builders.fhir import outcome_issues
from builders.hl7 import FACILITY, adt, dft, ft1
from builders.hl7 import MRN as HL7_MRN
from claims_fhir_steps import (
    ACCOUNT,
    CLAIM,
    CLAIM_ID,
    CPT,
    EHR,
    MRN,
    code,
    enter_clinic,
    fhir_claim,
    read,
    submit_claim,
)
from claims_steps import claims_client  # noqa: F401 - the client fixture
from practice_steps import SINCE
from rcm_cli.issuer import Issuer
from rcm_shared.auth import AuthSettings
from rcm_shared.testing import app_client, migrate

ORG2 = {"X-Tenant-ID": "org-2"}
ROE = {
    "contained.0.name": [{"family": "Roe", "given": ["John"]}],
    "contained.0.gender": "male",
    "contained.0.identifier": [{"system": MRN, "value": "MRN-2002"}],
    "contained.1.subscriberId": "W999",
}


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


async def _three_claims(client: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Jane Doe's clean claim (a), John Roe's held by the scrubber (b), Jane's of another day (c); and a claim of
    org-2's that org-1 never sees."""
    await enter_clinic(client)
    a = await submit_claim(client, CLAIM)
    bad = {"item.1.productOrService": code(CPT, "8303"), "identifier": [{"system": EHR, "value": "V-B"}]}
    b = await submit_claim(client, fhir_claim(**ROE, **bad))
    later = {f"item.{n}.servicedDate": days_ago(3) for n in (0, 1)}
    c = await submit_claim(client, fhir_claim(identifier=[{"system": EHR, "value": "V-C"}], **later))
    await submit_claim(client, CLAIM, headers=ORG2)
    return a, b, c


async def test_claims_by_patient_identifier_created_and_status(client: Any) -> None:
    a, b, c = await _three_claims(client)
    assert ids(await read(client, "Claim")) == [c["id"], b["id"], a["id"]]  # newest first
    jane = a["patient"]["reference"]
    assert jane == c["patient"]["reference"] != b["patient"]["reference"]
    assert ids(await read(client, f"Claim?patient={jane}")) == [c["id"], a["id"]]
    assert ids(await read(client, f"Claim?patient={jane.split('/')[1]}")) == [c["id"], a["id"]]
    assert ids(await read(client, f"Claim?identifier={EHR}|V-B")) == [b["id"]]
    assert ids(await read(client, "Claim?identifier=V-1001")) == [a["id"]]
    assert ids(await read(client, f"Claim?identifier={CLAIM_ID}|{c['id']}")) == [c["id"]]
    assert ids(await read(client, f"Claim?identifier={c['id']}")) == [c["id"]]
    assert ids(await read(client, f"Claim?identifier={EHR}|{c['id']}")) == []
    today = datetime.now(UTC).date()
    assert len(ids(await read(client, f"Claim?created=ge{today - timedelta(days=1)}"))) == 3
    assert ids(await read(client, "Claim?created=lt2001-01-01")) == []
    assert len(ids(await read(client, "Claim?status=active"))) == 3
    assert ids(await read(client, "Claim?status=cancelled")) == []
    r = await client.post(f"/v1/claims/{a['id']}/void", headers=T)  # never sent: void at once
    assert r.status_code == 200, r.text
    assert ids(await read(client, "Claim?status=cancelled")) == [a["id"]]
    assert ids(await read(client, "Claim?status=active,cancelled")) == [c["id"], b["id"], a["id"]]
    voided = await read(client, f"Claim/{a['id']}")
    assert voided["status"] == "cancelled" and voided["meta"]["tag"][0]["code"] == "void"
    assert ids(await read(client, "Claim?_lastUpdated=ge" + voided["meta"]["lastUpdated"])) == [a["id"]]
    r = await client.get("/fhir/R4/Claim?status=paid", headers=T)
    assert r.status_code == 400 and outcome_issues(r.json())[0][2] == ["status"]


async def test_claim_responses_by_request_patient_outcome_and_created(client: Any) -> None:
    a, b, c = await _three_claims(client)
    assert ids(await read(client, f"ClaimResponse?request=Claim/{b['id']}")) == [b["id"]]
    assert ids(await read(client, "ClaimResponse?outcome=error")) == [b["id"]]
    assert ids(await read(client, "ClaimResponse?outcome=queued")) == [c["id"], a["id"]]
    assert ids(await read(client, "ClaimResponse?outcome=complete,partial")) == []
    assert ids(await read(client, f"ClaimResponse?patient={b['patient']['reference']}")) == [b["id"]]
    assert len(ids(await read(client, f"ClaimResponse?created=ge{days_ago(1)}"))) == 3
    found = await read(client, f"ClaimResponse?outcome=queued&request=Claim/{a['id']}")
    assert found["entry"][0]["resource"] == await read(client, f"ClaimResponse/{a['id']}")
    assert found["entry"][0]["fullUrl"] == f"http://test/fhir/R4/ClaimResponse/{a['id']}"


async def test_every_search_pages_to_the_end_with_no_entry_twice(client: Any) -> None:
    made = list(await _three_claims(client))
    made.append(await submit_claim(client, fhir_claim(identifier=[{"system": EHR, "value": "V-D"}], **ROE)))
    for kind in ("Claim", "ClaimResponse"):
        seen: list[str] = []
        url = f"/fhir/R4/{kind}?_count=1&patient={made[0]['patient']['reference']}"
        pages = 0
        while url:
            bundle = await read(client, url.removeprefix("http://test/fhir/R4/").removeprefix("/fhir/R4/"))
            seen += ids(bundle)
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
            pages += 1
        assert seen == [made[2]["id"], made[0]["id"]] and pages == 2
    seen = []
    url = "Claim?_count=3"
    while url:
        bundle = await read(client, url)
        seen += ids(bundle)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
        url = url.removeprefix("http://test/fhir/R4/")
    assert sorted(seen) == sorted(m["id"] for m in made) and len(set(seen)) == 4


async def test_an_organization_reads_and_finds_its_own_claims_and_patients_only(client: Any) -> None:
    a, _b, _c = await _three_claims(client)
    theirs = (await read(client, "Claim", headers=ORG2))["entry"][0]["resource"]
    assert a["id"] not in ids(await read(client, "Claim", headers=ORG2))
    for path in (
        f"Claim/{theirs['id']}",
        f"ClaimResponse/{theirs['id']}",
        f"Patient/{theirs['contained'][0]['identifier'][0]['value']}",
    ):
        r = await client.get(f"/fhir/R4/{path}", headers=T)
        assert r.status_code == 404 and outcome_issues(r.json())[0][0] == "not-found", path
    assert theirs["id"] not in ids(await read(client, "Claim?identifier=V-1001"))
    jane = a["patient"]["reference"].split("/")[1]
    assert ids(await read(client, f"Patient?identifier={MRN}|MRN-1001")) == [jane]
    (their_jane,) = ids(await read(client, f"Patient?identifier={MRN}|MRN-1001", headers=ORG2))
    assert their_jane != jane and ids(await read(client, f"Patient?identifier={jane}", headers=ORG2)) == []


async def test_patients_read_and_found_by_account_or_mrn(client: Any) -> None:
    a, b, c = await _three_claims(client)
    jane = a["patient"]["reference"].split("/")[1]
    roe = b["patient"]["reference"].split("/")[1]
    patient = await read(client, f"Patient/{jane}")
    assert patient["name"] == [{"family": "Doe", "given": ["Jane"]}] and patient["birthDate"] == "1980-02-29"
    assert {(i["system"], i["value"]) for i in patient["identifier"]} == {(ACCOUNT, jane), (MRN, "MRN-1001")}
    assert ids(await read(client, f"Patient?identifier={MRN}|MRN-2002")) == [roe]
    assert ids(await read(client, "Patient?identifier=MRN-1001")) == [jane]
    assert ids(await read(client, f"Patient?identifier={ACCOUNT}|{roe}")) == [roe]
    assert ids(await read(client, f"Patient?identifier={roe}")) == [roe]
    assert ids(await read(client, f"Patient?identifier={ACCOUNT}|MRN-1001")) == []
    assert ids(await read(client, "Patient")) == [roe, jane]  # newest account first: Roe's opened with b
    first = await read(client, "Patient?_count=1")
    assert ids(first) == [roe]
    after = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert ids(await read(client, after.removeprefix("http://test/fhir/R4/"))) == [jane]
    assert ids(await read(client, "Patient?_lastUpdated=lt2001")) == []
    assert patient["meta"]["lastUpdated"] > (await read(client, f"Patient/{roe}"))["meta"]["lastUpdated"]
    assert ids(await read(client, f"Patient?_lastUpdated=ge{patient['meta']['lastUpdated']}")) == [jane]  # c's
    r = await client.get("/fhir/R4/Patient/ANOBODY", headers=T)
    assert r.status_code == 404 and outcome_issues(r.json())[0][0] == "not-found"
    assert c


async def test_a_comma_is_an_or_and_a_repeated_parameter_an_and(client: Any) -> None:
    a, b, c = await _three_claims(client)
    jane, roe = a["patient"]["reference"], b["patient"]["reference"]
    assert ids(await read(client, f"Claim?identifier={EHR}|V-1001,{EHR}|V-B")) == [b["id"], a["id"]]
    assert ids(await read(client, f"Claim?identifier={EHR}|V-1001&identifier={CLAIM_ID}|{a['id']}")) == [a["id"]]
    assert ids(await read(client, f"Claim?identifier={EHR}|V-1001&identifier={EHR}|V-B")) == []
    assert ids(await read(client, f"Claim?patient={jane},{roe}")) == [c["id"], b["id"], a["id"]]
    assert ids(await read(client, f"Claim?patient={jane}&patient={jane.split('/')[1]}")) == [c["id"], a["id"]]
    assert ids(await read(client, f"Claim?patient={jane}&patient={roe}")) == []
    assert ids(await read(client, "Claim?status=active&status=cancelled")) == []
    assert ids(await read(client, f"ClaimResponse?request=Claim/{a['id']},{c['id']}")) == [c["id"], a["id"]]
    assert ids(await read(client, f"ClaimResponse?request={a['id']}&request={c['id']}")) == []
    assert ids(await read(client, f"ClaimResponse?patient={jane},{roe}&outcome=error")) == [b["id"]]
    assert ids(await read(client, "ClaimResponse?outcome=queued,error")) == [c["id"], b["id"], a["id"]]
    assert ids(await read(client, "ClaimResponse?outcome=queued&outcome=error")) == []
    janes, roes = jane.split("/")[1], roe.split("/")[1]
    assert sorted(ids(await read(client, f"Patient?identifier={MRN}|MRN-1001,{MRN}|MRN-2002"))) == sorted([janes, roes])
    assert ids(await read(client, f"Patient?identifier=MRN-1001&identifier={ACCOUNT}|{janes}")) == [janes]
    assert ids(await read(client, "Patient?identifier=MRN-1001&identifier=MRN-2002")) == []
    r = await client.get("/fhir/R4/Claim?patient=Claim/C1,Patient/P1", headers=T)
    assert r.status_code == 400 and outcome_issues(r.json())[0][2] == ["patient"]
    r = await client.get("/fhir/R4/ClaimResponse?outcome=queued,paid", headers=T)
    assert r.status_code == 400 and outcome_issues(r.json())[0][2] == ["outcome"]


async def test_a_hundred_identifier_tokens_are_searched_and_more_are_a_400(client: Any) -> None:
    # one term per token: SQLite refuses an expression of thousands ("Expression tree is too large")
    a, _b, _c = await _three_claims(client)
    jane = a["patient"]["reference"].split("/")[1]
    others = [f"{EHR}|V-X{n}" for n in range(99)]
    assert ids(await read(client, "Claim?identifier=" + ",".join([*others, f"{EHR}|V-1001"]))) == [a["id"]]
    assert ids(await read(client, "Patient?identifier=" + ",".join([*others, f"{MRN}|MRN-1001"]))) == [jane]
    for kind in ("Claim", "Patient"):
        r = await client.get(f"/fhir/R4/{kind}?identifier=" + ",".join(f"urn:x|{n}" for n in range(1200)), headers=T)
        assert r.status_code == 400 and outcome_issues(r.json())[0][2] == ["identifier"], r.text


async def test_a_claim_entered_while_a_client_pages_patients_moves_no_patient(client: Any) -> None:
    await enter_clinic(client)
    poe = {
        **ROE,
        "contained.0.name": [{"family": "Poe", "given": ["Ann"]}],
        "contained.0.identifier": [{"system": MRN, "value": "MRN-3003"}],
    }
    visits = {}  # account -> the claim changes that bill that patient
    for n, changes in enumerate(({}, ROE, poe)):
        made = await submit_claim(client, fhir_claim(identifier=[{"system": EHR, "value": f"V-{n}"}], **changes))
        visits[made["patient"]["reference"].split("/")[1]] = changes
    assert len(visits) == 3
    seen: list[str] = []
    url = "Patient?_count=1"
    while url:
        bundle = await read(client, url)
        seen += ids(bundle)
        unseen = sorted(set(visits) - set(seen))
        if unseen:  # a new claim for a patient not yet seen: the newest claim of all, between two pages
            later = {f"item.{i}.servicedDate": days_ago(len(seen) + 3) for i in (0, 1)}
            value = f"V-NEW-{len(seen)}"
            changes = {**visits[unseen[0]], **later, "identifier": [{"system": EHR, "value": value}]}
            await submit_claim(client, fhir_claim(**changes))
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
        url = url.removeprefix("http://test/fhir/R4/")
    assert sorted(seen) == sorted(visits)  # every patient once


@pytest.fixture
def hl7_senders(monkeypatch: pytest.MonkeyPatch) -> None:
    """The practice's interface engine sends for org-1 (set before the app starts: list it before `client`)."""
    monkeypatch.setenv("CLAIMS_HL7_SENDERS", json.dumps({FACILITY: "org-1"}))


async def test_a_patient_billed_from_hl7_visits_is_found_by_the_registrations_mrn(
    hl7_senders: None, client: Any
) -> None:
    from claims.adapters.scrub_resources import load_resources
    from claims.config import get_settings
    from claims.models import bus
    from claims.use_cases.hl7_messages import Handler
    from rcm_shared.unit import Units

    settings = get_settings()
    units = Units.of_service(settings, bus, client.app.state.engine)
    handler = Handler(units, settings, load_resources(settings).context)
    await enter_clinic(client)
    price = {"code": "99214", "description": "visit", "price": "200.00", "effective_from": SINCE.isoformat()}
    assert (await client.post("/v1/charge-master", json=price, headers=T)).status_code == 201
    for text in (adt("A1"), dft("D1", ft1(1, TODAY - timedelta(days=10), "99214"))):
        answer = await handler.handle(text.encode())
        assert answer is not None and answer.code == "AA", answer
    (encounter,) = (await client.get("/v1/encounters", headers=T)).json()
    released = (await client.post(f"/v1/encounters/{encounter['id']}:release", headers=T)).json()
    account = (await client.get(f"/v1/claims/{released['claim_id']}", headers=T)).json()["patient_account"]
    patient = await read(client, f"Patient/{account}")
    assert (MRN, HL7_MRN) in {(i["system"], i["value"]) for i in patient["identifier"]}
    assert ids(await read(client, f"Patient?identifier={MRN}|{HL7_MRN}")) == [account]
    assert ids(await read(client, f"Patient?identifier={HL7_MRN}")) == [account]


@pytest.fixture
async def secured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, Issuer]]:
    """The claims API with authentication on, and the issuer whose tokens it takes."""
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(tmp_path / "auth" / "jwks.json"))
    issuer = Issuer(tmp_path / "auth", AuthSettings())
    issuer.ensure_key()
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(Path(__file__).resolve().parents[1], url, "claims")
    monkeypatch.setenv("CLAIMS_DATABASE_URL", url)
    from claims.config import get_settings
    from claims.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as client:
        yield client, issuer


def _token(issuer: Issuer, scopes: list[str]) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": issuer.settings.issuer,
        "aud": issuer.settings.audience,
        "sub": "fhir-client",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "org": "org-1",
        "scope": " ".join(scopes),
    }
    kid = issuer.jwks()["keys"][0]["kid"]
    return {"Authorization": f"Bearer {jwt.encode(claims, issuer._private(), algorithm='EdDSA', headers={'kid': kid})}"}


async def test_a_token_without_the_scope_is_refused_with_an_operation_outcome(secured: tuple[Any, Issuer]) -> None:
    client, issuer = secured
    writer, reader = _token(issuer, ["claims:write"]), _token(issuer, ["claims:read"])
    for path in ("Claim", "ClaimResponse", "Patient", "Claim/C1"):
        r = await client.get(f"/fhir/R4/{path}", headers=writer)
        assert r.status_code == 403 and r.headers["content-type"] == "application/fhir+json", path
        assert outcome_issues(r.json())[0][0] == "forbidden"
    assert (await client.get("/fhir/R4/Claim", headers=reader)).status_code == 200
    r = await client.post("/fhir/R4/Claim/$submit", json=CLAIM, headers=reader)
    assert r.status_code == 403 and outcome_issues(r.json())[0][0] == "forbidden"
    r = await client.post("/fhir/R4/Claim/$submit", json=CLAIM, headers=writer)
    assert r.status_code == 200 and r.json()["resourceType"] == "ClaimResponse"
    assert (await client.get("/fhir/R4/metadata")).status_code == 200  # open
