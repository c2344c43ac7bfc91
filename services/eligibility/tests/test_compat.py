"""The Change Healthcare Eligibility v3 compatible route (eligibility/api/compat.py): Optum's published shape,
problems naming segment and element (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema_rs
from builders import T
from builders.x271 import answer, x271
from rcm_shared.x12.sets.x270 import Benefit, EligibilityResponse, Member

OPTUM = json.loads((Path(__file__).parent / "contracts" / "optum-eligibility-v3-response.json").read_text())


def optum_violations(body: dict[str, Any]) -> list[str]:
    """Where an answer of the v3 route departs from the publisher's own schema of the v3 response."""
    validator = jsonschema_rs.Draft4Validator(OPTUM)  # OpenAPI 3.0 schemas are JSON Schema draft 4 and a bit
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]


def v3_request(member: str) -> dict[str, Any]:
    return {
        "controlNumber": "123456789",
        "tradingPartnerServiceId": "ACME01",
        "provider": {"organizationName": "Valley Family Clinic", "npi": "1234567893"},
        "subscriber": {"memberId": member, "firstName": "Jane", "lastName": "Doe", "dateOfBirth": "19800229"},
        "encounter": {"dateOfService": "20261130", "serviceTypeCodes": ["30"]},
    }


async def test_the_v3_route_answers_a_malformed_271_with_a_problem_naming_segment_and_element(client: Any) -> None:
    bad_date = x271(answer("W1")).replace("DMG*D8*19800229", "DMG*D8*19801345")
    client.primary.body = bad_date
    r = await client.post("/change/medicalnetwork/eligibility/v3", json=v3_request("W1"), headers=T)
    assert r.status_code == 502, r.text
    problem = r.json()
    assert problem["title"] == "Invalid 271 from the payer" and "DMG, element 02" in problem["detail"]
    assert (problem["x12"]["segment_id"], problem["x12"]["element"]) == ("DMG", 2)
    assert problem["errors"][0]["field"] == "DMG02" and problem["errors"][0]["location"] == "segment 11 DMG element 02"


async def test_the_v3_route_answers_in_optums_published_shape_without_nulls(client: Any) -> None:
    from rcm_shared.x12.sets.x270 import RelatedEntity

    bare = EligibilityResponse(  # no gender, no plan description, a benefit with dates and a related entity
        transaction="",
        payer_name="ACME HEALTH PLAN",
        payer_id="ACME01",
        provider_name="VALLEY FAMILY CLINIC",
        provider_id="1234567893",
        subscriber=Member("DOE", "JANE", member_id="W1", birth_date=date(1980, 2, 29)),
        trace_numbers=[("T1", "9RCMCLINIC")],
        errors=[],
        dates=[("291", date(2026, 1, 1), date(2026, 12, 31))],
        benefits=[
            Benefit("1", "IND", ["30"]),
            Benefit(
                "L",
                "IND",
                ["30"],
                dates=[("291", date(2026, 1, 1), date(2026, 12, 31))],
                related=[RelatedEntity("P3", "WELBY", first="MARCUS", id_qualifier="XX", id="1679576722")],
            ),
        ],
    )
    client.primary.body = x271(bare)
    r = await client.post("/change/medicalnetwork/eligibility/v3", json=v3_request("W1"), headers=T)
    assert r.status_code == 200, r.text
    out = r.json()
    assert optum_violations(out) == []
    assert "gender" not in out["subscriber"] and out["subscriber"]["dateOfBirth"] == "19800229"
    assert out["planStatus"] == [{"statusCode": "1", "status": "active coverage", "serviceTypeCodes": ["30"]}]
    pcp = out["benefitsInformation"][1]
    assert pcp["benefitsDateInformation"] == {"plan": "20260101-20261231"}
    assert pcp["benefitsRelatedEntities"] == [
        {
            "entityIdentifier": "P3",
            "entityName": "WELBY",
            "entityFirstname": "MARCUS",
            "entityIdentification": "XX",
            "entityIdentificationValue": "1679576722",
        }
    ]
    client.primary.body = None  # the payer's own answers: an active member, and an AAA rejection
    for member in ("W2", "BAD2"):
        r = await client.post("/change/medicalnetwork/eligibility/v3", json=v3_request(member), headers=T)
        assert r.status_code == 200 and optum_violations(r.json()) == [], r.text
    assert r.json()["errors"][0]["code"] == "72" and r.json()["errors"][0]["followupAction"] == "C"
