"""Tenant isolation on every resource route of every service, generated from each OpenAPI: another
organization's token (with every scope) reading or writing org-1's records gets 404, and org-1's
records are unchanged afterwards. SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rcm_cli.issuer import SCOPES, Issuer
from rcm_shared.auth import SCOPE_KEY, AuthSettings
from rcm_shared.db import create_engine
from rcm_shared.testing import app_client

sys.path.insert(0, str(Path(__file__).parent))
from builders.encounters import encounter
from test_auth import Tokens

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"
SERVICES = ("eligibility", "claims", "remittance", "denials")
# Bodies that pass validation, so the request reaches the tenant check rather than stopping at a 422.
BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/v1/claims/{claim_id}"): encounter(),
    ("POST", "/v1/claims/{claim_id}/correct"): {},
    ("POST", "/v1/denials/{denial_id}/actions"): {"action": "comment", "note": "looking"},
    ("POST", "/v1/review-items/{item_id}/resolve"): {"note": "looked at it"},
    ("POST", "/v1/remittances/{remittance_id}/release"): {"note": "checked against the deposit"},
    ("POST", "/v1/remittances/{remittance_id}/reject"): {"note": "the payer will correct it"},
    ("POST", "/v1/underpayments/{variance_id}:appeal"): {},
    ("POST", "/v1/underpayments/{variance_id}:accept"): {"reason": "not worth pursuing"},
    ("POST", "/v1/underpayments/{variance_id}:adjust-contract"): {"effective_from": "2026-03-01"},
    ("POST", "/v1/eligibility/patients/{mrn}/checks"): {"service_date": "2026-11-20"},
}


async def _seed_hl7(client: Any, auth: dict[str, str]) -> dict[str, str]:
    """A registration and an encounter of org-1 from HL7 messages (what the claims listener applies)."""
    from builders.hl7 import MRN, adt, dft, ft1
    from claims.adapters import hl7_in
    from claims.adapters.scrub_resources import default_resources
    from claims.config import get_settings
    from claims.models import bus
    from claims.use_cases.hl7_charges import apply_dft
    from claims.use_cases.hl7_messages import apply_adt
    from rcm_shared.unit import Actor, Units

    def read(text: str) -> Any:
        msg = hl7_in.read(text.encode())
        return msg, hl7_in.header(msg)

    units = Units.of_service(get_settings(), bus, client.app.state.engine)
    async with units.write("org-1", Actor("seed")) as unit:
        await apply_adt(unit, hl7_in.adt(*read(adt("S1"))))
        charges = dft("S2", ft1(1, date(2026, 11, 2), "99214", procedure="99214"))
        await apply_dft(unit, hl7_in.dft(*read(charges)), get_settings(), default_resources().context())
    (encounter,) = (await client.get("/v1/encounters", headers=auth)).json()
    return {"encounter_id": encounter["id"], "mrn": MRN}


def _registrations_of_org_1(client: Any) -> None:
    """Checks by MRN read the registration from the claims API in the caller's tenant: its registrations are
    org-1's (another tenant's request finds none there)."""
    import httpx
    from eligibility.api.deps import claims_transport

    jane = {"last_name": "DOE", "first_name": "JANE", "birth_date": "1980-01-02"}
    known = {"mrn": "MRN1", "patient": jane, "coverages": [], "merged_into": None}

    def claims_api(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-tenant-id") == "org-1" and request.url.path == "/v1/patients/MRN1":
            return httpx.Response(200, json=known)
        return httpx.Response(404, json={"title": "Not found", "status": 404})

    client.app.dependency_overrides[claims_transport] = lambda: httpx.MockTransport(claims_api)


async def _seed(name: str, client: Any, db: Any, auth: dict[str, str]) -> dict[str, str]:
    """org-1's records, one per kind of path id the service has."""
    if name == "claims":
        from builders.practice import facility_body, provider_body

        r = await client.post("/v1/claims", json=encounter(), headers=auth)
        provider = (await client.post("/v1/providers", json=provider_body(), headers=auth)).json()
        facility = (await client.post("/v1/facilities", json=facility_body(), headers=auth)).json()
        ids = {"claim_id": r.json()["id"], "npi": provider["npi"], "facility_id": facility["facility_id"]}
        ids["account"] = r.json()["patient_account"]  # the FHIR Patient's id
        return {**ids, **await _seed_hl7(client, auth)}
    if name == "eligibility":
        text = (SAMPLES / "271" / "lfh__271_005010X279A1__dependent-health-benefit-check.271").read_text()
        checks = (await client.post("/v1/eligibility/responses", content=text, headers=auth)).json()
        check = {
            "provider": {"npi": "1234567893", "name": "Clinic"},
            "payer_id": "ACME01",
            "payer_name": "ACME",
            "subscriber": {"member_id": "W1", "first_name": "Jane", "last_name": "Doe", "birth_date": "1980-01-02"},
            "service_date": "2026-11-20",
        }
        batch = (await client.post("/v1/eligibility/batches", json={"checks": [check]}, headers=auth)).json()
        _registrations_of_org_1(client)
        return {"check_id": checks[0]["id"], "batch_id": batch["id"], "mrn": "MRN1"}
    if name == "remittance":
        text = (SAMPLES / "835" / "lfh__demo-file__demo.835").read_bytes()
        posted = (await client.post("/v1/remittances", content=text, headers=auth)).json()
        remittance_id = posted["remittances"][0]["remittance_id"]
        claims = (await client.get(f"/v1/remittances/{remittance_id}/claims", headers=auth)).json()
        items = (await client.get("/v1/review-items", headers=auth)).json()
        ids = {"remittance_id": remittance_id, "claim_id": claims[0]["claim_id"], "claim_payment_id": claims[0]["id"]}
        ids["item_id"] = str(items[0]["id"]) if items else "1"
        # the patient side: an account whose claims' patient responsibility is due, and its statement
        from builders.x835 import standard_file
        from rcm_shared.payloads.claims import ClaimStatusChangedV1
        from remittance.use_cases.billed_claims import on_claim_status_changed

        engine = create_engine(db.url, schema=db.schema)
        async with engine.begin() as conn:
            for claim_id in ("PCN0001", "PCN0002"):
                event = ClaimStatusChangedV1(
                    claim_id=claim_id,
                    old_state=None,
                    new_state="submitted",
                    changed_at=datetime.now(UTC),
                    charge_cents=12500,
                    patient_account="AORG1",
                )
                await on_claim_status_changed(conn, "org-1", event)
        await engine.dispose()
        await client.post("/v1/remittances", content=standard_file(), headers=auth)
        run = (await client.post("/v1/statements/runs", json={}, headers=auth)).json()
        ids["account_id"] = "AORG1"
        ids["statement_id"] = run["statements"][0]["id"]
        return ids
    from denials.models import denial

    denial_id = str(uuid.uuid4())
    engine = create_engine(db.url, schema=db.schema)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            denial.insert().values(
                id=denial_id,
                tenant_id="org-1",
                claim_id="C1",
                line_number=0,
                source_id="R1",
                payer_id="ACME01",
                payer_claim_control_number="PCN1",
                category="authorization",
                root_cause="no prior authorization",
                avoidable="yes",
                action="correct_and_resubmit",
                carcs=["CO-197"],
                rarcs=["M62"],
                amount_cents=12000,
                status="open",
                deadline=None,
                deadline_notified=0,
                recovered_cents=0,
                opened_at=now,
                updated_at=now,
            )
        )
    ids = {"denial_id": denial_id, **await _seed_underpayment(client, engine, auth)}
    await engine.dispose()
    return ids


async def _seed_underpayment(client: Any, engine: Any, auth: dict[str, str]) -> dict[str, str]:
    """A contract, a claim priced under it and paid short: an item of the underpayment worklist."""
    from builders.contracts import billed, billed_claim, contract, paid
    from denials.config import DenialsSettings
    from denials.models import bus, payment_variance
    from denials.use_cases import expected
    from rcm_shared.events import Envelope
    from rcm_shared.unit import Actor, Units

    contract_id = (await client.post("/v1/contracts", json=contract(), headers=auth)).json()["id"]
    settings = DenialsSettings()
    lines, answer = billed_claim("C1", [billed(1, "99213", 15000)]), paid("C1", [(1, "99213", 15000, 8000, 0)])
    async with engine.begin() as conn:
        unit = Units.of_service(settings, bus).on(conn, "org-1", Actor("seed"))
        await expected.on_claim_lines(
            unit, [(lines, Envelope.wrap(lines, source="/claims", tenant_id="org-1"))], None, settings
        )
        await expected.on_adjudications(
            unit, [(answer, Envelope.wrap(answer, source="/remittance", tenant_id="org-1"))], None, settings
        )
        variance_id = (await conn.execute(payment_variance.select())).one().id
    return {"contract_id": contract_id, "claim_id": "C1", "variance_id": variance_id}


@pytest.fixture(params=SERVICES)
async def seeded(
    request: pytest.FixtureRequest, db_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, Any, dict[str, str], Tokens]]:
    name = str(request.param)
    db = await db_factory(name)
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(tmp_path / "auth" / "jwks.json"))
    monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", db.url)
    monkeypatch.setenv(f"{name.upper()}_DB_SCHEMA", db.schema)
    monkeypatch.setenv("CLAIMS_OUTBOUND_DIR", str(tmp_path / "outbound"))
    monkeypatch.setenv(
        "REMITTANCE_CLAIMS_URL", ""
    )  # no address lookup: whatever listens on the claims port is not ours
    issuer = Issuer(tmp_path / "auth", AuthSettings())
    issuer.ensure_key()
    tokens = Tokens(issuer)
    config = importlib.import_module(f"{name}.config")
    main = importlib.import_module(f"{name}.main")
    async with app_client(main.create_app, config.get_settings.cache_clear) as client:
        auth = {"Authorization": f"Bearer {tokens.make(list(SCOPES), org='org-1')}"}
        ids = await _seed(name, client, db, auth)
        yield name, client, ids, tokens


async def test_another_organization_gets_404_and_changes_nothing(
    seeded: tuple[str, Any, dict[str, str], Tokens],
) -> None:
    name, client, ids, tokens = seeded
    mine = {"Authorization": f"Bearer {tokens.make(list(SCOPES), org='org-1')}"}
    theirs = {"Authorization": f"Bearer {tokens.make(list(SCOPES), org='org-2')}"}
    operations = [
        (method.upper(), path, op)
        for path, ops in client.app.openapi()["paths"].items()
        if "{" in path
        for method, op in ops.items()
        if SCOPE_KEY in op
    ]
    assert operations
    reads = sorted({path for method, path, _ in operations if method == "GET"})

    async def snapshot() -> list[tuple[str, int, Any]]:
        out = []
        for path in reads:
            r = await client.get(path.format(**ids), headers=mine)
            body: Any = r.content
            if "json" in r.headers.get("content-type", ""):
                body = r.json()
                if isinstance(body, dict):
                    body.pop("correlation_id", None)  # differs per request by design
            out.append((path, r.status_code, body))
        return out

    before = await snapshot()
    assert any(status == 200 for _p, status, _c in before), before  # org-1 does see its records
    for method, path, _op in operations:
        url = path.format(**ids)
        body = BODIES.get((method, path))
        kwargs = {"json": body} if body is not None else {}
        r = await client.request(method, url, headers=theirs, **kwargs)
        assert r.status_code == 404, (name, method, path, r.status_code, r.text)
    assert await snapshot() == before, f"{name}: org-2's requests changed org-1's records"
