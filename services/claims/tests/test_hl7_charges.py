"""Charges from HL7 after they were gathered (claims.use_cases.hl7_charges): the claim follows the visit's
later charges and reversals (edited, replaced, voided), the worker releases the encounters whose hold has
ended, an A40 merge moves open encounters. The messages go through the listener's handler (the MLLP framing
is test_hl7_listener's). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders.acks import ack_277ca
from builders.encounters import TODAY
from builders.events import encounter_adjudicated
from builders.hl7 import (
    FACILITY,
    INSURED_BIRTH,
    MRN,
    adt,
    dft,
    fields,
    ft1,
    merge,
    message,
    msh,
    pid,
    pv1,
    segment,
    value,
)
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    consume,
    pyx12,
    submit,
)
from practice_steps import SINCE, SMITH, connection, enter_practice, profile
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope

T = {"X-Tenant-ID": "org-1"}
DOS = TODAY - timedelta(days=10)


@pytest.fixture(autouse=True)
def senders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMS_HL7_SENDERS", json.dumps({FACILITY: "org-1"}))


@pytest.fixture
async def send(client: Any) -> Any:
    """Send one message through the listener's handler; its ACK's MSA-1 and the ACK."""
    from claims.adapters.scrub_resources import load_resources
    from claims.config import get_settings
    from claims.models import bus
    from claims.use_cases.hl7_messages import Handler
    from rcm_shared.unit import Units

    settings = get_settings()
    handler = Handler(
        Units.of_service(settings, bus, client.app.state.engine), settings, load_resources(settings).context
    )
    await enter_practice(client, practice=profile(connections=[connection("VALLEY01")]), providers=[SMITH])
    for code, price in (("99214", "200.00"), ("83036", "45.50"), ("36415", "12.00")):
        body = {"code": code, "description": f"item {code}", "price": price, "effective_from": SINCE.isoformat()}
        assert (await client.post("/v1/charge-master", json=body, headers=T)).status_code == 201

    async def one(text: str) -> tuple[str, str]:
        answer = await handler.handle(text.encode())
        assert answer is not None
        return answer.code, answer.ack

    return one


async def claim(client: Any, claim_id: str) -> dict[str, Any]:
    return dict((await client.get(f"/v1/claims/{claim_id}", headers=T)).json())


def codes(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(line["procedure_code"], line["units"]) for line in doc["lines"]]


async def test_a_released_claim_follows_the_visit_edited_replaced_then_voided(
    client: Any, send: Any, kafka: KafkaSettings, tmp_path: Path
) -> None:
    assert (await send(adt("A1")))[0] == "AA"
    assert (await send(dft("D1", ft1(1, DOS, "99214"), ft1(2, DOS, "83036", amount="45.50"))))[0] == "AA"
    (encounter,) = (await client.get("/v1/encounters", headers=T)).json()
    released = (await client.post(f"/v1/encounters/{encounter['id']}:release", headers=T)).json()
    first = released["claim_id"]
    assert codes((await claim(client, first))["document"]) == [("99214", "1"), ("83036", "1")]

    # not with the payer yet: the claim itself is edited
    assert (await send(dft("D2", ft1(1, DOS, "83036", kind="CD"))))[0] == "AA"
    assert (await send(dft("D3", ft1(1, DOS, "36415", amount="12.00"))))[0] == "AA"
    edited = await claim(client, first)
    assert edited["state"] == "ready" and codes(edited["document"]) == [("99214", "1"), ("36415", "1")]
    assert edited["charge_cents"] == 21200

    # with the payer, which numbered it and denied it: a replacement (frequency 7) naming its claim number
    await submit(client, first)
    await client.post("/v1/acknowledgments", content=ack_277ca(first, accepted=True), headers=T)
    denial = Envelope.wrap(encounter_adjudicated(first, 0, [0, 0]), source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", denial, first)])
    assert (await claim(client, first))["state"] == "denied"
    code, ack = await send(dft("D4", ft1(1, DOS, "36415", quantity="-1")))
    assert code == "AA", ack
    detail = (await client.get(f"/v1/encounters/{encounter['id']}", headers=T)).json()
    replacement = await claim(client, detail["claim_id"])
    assert (replacement["frequency"], replacement["original_claim_id"]) == ("7", first)
    assert codes(replacement["document"]) == [("99214", "1")] and replacement["state"] == "ready"
    await submit(client, replacement["id"])
    x12 = (await client.get(f"/v1/claims/{replacement['id']}/x12", headers=T)).text
    assert "REF*F8*PAYERICN1~" in x12 and "*11:B:7*" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")

    # everything reversed: the replacement, which carries the payer's number, is voided (frequency 8)
    assert (await send(dft("D5", ft1(1, DOS, "99214", kind="CD"))))[0] == "AA"
    detail = (await client.get(f"/v1/encounters/{encounter['id']}", headers=T)).json()
    void = await claim(client, detail["claim_id"])
    assert (void["frequency"], void["original_claim_id"]) == ("8", replacement["id"])


async def test_the_worker_releases_the_encounters_whose_hold_ended(client: Any, send: Any) -> None:
    from claims.adapters.scrub_resources import load_resources
    from claims.config import get_settings
    from claims.models import bus
    from claims.use_cases.hl7_charges import release_due
    from rcm_shared.unit import Units

    assert (await send(adt("A1")))[0] == "AA"
    assert (await send(dft("D1", ft1(1, DOS, "99214"), visit="V1")))[0] == "AA"  # due 2 days after DOS
    assert (await send(dft("D2", ft1(1, TODAY, "99214"), visit="V2")))[0] == "AA"  # due in 2 days
    # a patient never registered (a DFT's PID alone registers nobody): nothing to bill
    assert (await send(dft("D3", ft1(1, DOS, "99214"), visit="V3", mrn="MRN0002")))[0] == "AA"
    settings = get_settings()
    units = Units.of_service(settings, bus, client.app.state.engine)
    assert await release_due(units, settings, load_resources(settings).context()) == 1
    by_visit = {e["visit_number"]: e for e in (await client.get("/v1/encounters", headers=T)).json()}
    assert by_visit["V1"]["state"] == "released" and by_visit["V1"]["claim_id"]
    assert by_visit["V2"]["state"] == "open" and by_visit["V2"]["due_on"] == (TODAY + timedelta(days=2)).isoformat()
    assert by_visit["V3"]["state"] == "open" and "no registration" in by_visit["V3"]["problem"]
    # tried again a day on: encounters failing every pass never fill the worker's batch ahead of the others
    assert by_visit["V3"]["due_on"] == (TODAY + timedelta(days=1)).isoformat()
    assert await release_due(units, settings, load_resources(settings).context(), today=TODAY + timedelta(days=2)) == 1
    r = await client.post(f"/v1/encounters/{by_visit['V3']['id']}:release", headers=T)
    assert r.status_code == 422 and "no registration" in r.json()["detail"]


async def test_a_merge_moves_the_open_encounters_to_the_surviving_record(client: Any, send: Any) -> None:
    assert (await send(adt("A1", mrn="KEEP")))[0] == "AA"
    assert (await send(adt("A2", mrn="GONE")))[0] == "AA"
    assert (await send(dft("D1", ft1(1, DOS, "99214"), visit="V1", mrn="GONE")))[0] == "AA"
    assert (await send(dft("D2", ft1(1, DOS, "83036"), visit="V2", mrn="GONE")))[0] == "AA"
    v2 = next(e for e in (await client.get("/v1/encounters", headers=T)).json() if e["visit_number"] == "V2")
    assert (await client.post(f"/v1/encounters/{v2['id']}:release", headers=T)).status_code == 200
    code, ack = await send(merge("M1", "KEEP", "GONE"))
    assert code == "AA" and value(fields(ack, "MSH"), 9, 2) == "A40"
    by_visit = {e["visit_number"]: e for e in (await client.get("/v1/encounters", headers=T)).json()}
    assert (by_visit["V1"]["mrn"], by_visit["V2"]["mrn"]) == ("KEEP", "GONE")  # a claim already made stays
    assert (await client.get("/v1/patients/GONE", headers=T)).json()["merged_into"] == "KEEP"
    # either MRN reaches the other through the merge: a late charge under the survivor's MRN for the visit
    # released under the merged one follows its claim, and the engine's stale MRN still finds the moved visit
    code, ack = await send(dft("D3", ft1(1, DOS, "36415", amount="12.00"), visit="V2", mrn="KEEP"))
    assert code == "AA", ack
    v2 = (await client.get(f"/v1/encounters/{v2['id']}", headers=T)).json()
    assert codes((await claim(client, v2["claim_id"]))["document"]) == [("83036", "1"), ("36415", "1")]
    assert (await send(dft("D4", ft1(1, DOS, "36415"), visit="V1", mrn="GONE")))[0] == "AA"
    assert (await send(adt("A3", mrn="OTHER")))[0] == "AA"
    code, ack = await send(dft("D5", ft1(1, DOS, "36415"), visit="V1", mrn="OTHER"))
    assert code == "AE" and str(fields(ack, "ERR")(2)) == "PV1^1^19^1"
    bad = message(msh("ADT^A40^ADT_A39", "M2"), pid("KEEP"))  # no MRG
    code, ack = await send(bad)
    assert code == "AE" and str(fields(ack, "ERR")(3)).startswith("100^")


async def test_a_transaction_code_outside_the_charge_master_is_an_error_of_that_field(send: Any) -> None:
    code, ack = await send(dft("D1", ft1(1, DOS, "99215"), ft1(2, DOS, "99214")))
    assert code == "AE"
    assert str(fields(ack, "ERR")(2)) == "FT1^1^7^1^1" and str(fields(ack, "ERR")(3)).startswith("103^")
    old = dft("D2", ft1(1, DOS, "99215"), version="2.3")
    code, ack = await send(old)
    # v2.3 has no ERR-2..8: ERR-1 (segment^sequence^field^code&text&table), the words in MSA-3
    assert code == "AE" and str(fields(ack, "MSH")(9)) == "ACK^P03"
    assert str(fields(ack, "ERR")(1)) == "FT1^1^7^103&Table value not found&HL70357"
    assert "not in the charge master" in value(fields(ack, "MSA"), 3)
    code, ack = await send(dft("D3", ft1(1, DOS, "99214"), version="2.6"))
    assert code == "AR" and str(fields(ack, "ERR")(3)).startswith("203^")
    unused = message(msh("DFT^P03^DFT_P03", "D4"), pid(), pv1(""), ft1(1, DOS, "99214"))
    code, ack = await send(unused)
    assert code == "AE" and str(fields(ack, "ERR")(2)) == "PV1^1^19^1"


async def test_an_insured_named_without_a_relationship_is_billed_as_the_subscriber(
    client: Any, send: Any, tmp_path: Path
) -> None:
    # IN1-17 is optional: an interface that leaves it empty while IN1-16/18 name the patient's husband
    husband = segment(
        "IN1",
        {
            1: "1",
            3: "BCBS1",
            4: "BLUE CROSS",
            8: "G100",
            16: "Doe^John",
            18: INSURED_BIRTH.strftime("%Y%m%d"),
            19: "12 Elm St^^Springfield^IL^62704",
            36: "XYZ987",
            43: "M",
        },
    )
    registration = message(msh("ADT^A04^ADT_A01", "A1"), "EVN|A04|20261206120000", pid(), pv1(), husband)
    assert (await send(registration))[0] == "AA"
    coverage = (await client.get(f"/v1/patients/{MRN}", headers=T)).json()["coverages"][0]
    assert (coverage["relationship"], coverage["insured"]["first_name"]) == ("21", "John")
    assert (await send(dft("D1", ft1(1, DOS, "99214"))))[0] == "AA"
    (encounter,) = (await client.get("/v1/encounters", headers=T)).json()
    released = (await client.post(f"/v1/encounters/{encounter['id']}:release", headers=T)).json()
    made = await claim(client, released["claim_id"])
    assert made["state"] == "ready", made["edits"]
    subscriber, patient = made["document"]["subscriber"], made["document"]["patient"]
    assert (subscriber["first_name"], subscriber["member_id"], subscriber["group_number"]) == ("John", "XYZ987", "G100")
    assert (patient["first_name"], patient["relationship"]) == ("Jane", "21")
    await submit(client, made["id"])
    x12 = (await client.get(f"/v1/claims/{made['id']}/x12", headers=T)).text
    # the husband in 2010BA, Jane in loop 2000C of relationship 21 (unknown), SBR02 empty
    assert "SBR*P**G100" in x12 and "NM1*IL*1*DOE*JOHN" in x12 and "PAT*21~" in x12 and "NM1*QC*1*DOE*JANE" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")
