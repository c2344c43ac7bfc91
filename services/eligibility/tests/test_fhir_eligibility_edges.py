"""The FHIR R4 API of eligibility at its edges: whose Patient a Bundle's fullUrl names, a create's answer and the
Prefer header, a recent answer asked for by another person, ingested 271s read as FHIR, repeated search
parameters (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from builders import T
from builders.fhir import assert_fhir
from builders.x271 import answer, x271
from eligibility_fhir_steps import EHR, answered, bundle_request, changed, contained_request, post
from rcm_shared.x12.sets.x270 import Member, RequestError

X12 = {**T, "content-type": "application/edi-x12"}
REQ, RESP = "CoverageEligibilityRequest", "CoverageEligibilityResponse"


async def _read(client: Any, kind: str, check_id: str) -> dict[str, Any]:
    r = await client.get(f"/fhir/R4/{kind}/{check_id}", headers=T)
    assert r.status_code == 200, r.text
    return assert_fhir(r.json())


def _patient(resource: dict[str, Any]) -> dict[str, Any]:
    (found,) = [c for c in resource["contained"] if c["id"] == "patient"]
    return found


async def test_a_patient_of_another_server_stays_contained_and_is_not_taken_for_ours(client: Any) -> None:
    """An EHR's `http://clinic.example/fhir/R4/Patient/ACC-7` is not our Patient/ACC-7 (another patient account):
    the check keeps the person as asked, contained, and no search by our patient finds it. A relative
    `Patient/<id>` fullUrl is on our server."""
    r = await post(client, bundle_request("W210", "ACC-7", base=EHR))
    assert r.status_code == 201, r.text
    check_id = r.json()["id"]
    for kind in (REQ, RESP):
        resource = await _read(client, kind, check_id)
        assert resource["patient"] == {"reference": "#patient"}, kind
        patient = _patient(resource)
        assert (patient["name"], patient["birthDate"]) == ([{"family": "Doe", "given": ["Jane"]}], "1980-02-29")
        found = (await client.get(f"/fhir/R4/{kind}?patient=ACC-7", headers=T)).json()
        assert "entry" not in found, kind
    relative = bundle_request("W211", "ACC-8")
    relative["entry"][1]["fullUrl"] = "Patient/ACC-8"
    r = await post(client, relative)
    assert r.status_code == 201 and r.json()["patient"] == {"reference": "Patient/ACC-8"}, r.text


async def test_a_create_answers_with_the_request_created_as_prefer_asks(client: Any) -> None:
    """`POST CoverageEligibilityRequest` creates the request: 201, Location and Content-Location naming it, the
    request as the body (return=representation, the default), none (return=minimal) or an OperationOutcome."""
    r = await post(client, contained_request("W220"), Prefer="return=representation")
    assert r.status_code == 201 and r.json()["resourceType"] == REQ, r.text
    assert r.headers["location"] == r.headers["content-location"] == f"http://test/fhir/R4/{REQ}/{r.json()['id']}"
    r = await post(client, contained_request("W221"), Prefer="return=minimal")
    assert r.status_code == 201 and r.content == b"", r.text
    check_id = r.headers["location"].rsplit("/", 1)[1]
    assert (await _read(client, RESP, check_id))["request"] == {"reference": f"{REQ}/{check_id}"}
    r = await post(client, contained_request("W222"), Prefer="return=OperationOutcome")
    assert r.status_code == 201 and assert_fhir(r.json())["resourceType"] == "OperationOutcome", r.text
    assert r.headers["location"].startswith(f"http://test/fhir/R4/{REQ}/")
    assert client.primary.calls == 3


async def test_a_recent_answer_is_not_shown_to_another_person_asking_with_the_same_member_id(client: Any) -> None:
    """Bob Smith asking with Jane Doe's member id gets his own check (a 270 of its own), not her answer and her
    name and birth date."""
    jane = await answered(client, contained_request("W230"))
    bob_request = changed(contained_request("W230"), ["contained", 0, "name"], [{"family": "Smith", "given": ["Bob"]}])
    bob_request["contained"][0]["birthDate"] = "1955-01-01"
    bob = await answered(client, bob_request)
    assert bob["id"] != jane["id"] and client.primary.calls == 2
    patient = _patient(bob)
    assert (patient["name"], patient["birthDate"]) == ([{"family": "Smith", "given": ["Bob"]}], "1955-01-01")


@pytest.mark.parametrize(
    "made",
    [
        lambda: dataclasses.replace(answer("W1"), dependent=Member("DOE", "JIM", birth_date=date(2015, 6, 1))),
        lambda: answer("W2", errors=[RequestError("2100C", "N", "75", "C")]),
        lambda: dataclasses.replace(answer("W3"), provider_id=""),
        lambda: dataclasses.replace(answer("W4"), provider_id="", provider_name=""),
    ],
    ids=["dependent", "rejected", "no-provider-id", "no-provider"],
)
async def test_ingested_271s_read_as_valid_fhir(client: Any, made: Any) -> None:
    r = await client.post("/v1/eligibility/responses", content=x271(made()), headers=X12)
    assert r.status_code == 201, r.text
    ((row,), said) = r.json(), made()
    asked = await _read(client, REQ, row["id"])
    response = await _read(client, RESP, row["id"])
    if said.provider_id:
        assert (
            asked["provider"]
            == response["requestor"]
            == {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": said.provider_id}}
        )
    elif said.provider_name:  # no id: the name alone, never an empty identifier
        assert asked["provider"] == response["requestor"] == {"display": said.provider_name}
    else:
        assert "provider" not in asked and "requestor" not in response


async def test_a_repeated_search_parameter_must_hold_each_time(client: Any) -> None:
    """Comma-separated values are alternatives (OR), a repeated parameter must hold each time (AND)."""
    ids = [(await post(client, bundle_request(f"W24{n}", f"ACC-{n}"))).json()["id"] for n in range(2)]

    async def found(query: str) -> list[str]:
        r = await client.get(f"/fhir/R4/{RESP}?{query}", headers=T)
        assert r.status_code == 200, r.text
        return [e["resource"]["id"] for e in r.json().get("entry", [])]

    assert await found("patient=ACC-0,ACC-1") == ids[::-1]
    assert await found("patient=ACC-0,ACC-1&patient=Patient/ACC-1") == [ids[1]]
    assert await found("patient=ACC-0&patient=ACC-1") == []
    assert await found("status=active&status=active,cancelled") == ids[::-1]
    assert await found("status=active&status=cancelled") == []
    assert await found("status=urn:other|active") == []
    assert await found(f"request={REQ}/{ids[0]}&request={ids[0]},{ids[1]}") == [ids[0]]
