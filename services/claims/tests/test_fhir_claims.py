"""`Claim/$submit` (claims.api.fhir): a FHIR claim entered through the same charge entry as `POST /v1/claims`,
once per identifier, answered by a ClaimResponse that follows the claim through the clearinghouse and the
payer; bad input answered by an OperationOutcome naming the element, with nothing stored.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from builders import T
from builders.acks import ack_277ca, ack_999, controls
from builders.encounters import DOS, encounter
from builders.events import encounter_adjudicated
from builders.fhir import assert_fhir, outcome_issues
from claims_fhir_steps import (
    CLAIM,
    CPT,
    EHR,
    FHIR_JSON,
    ICD,
    REST_BODY,
    as_bundle,
    as_parameters,
    code,
    enter_clinic,
    fhir_claim,
    read,
    submit_claim,
)
from claims_steps import claims_client, consume, pyx12  # noqa: F401 - the client fixture
from practice_steps import connection
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope

ORG2 = {"X-Tenant-ID": "org-2"}


def _claim_837(x12: str, claim_id: str) -> list[str]:
    """The 837's transaction from its first HL (the billing provider) to before SE, the claim id blotted:
    what two claims of the same visit share, whoever sent them."""
    segments = [s.strip() for s in x12.split("~") if s.strip()]
    start = next(i for i, s in enumerate(segments) if s.startswith("HL*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    return [s.replace(claim_id, "<CLAIM>") for s in segments[start:end]]


async def _sent(client: Any, claim_id: str, headers: dict[str, str]) -> str:
    r = await client.post(f"/v1/claims/{claim_id}/submit", headers=headers)
    assert r.status_code == 200, r.text
    return str((await client.get(f"/v1/claims/{claim_id}/x12", params={"as_sent": "true"}, headers=headers)).text)


async def test_the_capability_statement_lists_claim_claim_response_and_patient(client: Any) -> None:
    statement = assert_fhir((await client.get("/fhir/R4/metadata")).json())
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert sorted(resources) == ["Claim", "ClaimResponse", "Patient"]
    params = {kind: [p["name"] for p in r["searchParam"]] for kind, r in resources.items()}
    assert params["Claim"] == ["patient", "identifier", "created", "status", "_count", "_lastUpdated"]
    assert params["ClaimResponse"] == ["request", "patient", "outcome", "created", "_count", "_lastUpdated"]
    assert params["Patient"] == ["identifier", "_count", "_lastUpdated"]
    assert [op["name"] for op in resources["Claim"]["operation"]] == ["submit"]


async def test_the_same_visit_through_fhir_and_rest_is_the_same_claim_and_the_same_837(
    client: Any, tmp_path: Path
) -> None:
    """One visit entered over REST in one organization and over FHIR in another (each its own practice data and
    clearinghouse account): the stored claims are equal but for their ids, and so are their 837s."""
    await enter_clinic(client, "org-1", connections=[connection("CLINIC1")])
    await enter_clinic(client, "org-2", connections=[connection("CLINIC2")])
    rest = (await client.post("/v1/claims", json=REST_BODY, headers=T)).json()
    answer = await submit_claim(client, CLAIM, headers=ORG2)
    assert (answer["resourceType"], answer["outcome"], answer["request"]["reference"]) == (
        "ClaimResponse",
        "queued",
        f"Claim/{answer['id']}",
    )
    fhir = (await client.get(f"/v1/claims/{answer['id']}", headers=ORG2)).json()
    own = {"id", "created_at", "updated_at", "patient_account"}
    assert {k: v for k, v in fhir.items() if k not in own} == {k: v for k, v in rest.items() if k not in own}
    assert fhir["state"] == "ready" and fhir["document"]["billing_provider"]["name"] == "Valley Family Clinic"
    rest_837, fhir_837 = await _sent(client, rest["id"], T), await _sent(client, fhir["id"], ORG2)
    assert _claim_837(fhir_837, fhir["id"]) == _claim_837(rest_837, rest["id"])
    assert pyx12(fhir_837, tmp_path).endswith(": OK")
    assert f"CLM*{fhir['id']}*245.50***11:B:1" in fhir_837


async def test_a_bundle_and_a_parameters_are_submitted_as_the_contained_claim(client: Any) -> None:
    await enter_clinic(client)
    answers = []
    for n, wrap in enumerate((as_bundle, as_parameters, lambda c: as_parameters(as_bundle(c)))):
        body = wrap(
            fhir_claim(identifier=[{"system": EHR, "value": f"V-{n}"}], **{"contained.1.subscriberId": f"W{n}"})
        )
        answers.append(await submit_claim(client, body))
    assert [a["outcome"] for a in answers] == ["queued"] * 3
    stored = [(await client.get(f"/v1/claims/{a['id']}", headers=T)).json() for a in answers]
    assert [s["document"]["subscriber"]["member_id"] for s in stored] == ["W0", "W1", "W2"]
    assert all(s["document"]["lines"] == stored[0]["document"]["lines"] for s in stored)


async def test_an_identifier_sent_again_answers_the_claim_it_made(client: Any) -> None:
    await enter_clinic(client)
    first = await submit_claim(client, CLAIM)
    again = await submit_claim(client, as_bundle(CLAIM))  # the same claim, however it is wrapped
    assert again == first
    assert [c["id"] for c in (await client.get("/v1/claims", headers=T)).json()] == [first["id"]]
    other = fhir_claim(**{"item.1.net.value": 50.0, "total.value": 250.0})
    r = await client.post("/fhir/R4/Claim/$submit", content=json.dumps(other), headers={**T, **FHIR_JSON})
    assert r.status_code == 409 and outcome_issues(r.json())[0][0] == "conflict"
    assert first["id"] in outcome_issues(r.json())[0][1]
    # a new identifier is a new claim: the same visit again, which the scrubber holds as a duplicate
    twin = await submit_claim(client, fhir_claim(identifier=[{"system": EHR, "value": "V-1002"}]))
    assert twin["id"] != first["id"] and twin["outcome"] == "error"
    assert [e["code"]["coding"][0]["code"] for e in twin["error"]] == ["DUP001"]


async def test_scrubber_errors_answer_outcome_error_one_error_each_on_its_item(client: Any) -> None:
    await enter_clinic(client)
    stranger = {
        "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1245319599"}
    }  # no provider of ours
    bad = fhir_claim(**{"item.1.productOrService": code(CPT, "8303"), "careTeam.0.provider": stranger})
    answer = await submit_claim(client, bad)
    assert answer["outcome"] == "error" and answer["disposition"].startswith("held in draft: 2 scrubber error(s)")
    found = {(e["code"]["coding"][0]["code"], e.get("itemSequence")) for e in answer["error"]}
    assert found == {("PROC001", 2), ("PM003", None)}
    assert all(
        e["code"]["coding"][0]["system"] == "https://rcm.example.org/fhir/CodeSystem/scrubber-rule"
        for e in answer["error"]
    )
    assert "8303" in next(e["code"]["text"] for e in answer["error"] if e.get("itemSequence") == 2)
    assert (await client.get(f"/v1/claims/{answer['id']}", headers=T)).json()["state"] == "draft"


async def test_bad_input_is_an_operation_outcome_naming_the_element_and_nothing_is_stored(client: Any) -> None:
    await enter_clinic(client)
    post = client.post
    cases = [
        (b"{not json", 400, "structure", []),
        (
            json.dumps(fhir_claim(**{"contained.0.birthDate": "1980-13-40"})).encode(),
            400,
            "structure",
            ["Claim.contained[0].birthDate"],
        ),
        (
            json.dumps(fhir_claim(**{"item.1.diagnosisSequence": [3]})).encode(),
            422,
            "invalid",
            ["Claim.item[1].diagnosisSequence[0]"],
        ),
        (json.dumps(fhir_claim(**{"insurance.0.focal": False})).encode(), 422, "required", ["Claim.insurance"]),
        (json.dumps(fhir_claim(use="preauthorization")).encode(), 422, "not-supported", ["Claim.use"]),
        (json.dumps(fhir_claim(**{"total.value": 300.0})).encode(), 422, "invalid", ["Claim.total"]),
        (json.dumps({"resourceType": "Patient"}).encode(), 400, "structure", ["resourceType"]),
        # a reference naming nothing the body holds: the body is not self-consistent (rcm_shared.fhir.body)
        (
            json.dumps(fhir_claim(provider={"reference": "#nobody"})).encode(),
            400,
            "invalid",
            ["Claim.provider.reference"],
        ),
    ]
    for body, status, issue, expression in cases:
        r = await post("/fhir/R4/Claim/$submit", content=body, headers={**T, **FHIR_JSON})
        assert r.status_code == status, (body[:60], r.text)
        issues = outcome_issues(r.json())
        assert (issues[-1][0], issues[-1][2]) == (issue, expression), issues
    assert (await client.get("/v1/claims", headers=T)).json() == []  # the total's claim was rolled back too


async def test_the_claim_response_follows_the_claim_to_its_payment(client: Any, kafka: KafkaSettings) -> None:
    await enter_clinic(client)
    answer = await submit_claim(client, fhir_claim(**{"insurance.0.preAuthRef": ["PA-1"]}))
    claim_id = answer["id"]
    assert (answer["outcome"], answer["preAuthRef"], "payment" in answer) == ("queued", "PA-1", False)
    x12 = await _sent(client, claim_id, T)
    sent = await read(client, f"ClaimResponse/{claim_id}")
    assert sent["outcome"] == "queued" and sent["disposition"].startswith("sent to the clearinghouse")
    await client.post("/v1/acknowledgments", content=ack_277ca(claim_id, accepted=True), headers=T)
    accepted = await read(client, f"ClaimResponse/{claim_id}")
    assert accepted["outcome"] == "queued" and "accepted by the payer as claim PAYERICN1" in accepted["disposition"]
    assert accepted["processNote"][0]["text"] == "277CA A2:20:PR"
    paid_on = datetime.now(UTC).date() - timedelta(days=2)
    event = encounter_adjudicated(claim_id, 20000).model_copy(
        update={"payment_date": paid_on, "patient_responsibility_cents": 1500}
    )
    await consume(
        client,
        kafka,
        [("remittance.claim.adjudicated", Envelope.wrap(event, source="/remittance", tenant_id="org-1"), claim_id)],
    )
    paid = await read(client, f"ClaimResponse/{claim_id}")
    assert (paid["outcome"], paid["disposition"]) == ("complete", "paid 200.00 USD")
    assert paid["payment"] == {
        "type": code("http://terminology.hl7.org/CodeSystem/ex-paymenttype", "complete"),
        "amount": {"value": 200.0, "currency": "USD"},
        "date": paid_on.isoformat(),
    }
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in paid["total"]}
    assert totals == {"submitted": 245.5, "benefit": 200.0}
    header = {a["category"]["coding"][0]["code"]: a["amount"]["value"] for a in paid["adjudication"]}
    assert header == {"benefit": 200.0, "memberliability": 15.0}
    assert [i["adjudication"][0]["amount"]["value"] for i in paid["item"]] == [200.0, 45.5]
    assert paid["meta"]["lastUpdated"] > accepted["meta"]["lastUpdated"] and x12


async def test_a_rejection_answers_outcome_error_with_the_clearinghouse_or_payer_words(client: Any) -> None:
    await enter_clinic(client)
    by_999 = await submit_claim(client, CLAIM)
    by_277 = await submit_claim(
        client, fhir_claim(identifier=[{"system": EHR, "value": "V-2"}], **{"contained.1.subscriberId": "W2"})
    )
    gs, st = controls(await _sent(client, by_999["id"], T))
    await client.post("/v1/acknowledgments", content=ack_999(gs, st, accepted=False), headers=T)
    await _sent(client, by_277["id"], T)
    await client.post("/v1/acknowledgments", content=ack_277ca(by_277["id"], accepted=False), headers=T)
    rejected_999 = await read(client, f"ClaimResponse/{by_999['id']}")
    assert rejected_999["outcome"] == "error" and rejected_999["disposition"].startswith("rejected: 999 rejected")
    (error,) = rejected_999["error"]
    assert "segment NM1" in error["code"]["text"] and "invalid code value" in error["code"]["text"]
    rejected_277 = await read(client, f"ClaimResponse/{by_277['id']}")
    (error,) = rejected_277["error"]
    assert [c["code"] for c in error["code"]["coding"]] == ["A7", "562"] and error["code"]["text"] == "277CA A7:562:85"


async def test_the_stored_claim_reads_as_a_fhir_claim_that_submits_again_the_same(client: Any) -> None:
    await enter_clinic(client)
    answer = await submit_claim(client, CLAIM)
    claim = await read(client, f"Claim/{answer['id']}")
    assert claim["meta"]["tag"][0]["code"] == "ready" and claim["status"] == "active"
    assert {(i["system"], i["value"]) for i in claim["identifier"]} == {
        (EHR, "V-1001"),
        ("https://rcm.example.org/fhir/sid/claim-id", answer["id"]),
    }
    kinds = sorted(r["resourceType"] for r in claim["contained"])
    assert kinds == ["Coverage", "Organization", "Organization", "Patient", "Practitioner"]
    assert claim["diagnosis"][0]["diagnosisCodeableConcept"] == code(ICD, "E11.9")
    assert [i["net"]["value"] for i in claim["item"]] == [200.0, 45.5] and claim["total"]["value"] == 245.5
    # what GET answers, sent again under a new identifier, is the same visit: a duplicate of the first
    claim["identifier"] = [{"system": EHR, "value": "V-again"}]
    again = await submit_claim(client, claim)
    stored = [(await client.get(f"/v1/claims/{c}", headers=T)).json()["document"] for c in (answer["id"], again["id"])]
    assert stored[0] == stored[1]
    assert [e["code"]["coding"][0]["code"] for e in again["error"]] == ["DUP001"]


async def test_claims_entered_over_rest_in_every_shape_read_as_fhir(client: Any) -> None:
    """An institutional claim, a dependent's with a secondary payer, a service facility, a referral and a prior
    authorization, and a draft without a billing provider: each reads as a valid Claim and ClaimResponse."""
    hospital = encounter(
        kind="institutional",
        facility_code="13",
        statement_from=DOS,
        statement_to=DOS,
        attending_provider=encounter()["rendering_provider"],
        **{"lines.0.revenue_code": "0450", "lines.1.revenue_code": "0300", "lines.1.procedure_code": None},
    )
    spouse = {"last_name": "Doe", "first_name": "John", "birth_date": "1978-05-01", "sex": "M", "member_id": "W7"}
    dependent = encounter(
        subscriber=spouse,
        patient={
            "last_name": "Doe",
            "first_name": "Jane",
            "birth_date": "1980-02-29",
            "sex": "F",
            "relationship": "01",
        },
        secondary_payer={
            "payer_id": "MGAP1",
            "name": "MEDIGAP",
            "subscriber": {**spouse, "member_id": "MG7"},
            "relationship": "01",
        },
        service_facility={
            "name": "Valley North",
            "npi": "1245319599",
            "address": {"line1": "200 North Ave", "city": "Springfield", "state": "IL", "postal_code": "627021111"},
        },
        referral_number="REF-1",
        prior_authorization="PA-1",
    )
    unbilled = encounter(billing_provider=..., **{"subscriber.member_id": "W9"})
    read_back = []
    for body in (hospital, dependent, unbilled):
        r = await client.post("/v1/claims", json=body, headers=T)
        assert r.status_code == 201, r.text
        claim = await read(client, f"Claim/{r.json()['id']}")
        answer = await read(client, f"ClaimResponse/{r.json()['id']}")
        assert claim["type"] == answer["type"] == code("http://terminology.hl7.org/CodeSystem/claim-type", body["kind"])
        read_back.append(claim)
    assert [i.get("revenue", {}).get("coding", [{}])[0].get("code") for i in read_back[0]["item"]] == ["0450", "0300"]
    family = read_back[1]
    assert sorted(r["id"] for r in family["contained"] if r["resourceType"] == "RelatedPerson") == [
        "subscriber",
        "subscriber-2",
    ]
    assert [i["focal"] for i in family["insurance"]] == [True, False] and family["insurance"][0]["preAuthRef"] == [
        "PA-1"
    ]
    assert family["facility"] == {"reference": "#facility"} and family["referral"]["identifier"]["value"] == "REF-1"
    kinds = sorted(r["resourceType"] for r in claim["contained"])
    assert kinds == ["Coverage", "Organization", "Patient", "Practitioner"] and claim["provider"] == {
        "display": "not given"
    }
    assert answer["outcome"] == "error" and "PM002" in {e["code"]["coding"][0]["code"] for e in answer["error"]}
