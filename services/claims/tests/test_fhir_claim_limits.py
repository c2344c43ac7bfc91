"""What a posted FHIR Claim may hold that no claim can carry (claims.api.fhir_claim_in): amounts and quantities
beyond the 837's and charge entry's digits, a person named only by a logical reference, identifiers longer than
the identifier tables hold. Each is a 422 naming its element, never a 500, and nothing is stored.

Read pure, and through the API on SQLite and PostgreSQL (whose VARCHAR(255) refuses a long MRN on insert)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import T
from builders.fhir import outcome_issues
from claims.api.fhir_claim_in import read_submission
from claims_fhir_steps import EHR, FHIR_JSON, MRN, code, enter_clinic, fhir_claim
from claims_steps import claims_client  # noqa: F401 - the client fixture
from rcm_shared.fhir import FhirError

RELATION = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
HUGE = 1e30  # a FHIR decimal fhir.resources accepts; 28 digits of decimal context cannot quantize it to cents
LONG = "M" * 256
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def _logical_subscriber(**extra: Any) -> dict[str, Any]:
    return fhir_claim(
        **{
            "contained.1.relationship": code(RELATION, "child"),
            "contained.1.subscriber": {
                "type": "RelatedPerson",
                "identifier": {"system": "urn:oid:1.2.3", "value": "S-1"},
                **extra,
            },
        }
    )


def _case(changes: dict[str, Any] | None, expression: str, issue: str, name: str, body: Any = None) -> Any:
    return pytest.param(body if body is not None else fhir_claim(**(changes or {})), expression, issue, id=name)


PRICED = {"item.0.net": ..., "item.0.unitPrice": {"value": 200.0, "currency": "USD"}}
CASES = [
    _case({"item.0.net": {"value": HUGE, "currency": "USD"}}, "Claim.item[0].net.value", "value", "huge-net"),
    _case({"item.0.net": {"value": -HUGE, "currency": "USD"}}, "Claim.item[0].net.value", "value", "huge-negative"),
    _case(
        {"item.0.unitPrice": {"value": HUGE, "currency": "USD"}}, "Claim.item[0].unitPrice.value", "value", "unitPrice"
    ),
    _case({"total": {"value": HUGE, "currency": "USD"}}, "Claim.total.value", "value", "huge-total"),
    _case({"total": {"value": 1e16, "currency": "USD"}}, "Claim.total.value", "value", "total-19-digits"),
    _case({"item.0.quantity": {"value": HUGE}}, "Claim.item[0].quantity.value", "value", "huge-quantity"),
    _case({"item.0.quantity": {"value": 1e7}}, "Claim.item[0].quantity.value", "value", "quantity-8-digits"),
    _case({**PRICED, "item.0.factor": HUGE}, "Claim.item[0].unitPrice", "value", "huge-factor"),
    _case(  # 2,000.00 x 9,000,000
        {**PRICED, "item.0.unitPrice": {"value": 2000.0, "currency": "USD"}, "item.0.quantity": {"value": 9e6}},
        "Claim.item[0].unitPrice",
        "value",
        "charge-13-digits",
    ),
    # within the 837's digits, beyond the charge entry's: the command's own 422
    _case({"item.0.net": {"value": 1e10, "currency": "USD"}}, "Claim.item[0].net", "invalid", "net-13-digits"),
    _case(None, "Claim.contained[1].subscriber", "not-supported", "logical-subscriber", _logical_subscriber()),
    _case(
        None,
        "Claim.contained[1].subscriber",
        "not-supported",
        "logical-subscriber-with-display",
        _logical_subscriber(display="John Doe"),
    ),
    _case(
        {"contained.0.identifier": [{"system": MRN, "value": LONG}]},
        "Claim.contained[0].identifier[0].value",
        "too-long",
        "long-mrn",
    ),
    _case(
        {
            "contained.0.identifier": [
                {"system": MRN, "value": "MRN-1001"},
                {"type": code(V2_0203, "MR"), "system": "urn:x:" + LONG, "value": "7"},
            ]
        },
        "Claim.contained[0].identifier[1].system",
        "too-long",
        "long-mrn-system",
    ),
    _case({"identifier": [{"system": EHR, "value": LONG}]}, "Claim.identifier[0].value", "too-long", "long-identifier"),
]


@pytest.mark.parametrize(("body", "expression", "issue"), CASES)
def test_what_no_claim_can_carry_is_refused_naming_its_element(body: Any, expression: str, issue: str) -> None:
    with pytest.raises(FhirError) as caught:
        read_submission(body)
    found = caught.value.issues[0]
    assert (caught.value.status, found.code, found.expression) == (422, issue, expression), found.diagnostics


def test_the_largest_amounts_and_quantities_a_claim_carries_are_read() -> None:
    most = fhir_claim(
        **{
            "item.0.net": {"value": 9999999999.99, "currency": "USD"},
            "item.1.net": ...,
            "item.1.unitPrice": {"value": 1, "currency": "USD"},
            "item.1.quantity": {"value": 9999999.999},
            "total": ...,
        }
    )
    read = read_submission(most)
    assert [str(line.charge) for line in read.claim.lines] == ["9999999999.99", "10000000.00"]
    assert str(read.claim.lines[1].units) == "9999999.999"
    mrn = read_submission(fhir_claim(**{"contained.0.identifier": [{"system": MRN, "value": "M" * 255}]}))
    assert mrn.patient_identifiers == ((MRN, "M" * 255),)


@pytest.mark.parametrize(("body", "expression", "issue"), CASES)
async def test_through_the_api_each_is_an_operation_outcome_and_nothing_is_stored(
    client: Any, body: Any, expression: str, issue: str
) -> None:
    await enter_clinic(client)
    r = await client.post("/fhir/R4/Claim/$submit", content=json.dumps(body), headers={**T, **FHIR_JSON})
    assert r.status_code == 422, r.text
    assert outcome_issues(r.json())[0][0::2] == (issue, [expression])
    assert (await client.get("/v1/claims", headers=T)).json() == []
