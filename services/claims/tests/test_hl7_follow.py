"""A released visit's claim following its later charges (claims.use_cases.hl7_follow): charges kept while
the payer's standing does not allow a correction, an unsent replacement withdrawn with its original voided,
a void never absorbing the next charge, reversals matched by FT1-2 and amount. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from builders.acks import ack_277ca
from builders.events import encounter_adjudicated
from builders.hl7 import dft, fields, ft1
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    consume,
    submit,
)
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from test_hl7_charges import (  # the handler fixture and readers of test_hl7_charges
    DOS,
    T,
    claim,
    codes,
    send,
    senders,
)

FIXTURES = (send, senders)  # test_hl7_charges' handler and senders, by their names here


def with_id(segment: str, transaction_id: str) -> str:
    """The FT1 with its FT1-2 (transaction id)."""
    parts = segment.split("|")
    parts[2] = transaction_id
    return "|".join(parts)


async def encounter(client: Any) -> dict[str, Any]:
    (row,) = (await client.get("/v1/encounters", headers=T)).json()
    return dict((await client.get(f"/v1/encounters/{row['id']}", headers=T)).json())


async def paid_claim(client: Any, send: Any, kafka: KafkaSettings) -> str:
    """A visit of 99214 released, sent, numbered by the payer (277CA) and paid: its claim id."""
    assert (await send(adt_a04()))[0] == "AA"
    assert (await send(dft("D1", ft1(1, DOS, "99214", amount="200.00"))))[0] == "AA"
    row = await encounter(client)
    first = (await client.post(f"/v1/encounters/{row['id']}:release", headers=T)).json()["claim_id"]
    await submit(client, first)
    await client.post("/v1/acknowledgments", content=ack_277ca(first, accepted=True), headers=T)
    paid = Envelope.wrap(encounter_adjudicated(first, 20000, [20000]), source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", paid, first)])
    assert (await claim(client, first))["state"] == "paid"
    return first


def adt_a04() -> str:
    from builders.hl7 import adt

    return adt("A1")


async def test_reversing_all_while_a_replacement_is_unsent_voids_the_paid_original_and_a_charge_after(
    client: Any, send: Any, kafka: KafkaSettings
) -> None:
    first = await paid_claim(client, send, kafka)
    assert (await send(dft("D2", ft1(1, DOS, "36415", amount="12.00"))))[0] == "AA"
    replacement = await claim(client, (await encounter(client))["claim_id"])
    assert (replacement["frequency"], replacement["original_claim_id"], replacement["state"]) == ("7", first, "ready")

    # every charge reversed before the replacement went out: it is withdrawn, and the paid original voided
    code, ack = await send(dft("D3", ft1(1, DOS, "99214", kind="CD"), ft1(2, DOS, "36415", kind="CD")))
    assert code == "AA", ack
    assert (await claim(client, replacement["id"]))["state"] == "void"
    void = await claim(client, (await encounter(client))["claim_id"])
    assert (void["frequency"], void["original_claim_id"], void["state"]) == ("8", first, "ready")

    # a charge after that is not absorbed by the void: the unsent void is withdrawn, the original replaced
    assert (await send(dft("D4", ft1(1, DOS, "83036", amount="45.50"))))[0] == "AA"
    row = await encounter(client)
    assert (row["state"], row["problem"]) == ("released", None)
    again = await claim(client, row["claim_id"])
    assert (again["frequency"], again["original_claim_id"], codes(again["document"])) == ("7", first, [("83036", "1")])
    assert (await claim(client, void["id"]))["state"] == "void"

    # once a void is at the payer, the next charge is a claim of its own (frequency 1)
    assert (await send(dft("D5", ft1(1, DOS, "83036", kind="CD"))))[0] == "AA"
    void = await claim(client, (await encounter(client))["claim_id"])
    assert void["frequency"] == "8"
    await submit(client, void["id"])
    assert (await send(dft("D6", ft1(1, DOS, "99214", amount="200.00"))))[0] == "AA"
    fresh = await claim(client, (await encounter(client))["claim_id"])
    assert (fresh["frequency"], fresh["original_claim_id"], codes(fresh["document"])) == ("1", None, [("99214", "1")])


async def test_a_charge_after_a_void_before_submission_makes_a_new_claim(client: Any, send: Any) -> None:
    assert (await send(adt_a04()))[0] == "AA"
    assert (await send(dft("D1", ft1(1, DOS, "99214"))))[0] == "AA"
    row = await encounter(client)
    first = (await client.post(f"/v1/encounters/{row['id']}:release", headers=T)).json()["claim_id"]
    assert (await send(dft("D2", ft1(1, DOS, "99214", kind="CD"))))[0] == "AA"
    assert (await claim(client, first))["state"] == "void"
    code, ack = await send(dft("D3", ft1(1, DOS, "36415", amount="12.00")))
    assert code == "AA", ack
    row = await encounter(client)
    assert row["claim_id"] != first and row["state"] == "released"
    fresh = await claim(client, row["claim_id"])
    assert (fresh["frequency"], fresh["state"], codes(fresh["document"])) == ("1", "ready", [("36415", "1")])


async def test_a_late_charge_while_the_payer_has_the_claim_is_kept_until_it_can_follow(client: Any, send: Any) -> None:
    assert (await send(adt_a04()))[0] == "AA"
    assert (await send(dft("D1", ft1(1, DOS, "99214"))))[0] == "AA"
    row = await encounter(client)
    first = (await client.post(f"/v1/encounters/{row['id']}:release", headers=T)).json()["claim_id"]
    await submit(client, first)
    code, ack = await send(dft("D2", ft1(1, DOS, "36415", amount="12.00")))
    assert code == "AA" and "ERR" not in ack  # stored: the engine's AE would have been final
    code, again = await send(dft("D2", ft1(1, DOS, "36415", amount="12.00")))
    assert (code, again) == ("AA", ack)  # the same control id: answered again, applied once
    row = await encounter(client)
    assert row["state"] == "pending" and "cannot follow" in row["problem"] and row["claim_id"] == first
    assert [(c["procedure_code"], c["units"]) for c in row["charges"]] == [("99214", "1"), ("36415", "1")]


async def test_reversals_take_the_charge_their_ft1_2_names_else_one_of_their_amount(client: Any, send: Any) -> None:
    assert (await send(adt_a04()))[0] == "AA"
    charges = (
        with_id(ft1(1, DOS, "99214", amount="100.00"), "T1"),
        with_id(ft1(2, DOS, "99214", amount="150.00"), "T2"),
    )
    assert (await send(dft("D1", *charges)))[0] == "AA"
    # a credit of $100 of the same code takes the $100 charge, not the newest
    assert (await send(dft("D2", ft1(1, DOS, "99214", kind="CD", amount="-100.00"))))[0] == "AA"
    row = await encounter(client)
    assert [(c["amount"], c["reversed_units"]) for c in row["charges"]] == [("100", "1"), ("150", "0")]
    # the engine sends T2 again under a new control id: billed once, a warning says so
    code, ack = await send(dft("D3", with_id(ft1(1, DOS, "99214", amount="150.00"), "T2")))
    assert code == "AA" and str(fields(ack, "ERR")(2)) == "FT1^1^2^1" and str(fields(ack, "ERR")(4)) == "W"
    assert len((await encounter(client))["charges"]) == 2
    # a reversal naming T2 takes it back; sent again, it finds nothing left to take
    assert (await send(dft("D4", with_id(ft1(1, DOS, "99214", kind="CD"), "T2"))))[0] == "AA"
    row = await encounter(client)
    assert [c["reversed_units"] for c in row["charges"]] == ["1", "1"]
    code, ack = await send(dft("D5", with_id(ft1(1, DOS, "99214", kind="CD"), "T2")))
    assert code == "AE" and str(fields(ack, "ERR")(2)) == "FT1^1^2^1"
