"""The HL7 v2 listener (claims.listener) driven by a real MLLP client over TCP (python-hl7's
``open_hl7_connection``): a registration, a visit's charges, a reversal, a message sent twice, frames that
are not HL7, an unknown sender; each ACK read field by field; the claim the visit becomes is the one
``POST /v1/claims`` makes of the same visit, and its 837 passes pyx12. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders.acks import ack_277ca
from builders.encounters import TODAY
from builders.events import encounter_adjudicated
from builders.hl7 import FACILITY, INSURED_BIRTH, MRN, PATIENT_BIRTH, adt, dft, fields, ft1, value
from builders.practice import PERSON_NPI
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    consume,
    pyx12,
    submit,
)
from hl7.mllp import HL7StreamReader, HL7StreamWriter, open_hl7_connection
from practice_steps import SINCE, SMITH, enter_practice, profile
from practice_steps import connection as account
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope

ORG, OTHER = {"X-Tenant-ID": "org-1"}, {"X-Tenant-ID": "org-2"}
DOS = TODAY - timedelta(days=10)
ADDRESS = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"}


@pytest.fixture(autouse=True)
def senders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMS_HL7_SENDERS", json.dumps({FACILITY: "org-1"}))
    monkeypatch.setenv("CLAIMS_HL7_APPLICATION", "RCM")


@pytest.fixture
async def connection(client: Any) -> AsyncIterator[tuple[HL7StreamReader, HL7StreamWriter]]:
    from claims.config import get_settings
    from claims.listener import Listener

    listener = Listener(get_settings(), client.app.state.engine)
    await listener.start("127.0.0.1", 0)
    reader, writer = await open_hl7_connection("127.0.0.1", listener.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        await listener.close()


async def send(conn: tuple[HL7StreamReader, HL7StreamWriter], text: str) -> str:
    reader, writer = conn
    writer.writeblock(text.encode())
    await writer.drain()
    return (await asyncio.wait_for(reader.readblock(), 20)).decode()


def check_ack(ack: str, control_id: str, trigger: str, code: str) -> None:
    """The ACK HL7 prescribes for a 2.5.1 message of builders.hl7: sender and receiver swapped, ACK^<trigger>^
    ACK, a control id of its own, MSA-1 the code and MSA-2 the message's control id."""
    msh, msa = fields(ack, "MSH"), fields(ack, "MSA")
    assert (str(msh(1)), str(msh(2))) == ("|", "^~\\&")
    assert [str(msh(i)) for i in (3, 4, 5, 6)] == ["RCM", "BILLING", "EPIC", FACILITY]
    assert str(msh(9)) == f"ACK^{trigger}^ACK"
    assert value(msh, 10) not in ("", control_id)
    assert (value(msh, 11), value(msh, 12)) == ("P", "2.5.1")
    assert len(value(msh, 7)) == 19 and value(msh, 7).endswith("+0000")
    assert (value(msa, 1), value(msa, 2)) == (code, control_id)


def err(ack: str, sequence: int = 1) -> tuple[str, str, str, str]:
    """ERR-2 (location), ERR-3 (code^text^HL70357), ERR-4 (severity) and ERR-8 (the words)."""
    seg = fields(ack, "ERR", sequence)
    return str(seg(2)), str(seg(3)), str(seg(4)), str(seg(8))


async def practice(client: Any, tenant: str, submitter: str) -> None:
    practice = profile(connections=[account(submitter)])
    await enter_practice(client, tenant, practice=practice, providers=[SMITH])
    for code, modifiers, price in (("99214", ["25"], "200.00"), ("83036", [], "45.50"), ("36415", [], "12.00")):
        body = {"code": code, "modifiers": modifiers, "description": f"item {code}", "price": price}
        r = await client.post(
            "/v1/charge-master", json={**body, "effective_from": SINCE.isoformat()}, headers={"X-Tenant-ID": tenant}
        )
        assert r.status_code == 201, r.text


def same_visit_by_rest() -> dict[str, Any]:
    """The visit of the messages below as a charge-entry body: what the listener must have made of them."""
    return {
        "rendering_provider_npi": PERSON_NPI,
        "facility_code": "11",
        "subscriber": {
            "last_name": "Doe",
            "first_name": "Jane",
            "birth_date": PATIENT_BIRTH.isoformat(),
            "sex": "F",
            "address": ADDRESS,
            "member_id": "W123456789",
        },
        "payer": {"payer_id": "MCRB1", "name": "MEDICARE PART B", "filing_indicator": "CI"},
        "secondary_payer": {
            "payer_id": "BCBS1",
            "name": "BLUE CROSS",
            "filing_indicator": "CI",
            "subscriber": {
                "last_name": "Doe",
                "first_name": "John",
                "birth_date": INSURED_BIRTH.isoformat(),
                "sex": "M",
                "address": ADDRESS,
                "member_id": "XYZ987",
                "group_number": "G100",
            },
            "relationship": "01",
        },
        "diagnoses": ["E11.9", "I10"],
        "lines": [
            {
                "procedure_code": "99214",
                "modifiers": ["25"],
                "units": "1",
                "service_date": DOS.isoformat(),
                "diagnosis_pointers": [1, 2],
            },
            {
                "procedure_code": "83036",
                "units": "2",
                "service_date": DOS.isoformat(),
                "diagnosis_pointers": [1, 2],
                "charge": "91.00",
            },
        ],
    }


def comparable(x12: str, claim_id: str) -> list[str]:
    """The 837's segments but for its envelope and control numbers, the claim id (CLM01) and the submitter
    (the tenants' clearinghouse accounts)."""
    skip = ("ISA", "GS", "ST", "BHT", "SE", "GE", "IEA")
    out = []
    for seg in x12.replace("\n", "").split("~"):
        if seg and seg.split("*")[0] not in skip:
            out.append(seg.replace(claim_id, "<CLAIM>").replace("VALLEY02", "VALLEY01"))
    return out


async def test_a_visit_over_mllp_becomes_the_claim_charge_entry_makes_of_it(
    client: Any, connection: Any, tmp_path: Path, kafka: KafkaSettings
) -> None:
    await practice(client, "org-1", "VALLEY01")
    await practice(client, "org-2", "VALLEY02")  # a clearinghouse account of its own
    conn = connection

    # the registration: patient, guarantor, primary and secondary coverage
    ack = await send(conn, adt("A1"))
    check_ack(ack, "A1", "A04", "AA")
    assert "ERR" not in ack
    patient = (await client.get(f"/v1/patients/{MRN}", headers=ORG)).json()
    assert patient["patient"]["last_name"] == "Doe" and patient["guarantor"]["first_name"] == "John"
    assert [(c["position"], c["payer_id"], c["member_id"], c["relationship"]) for c in patient["coverages"]] == [
        (1, "MCRB1", "W123456789", "18"),
        (2, "BCBS1", "XYZ987", "01"),
    ]

    # the charges: 99214-25 priced by the charge master, 83036 x2 and 36415 with amounts (their code from
    # FT1-7 through the charge master), a payment the listener leaves to remittance (AA with a warning)
    charges = dft(
        "D1",
        ft1(1, DOS, "OFFICE", procedure="99214", modifiers=["25"]),
        ft1(2, DOS, "83036", quantity="2", amount="91.00"),
        ft1(3, DOS, "36415", amount="12.00", diagnoses=["E11.9"]),
        ft1(4, DOS, "PAYMENT", kind="PY", amount="20.00"),
    )
    ack = await send(conn, charges)
    check_ack(ack, "D1", "P03", "AA")
    assert err(ack)[:3] == ("FT1^4^6^1", "103^Table value not found^HL70357", "W")
    (encounter,) = (await client.get("/v1/encounters", headers=ORG)).json()
    assert (encounter["state"], encounter["due_on"]) == ("open", (DOS + timedelta(days=2)).isoformat())

    # a reversal of 36415 takes it off; the same message again is answered the same and applied once
    reversal = dft("D2", ft1(1, DOS, "36415", kind="CD", amount="12.00"))
    first = await send(conn, reversal)
    check_ack(first, "D2", "P03", "AA")
    assert await send(conn, reversal) == first
    detail = (await client.get(f"/v1/encounters/{encounter['id']}", headers=ORG)).json()
    assert [(c["procedure_code"], c["units"], c["reversed_units"]) for c in detail["charges"]] == [
        ("99214", "1", "0"),
        ("83036", "2", "0"),
        ("36415", "1", "1"),
    ]

    # frames that are not HL7 get no answer and stop nothing: the next message is answered
    _reader, writer = conn
    writer.write(b"no start block\x1c\r")
    writer.writeblock(b"HELLO|not an HL7 message")
    writer.writeblock(b"MSH")
    bad_date = dft("D3", ft1(1, DOS, "99214").replace(DOS.strftime("%Y%m%d"), "2026-13-45"))
    ack = await send(conn, bad_date)
    check_ack(ack, "D3", "P03", "AE")
    assert err(ack) == (
        "FT1^1^4^1",
        "102^Data type error^HL70357",
        "E",
        "FT1-4 is not a date (YYYYMMDD)",
    )
    assert await send(conn, bad_date) == ack  # an AE is an answer too: the same message gets it again

    # an unknown sender, an unsupported message type: refused (AR), nothing stored
    ack = await send(conn, dft("S1", ft1(1, DOS, "99214"), facility="STRANGER"))
    check_ack(ack.replace("STRANGER", FACILITY), "S1", "P03", "AR")
    assert err(ack)[:3] == ("MSH^1^4^1^1", "204^Unknown key identifier^HL70357", "E")
    order = adt("O1").replace("ADT^A04^ADT_A01", "ORM^O01^ORM_O01")
    ack = await send(conn, order)
    assert (value(fields(ack, "MSA"), 1), err(ack)[:2]) == (
        "AR",
        ("MSH^1^9^1^1", "200^Unsupported message type^HL70357"),
    )
    assert len((await client.get("/v1/encounters", headers=ORG)).json()) == 1

    # released now: the claim is the one charge entry makes of the same visit posted as JSON
    r = await client.post(f"/v1/encounters/{encounter['id']}:release", headers=ORG)
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["state"] == "released" and released["problem"] is None
    again = await client.post(f"/v1/encounters/{encounter['id']}:release", headers=ORG)
    assert again.status_code == 409
    by_hl7 = (await client.get(f"/v1/claims/{released['claim_id']}", headers=ORG)).json()
    r = await client.post("/v1/claims", json=same_visit_by_rest(), headers=OTHER)
    assert r.status_code == 201, r.text
    by_rest = r.json()
    assert by_hl7["state"] == by_rest["state"] == "ready", by_hl7["edits"]
    assert by_hl7["document"] == by_rest["document"]
    assert by_hl7["charge_cents"] == by_rest["charge_cents"] == 29100
    await submit(client, by_hl7["id"])
    r = await client.post(f"/v1/claims/{by_rest['id']}/submit", headers=OTHER)
    assert r.status_code == 200, r.text
    x12 = (await client.get(f"/v1/claims/{by_hl7['id']}/x12", params={"as_sent": True}, headers=ORG)).text
    rest_x12 = (await client.get(f"/v1/claims/{by_rest['id']}/x12", params={"as_sent": True}, headers=OTHER)).text
    assert comparable(x12, by_hl7["id"]) == comparable(rest_x12, by_rest["id"])
    assert pyx12(x12, tmp_path).endswith(": OK")

    from claims.adapters.scrub_resources import load_resources
    from claims.config import get_settings
    from claims.models import bus
    from claims.use_cases.hl7_charges import release_due
    from rcm_shared.unit import Units

    settings = get_settings()
    units = Units.of_service(settings, bus, client.app.state.engine)
    # a reversal once the payer has the claim, not yet numbered by it: stored and acknowledged (an AE would
    # be final to the engine, the reversal lost); the encounter waits, and its claim follows once it can
    ack = await send(conn, dft("D4", ft1(1, DOS, "83036", quantity="-1", amount="45.50")))
    check_ack(ack, "D4", "P03", "AA")
    detail = (await client.get(f"/v1/encounters/{encounter['id']}", headers=ORG)).json()
    assert [c["reversed_units"] for c in detail["charges"]] == ["0", "1", "1"]
    assert detail["state"] == "pending" and "cannot follow" in detail["problem"]
    assert detail["claim_id"] == by_hl7["id"]
    await client.post("/v1/acknowledgments", content=ack_277ca(by_hl7["id"], accepted=True), headers=ORG)
    assert await release_due(units, settings, load_resources(settings).context(), today=TODAY) == 0
    detail = (await client.get(f"/v1/encounters/{encounter['id']}", headers=ORG)).json()
    assert detail["state"] == "pending"  # tried again a day on: failing encounters never crowd out the others
    # accepted (numbered) but not adjudicated: a replacement waits for the payer's answer (the 835)
    await release_due(units, settings, load_resources(settings).context(), today=TODAY + timedelta(days=1))
    detail = (await client.get(f"/v1/encounters/{encounter['id']}", headers=ORG)).json()
    assert detail["state"] == "pending" and "accepted" in detail["problem"]
    paid = Envelope.wrap(encounter_adjudicated(by_hl7["id"], 29100, [20000, 9100]), source="/r", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", paid, by_hl7["id"])])
    await release_due(units, settings, load_resources(settings).context(), today=TODAY + timedelta(days=2))
    detail = (await client.get(f"/v1/encounters/{encounter['id']}", headers=ORG)).json()
    assert (detail["state"], detail["problem"]) == ("released", None)
    replacement = (await client.get(f"/v1/claims/{detail['claim_id']}", headers=ORG)).json()
    assert (replacement["frequency"], replacement["original_claim_id"]) == ("7", by_hl7["id"])
    assert [(line["procedure_code"], line["units"]) for line in replacement["document"]["lines"]] == [
        ("99214", "1"),
        ("83036", "1"),
    ]


def self_signed(tmp_path: Path, name: str = "hl7") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files; its subject CN ``rcm-<name>-test``."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"rcm-{name}-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


async def test_the_listener_speaks_tls_when_given_a_certificate(client: Any, tmp_path: Path) -> None:
    import ssl

    from claims.config import get_settings
    from claims.listener import Listener

    cert_file, key_file = self_signed(tmp_path)
    settings = get_settings().model_copy(
        update={"hl7_tls_cert_file": str(cert_file), "hl7_tls_key_file": str(key_file)}
    )
    listener = Listener(settings, client.app.state.engine)
    await listener.start("127.0.0.1", 0)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    try:
        conn = await open_hl7_connection("127.0.0.1", listener.port, ssl=trusting)
        check_ack(await send(conn, adt("T1")), "T1", "A04", "AA")
        conn[1].close()
        # a client speaking plain MLLP to the TLS port gets nothing and breaks nothing
        plain = await open_hl7_connection("127.0.0.1", listener.port)
        plain[1].writeblock(adt("T2").encode())
        await plain[1].drain()
        with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
            await asyncio.wait_for(plain[0].readblock(), 10)
        plain[1].close()
        conn = await open_hl7_connection("127.0.0.1", listener.port, ssl=trusting)
        check_ack(await send(conn, adt("T1")), "T1", "A04", "AA")  # the first one's ACK again
        conn[1].close()
    finally:
        await listener.close()


async def test_a_client_certificate_sends_only_for_its_facilities(client: Any, tmp_path: Path) -> None:
    import ssl

    from claims.config import get_settings
    from claims.listener import Listener

    cert_file, key_file = self_signed(tmp_path)
    clinic_file, clinic_key = self_signed(tmp_path, "clinic")  # a client certificate, its own CA here
    base = {"hl7_tls_cert_file": str(cert_file), "hl7_tls_key_file": str(key_file)}
    settings = get_settings().model_copy(update={**base, "hl7_tls_client_ca_file": str(clinic_file)})
    with pytest.raises(ValueError, match="CLAIMS_HL7_TLS_CLIENT_FACILITIES"):
        Listener(settings, client.app.state.engine)
    senders = {FACILITY: "org-1", "OTHEREHR": "org-2"}
    allowed = {"rcm-clinic-test": ["OTHEREHR"]}
    settings = settings.model_copy(update={"hl7_senders": senders, "hl7_tls_client_facilities": allowed})
    listener = Listener(settings, client.app.state.engine)
    await listener.start("127.0.0.1", 0)
    context = ssl.create_default_context(cafile=str(cert_file))
    context.load_cert_chain(str(clinic_file), str(clinic_key))
    try:
        conn = await open_hl7_connection("127.0.0.1", listener.port, ssl=context)
        ack = await send(conn, adt("T1"))  # VALLEYEHR's: not this certificate's to send
        check_ack(ack, "T1", "A04", "AR")
        assert err(ack)[:2] == ("MSH^1^4^1^1", "204^Unknown key identifier^HL70357")
        ack = await send(conn, adt("T2", facility="OTHEREHR"))
        assert value(fields(ack, "MSA"), 1) == "AA"
        conn[1].close()
    finally:
        await listener.close()


async def test_two_facilities_of_one_tenant_are_refused_at_start(client: Any) -> None:
    from claims.config import get_settings
    from claims.listener import Listener

    settings = get_settings().model_copy(update={"hl7_senders": {FACILITY: "org-1", "EASTEHR": "org-1"}})
    with pytest.raises(ValueError, match="one tenant"):
        Listener(settings, client.app.state.engine)


async def test_frames_ended_with_cr_lf_and_other_processing_ids(client: Any, connection: Any) -> None:
    await practice(client, "org-1", "VALLEY01")
    reader, writer = connection
    # an engine that ends its frames FS CR LF: the LF before the next VT is passed over, every frame answered
    for control_id in ("L1", "L2", "L3"):
        writer.write(b"\x0b" + adt(control_id).encode() + b"\x1c\r\n")
    await writer.drain()
    for control_id in ("L1", "L2", "L3"):
        ack = (await asyncio.wait_for(reader.readblock(), 20)).decode()
        check_ack(ack, control_id, "A04", "AA")
    # training and debugging messages never reach a production listener's data (CLAIMS_HL7_PROCESSING_ID)
    for processing in ("T", "D"):
        ack = await send(connection, adt(f"P{processing}", processing=processing))
        assert (value(fields(ack, "MSA"), 1), err(ack)[:2]) == (
            "AR",
            ("MSH^1^11^1", "202^Unsupported processing id^HL70357"),
        )
