"""Charge entry's references to the practice's master data (claims.use_cases.references): resolved on the date of
service and stored with the claim; one that resolves to nothing a scrubber finding on a draft; the service
facility in the 837 (2310C) when it is not the billing provider's address.

Through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from builders import T
from builders.encounters import DOS, encounter, on
from builders.practice import ORG_NPI, PERSON_NPI
from claims.domain.practice import Address
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
    pyx12,
    submit,
)
from practice_steps import MAIN, NORTH, SECOND_NPI, SMITH, enter_practice, profile

# the encounter with its providers and place of service referenced instead of given
REFERENCED = {
    "billing_provider": ...,
    "billing_provider_npi": SECOND_NPI,
    "rendering_provider": ...,
    "rendering_provider_npi": PERSON_NPI,
    "facility_id": "NORTH",
    "facility_code": ...,
}


def segments(x12: str) -> list[str]:
    return [s.strip() for s in x12.split("~")]


async def test_references_are_resolved_on_the_date_of_service_and_stored(client: Any, tmp_path: Path) -> None:
    await enter_practice(client, practice=profile(), providers=[SMITH], facilities=[NORTH])
    claim = await create(client, **REFERENCED)
    assert claim["state"] == "ready", claim["edits"]
    doc = claim["document"]
    assert (doc["billing_provider"]["npi"], doc["billing_provider"]["name"]) == (SECOND_NPI, "Valley Surgery Group")
    assert doc["billing_provider"]["tax_id"] == "987654321"
    assert doc["billing_provider"]["address"]["line1"] == "300 South St"
    assert doc["rendering_provider"] == {
        "npi": PERSON_NPI,
        "name": "Smith",
        "first_name": "John",
        "is_person": True,
        "taxonomy": "207R00000X",
        "tax_id": None,
        "tax_id_type": "EIN",
        "address": None,
    }
    assert doc["service_facility"]["name"] == "Valley North Clinic" and doc["facility_code"] == "22"
    assert (doc["billing_provider_npi"], doc["facility_id"]) == (SECOND_NPI, "NORTH")  # the references stay
    stored = (await client.get(f"/v1/claims/{claim['id']}", headers=T)).json()
    assert stored["document"] == doc
    await submit(client, claim["id"])
    x12 = (await client.get(f"/v1/claims/{claim['id']}/x12", headers=T)).text
    assert pyx12(x12, tmp_path).endswith(": OK")
    seg = segments(x12)
    assert "NM1*85*2*VALLEY SURGERY GROUP*****XX*1992999999" in seg
    assert "NM1*82*1*SMITH*JOHN****XX*1679576722" in seg
    at = seg.index("NM1*77*2*VALLEY NORTH CLINIC*****XX*1245319599")
    # rendered at North, billed from South: the 2310C names where
    assert seg[at + 1 : at + 3] == ["N3*200 North Ave", "N4*Springfield*IL*627021111"]
    assert any(s.startswith(f"CLM*{claim['id']}*245.50***22:B:1*") for s in seg)  # the facility's place of service


async def test_no_billing_provider_given_takes_the_profiles_first(client: Any, tmp_path: Path) -> None:
    await enter_practice(client, practice=profile(), facilities=[MAIN])
    claim = await create(client, **{"billing_provider": ..., "facility_id": "MAIN"})
    assert claim["state"] == "ready", claim["edits"]
    doc = claim["document"]
    assert doc["billing_provider"]["npi"] == ORG_NPI and doc["billing_provider_npi"] is None
    assert doc["facility_code"] == "11"  # given: the facility's place of service does not replace it
    await submit(client, claim["id"])
    x12 = (await client.get(f"/v1/claims/{claim['id']}/x12", headers=T)).text
    assert pyx12(x12, tmp_path).endswith(": OK")
    assert "NM1*85*2*VALLEY FAMILY CLINIC*****XX*1234567893" in segments(x12)
    assert "NM1*77" not in x12  # the facility is at the billing provider's address: no 2310C


LOCKBOX = Address("PO Box 100", "Springfield", "IL", "62701")


async def test_the_profiles_pay_to_address_is_the_837s_2010ab_when_payments_go_elsewhere(
    client: Any, tmp_path: Path
) -> None:
    """A billing provider from the profile brings the profile's pay-to address; the 837 carries it (NM1*87)
    only when it is not the billing address. A billing provider given inline brings none."""
    await enter_practice(client, practice=replace(profile(), pay_to=LOCKBOX))
    claim = await create(client, billing_provider=...)
    assert claim["state"] == "ready", claim["edits"]
    assert claim["document"]["pay_to"] == {
        "line1": "PO Box 100",
        "line2": None,
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
    }
    await submit(client, claim["id"])
    x12 = (await client.get(f"/v1/claims/{claim['id']}/x12", headers=T)).text
    assert pyx12(x12, tmp_path).endswith(": OK")
    seg = segments(x12)
    at = seg.index("NM1*87*2")
    assert seg[at - 4].startswith("NM1*85*2*VALLEY FAMILY CLINIC") and seg[at + 1 : at + 3] == [
        "N3*PO Box 100",
        "N4*Springfield*IL*62701",
    ]
    inline = await create(client, **{"subscriber.member_id": "W2"})
    assert inline["document"]["pay_to"] is None
    at_home = await create(
        client, **{"subscriber.member_id": "W3", "pay_to": encounter()["billing_provider"]["address"]}
    )
    await submit(client, at_home["id"])
    assert "NM1*87" not in (await client.get(f"/v1/claims/{at_home['id']}/x12", headers=T)).text


async def test_a_reference_to_nothing_in_effect_is_a_finding_on_a_draft(client: Any) -> None:
    later = on(DOS) + timedelta(days=1)  # each of these starts the day after the date of service
    await enter_practice(
        client,
        practice=profile(),
        providers=[replace(SMITH, effective_from=later)],
        facilities=[replace(NORTH, effective_from=later)],
    )
    claim = await create(client, **{**REFERENCED, "billing_provider_npi": "1245319599"})
    assert claim["state"] == "draft"
    found = {e["rule"]: e for e in claim["edits"] if e["rule"].startswith("PM")}
    # no place of service either (PM005): the facility not found says why
    assert sorted(found) == ["PM001", "PM003", "PM004"]
    assert all(e["severity"] == "error" and DOS in e["message"] for e in found.values())
    assert found["PM001"]["field"] == "billing_provider_npi" and "1234567893, 1992999999" in found["PM001"]["message"]
    assert found["PM003"]["field"] == "rendering_provider_npi" and PERSON_NPI in found["PM003"]["message"]
    assert found["PM004"]["field"] == "facility_id" and "NORTH" in found["PM004"]["message"]
    doc = claim["document"]
    assert doc["billing_provider"] is None and doc["rendering_provider"] is None and doc["service_facility"] is None
    # the claim cannot be sent; corrected (the references dropped, the values given), it is ready
    r = await client.post(f"/v1/claims/{claim['id']}/submit", headers=T)
    assert r.status_code == 409, r.text
    fixed = encounter(**{"facility_code": "11"})
    r = await client.put(f"/v1/claims/{claim['id']}", json=fixed, headers=T)
    assert r.status_code == 200 and r.json()["state"] == "ready", r.text


async def test_a_practice_set_up_today_bills_last_weeks_visit_once_its_profile_is_backdated(client: Any) -> None:
    """Entered today (the default start), the profile knows no billing provider on the date of service (PM001);
    a version of it backdated to before the visit resolves the claim's edit, and the same-day fix of a typo
    in it is a version too: the newest one in effect on the date of service is the claim's."""
    from builders.practice import profile_body

    assert (await client.put("/v1/practice", json=profile_body(), headers=T)).status_code == 200
    claim = await create(client, **{"billing_provider": ..., "billing_provider_npi": ORG_NPI})
    assert [e["rule"] for e in claim["edits"]] == ["PM001"] and "no profile then" in claim["edits"][0]["message"]
    since = on(DOS) - timedelta(days=30)
    for name in ("Valey Family Clinic", "Valley Family Clinic"):  # a typo, fixed the same day
        body = profile_body(since, **{"billing_providers.0.name": name})
        r = await client.put("/v1/practice", json=body, headers=T)
        assert r.status_code == 200, r.text
    r = await client.put(f"/v1/claims/{claim['id']}", json=claim["document"], headers=T)
    assert r.status_code == 200 and r.json()["state"] == "ready", r.text
    assert r.json()["document"]["billing_provider"]["name"] == "Valley Family Clinic"


async def test_without_a_profile_nothing_given_is_a_finding_not_an_error(client: Any) -> None:
    claim = await create(client, **{"billing_provider": ..., "facility_id": "NOWHERE", "facility_code": ...})
    assert claim["state"] == "draft"
    assert sorted(e["rule"] for e in claim["edits"]) == ["PM002", "PM004"]
    other = await create(
        client, **{"billing_provider": ..., "billing_provider_npi": ORG_NPI, "subscriber.member_id": "W2"}
    )
    assert [e["rule"] for e in other["edits"]] == ["PM001"] and "no profile then" in other["edits"][0]["message"]


async def test_another_tenants_master_data_is_never_used(client: Any) -> None:
    await enter_practice(client, "org-2", practice=profile(), providers=[SMITH], facilities=[NORTH])
    claim = await create(client, **REFERENCED)
    assert claim["state"] == "draft"
    assert sorted(e["rule"] for e in claim["edits"] if e["rule"].startswith("PM")) == ["PM001", "PM003", "PM004"]


async def test_a_practice_entered_through_its_routes_bills_sends_and_hears_back_as_itself(
    client: Any, tmp_path: Path
) -> None:
    """The whole way for a second organization: its master data through the practice routes, a claim that
    references it, the 837 under its connection, and the 277CA addressed to that connection applied to it."""
    from builders.acks import ack_277ca
    from builders.practice import facility_body, profile_body, provider_body
    from claims.background import read_ack_folder
    from rcm_shared.x12.reader import X12Reader

    org = {"X-Tenant-ID": "org-2"}
    since = on(DOS) - timedelta(days=30)
    for path, body in (
        ("/v1/practice", profile_body(since)),
        ("/v1/providers", provider_body(since)),
        ("/v1/facilities", facility_body(since)),
    ):
        r = await client.request("PUT" if path == "/v1/practice" else "POST", path, json=body, headers=org)
        assert r.status_code in (200, 201), r.text
    changes = {**REFERENCED, "billing_provider_npi": ORG_NPI}
    r = await client.post("/v1/claims", json=encounter(**changes), headers=org)
    claim = r.json()
    assert claim["state"] == "ready", claim["edits"]
    assert (await client.post(f"/v1/claims/{claim['id']}/submit", headers=org)).status_code == 200
    x12 = (await client.get(f"/v1/claims/{claim['id']}/x12", headers=org)).text
    assert pyx12(x12, tmp_path).endswith(": OK")
    interchange = next(h for h, _s in X12Reader(x12.encode())).interchange
    assert (interchange.sender_id, interchange.receiver_id) == ("VALLEY01", "CLEARINGHOUSE")
    assert "NM1*77*2*VALLEY NORTH CLINIC*****XX*1245319599" in segments(x12)
    folder = tmp_path / "acks"
    folder.mkdir()
    answer = ack_277ca(claim["id"], True).replace("RCMCLINIC      ", "VALLEY01       ", 1)  # ISA08
    (folder / "answer.277").write_text(answer.replace("*CLEARINGHOUSE*RCMCLINIC*", "*CLEARINGHOUSE*VALLEY01*", 1))
    assert await read_ack_folder(client.app.state.engine, folder) == 1
    assert (await client.get(f"/v1/claims/{claim['id']}", headers=org)).json()["state"] == "accepted"


async def test_the_payers_enrollment_gives_its_id_at_the_connection_and_the_filing_indicator(
    client: Any, tmp_path: Path
) -> None:
    """Medicare Part B is MCRB1 to the practice and 00952 at its clearinghouse connection "sandbox": the 837
    (2010BB) and the 276 name it so; its SBR09 is the enrollment's unless the claim gives one. A payer the
    practice has no enrollment with is a warning (the claim goes); a practice with no enrollment at all gets
    none (see the other tests: their claims to MCRB1 are clean)."""
    from builders.practice import enrollment_body, profile_body
    from rcm_shared.x12.sets.x276 import read_276

    since = (on(DOS) - timedelta(days=30)).isoformat()
    org = {"X-Tenant-ID": "org-2"}
    for method, path, body in (
        ("PUT", "/v1/practice", profile_body(on(since))),
        ("POST", "/v1/payer-enrollments", enrollment_body(on(since))),  # MB, "sandbox": "00952"
        (
            "POST",
            "/v1/payer-enrollments",
            enrollment_body(on(since), payer_id="ACME01", connection_payer_ids={}, claim_filing_indicator="HM"),
        ),
    ):
        r = await client.request(method, path, json=body, headers=org)
        assert r.status_code in (200, 201), r.text

    async def entered(**changes: Any) -> dict[str, Any]:
        r = await client.post("/v1/claims", json=encounter(**changes), headers=org)
        assert r.status_code == 201, r.text
        return dict(r.json())

    medicare = await entered(**{"payer.filing_indicator": ...})
    assert medicare["state"] == "ready" and medicare["edits"] == [], medicare["edits"]
    assert medicare["document"]["payer"] == {
        "payer_id": "MCRB1",
        "name": "Medicare Part B",
        "responsibility": "P",
        "filing_indicator": "MB",
    }
    given = await entered(**{"payer.filing_indicator": "16", "subscriber.member_id": "W2"})
    acme = await entered(**{"payer.payer_id": "ACME01", "payer.filing_indicator": ..., "subscriber.member_id": "W3"})
    stranger = await entered(
        **{"payer.payer_id": "NOTENR1", "payer.filing_indicator": ..., "subscriber.member_id": "W4"}
    )
    assert stranger["state"] == "ready" and [(e["rule"], e["severity"]) for e in stranger["edits"]] == [
        ("PM007", "warning")
    ]
    assert stranger["document"]["payer"]["filing_indicator"] == "CI"
    sent = (await client.post("/v1/submissions", json={}, headers=org)).json()
    assert len(sent) == 3  # one 837 per payer
    by_claim = {}
    for claim in (medicare, given, acme, stranger):
        x12 = (await client.get(f"/v1/claims/{claim['id']}/x12", headers=org)).text
        assert pyx12(x12, tmp_path).endswith(": OK")
        seg = segments(x12)
        payer = next(s for s in seg if s.startswith("NM1*PR*"))
        sbr = [s for s in seg if s.startswith("SBR*")]
        by_claim[claim["id"]] = (payer.split("*")[-1], {s.split("*")[-1] for s in sbr})
    assert by_claim == {
        medicare["id"]: ("00952", {"MB", "16"}),  # the two Medicare claims share an 837, one SBR each
        given["id"]: ("00952", {"MB", "16"}),
        acme["id"]: ("ACME01", {"HM"}),  # enrolled, no id of its own at the connection: the claim's
        stranger["id"]: ("NOTENR1", {"CI"}),
    }
    inquiry = await client.post(f"/v1/claims/{medicare['id']}/status-inquiry", headers=org)
    (asked,) = read_276(Path(inquiry.json()["destination"]).read_bytes())
    assert asked.payer_id == "00952"
