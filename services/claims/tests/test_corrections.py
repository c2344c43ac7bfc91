"""Corrections and voids (claims.use_cases.corrections): replacements, voids and what the payer does with them.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builders import T
from builders.acks import ack_277ca
from builders.events import encounter_adjudicated
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    consume,
    create,
    pyx12,
    submit,
)
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.denials import ClaimCorrection, ResubmissionRequestedV1
from rcm_shared.payloads.remittance import ClaimReversedV1


async def test_denial_resubmission_produces_a_frequency_7_claim_that_passes_pyx12(
    client: Any, kafka: KafkaSettings, tmp_path: Path
) -> None:
    a = await create(client)
    await submit(client, a["id"])
    await client.post("/v1/acknowledgments", content=ack_277ca(a["id"], accepted=True), headers=T)
    denial = Envelope.wrap(encounter_adjudicated(a["id"], 0, [0, 0]), source="/remittance", tenant_id="org-1")
    request = Envelope.wrap(
        ResubmissionRequestedV1(
            denial_id="D1",
            claim_id=a["id"],
            reason="missing prior authorization",
            correction=ClaimCorrection(prior_authorization="AUTH777"),
        ),
        source="/denials",
        tenant_id="org-1",
    )
    await consume(client, kafka, [("remittance.claim.adjudicated", denial, a["id"])])
    assert (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()["state"] == "denied"
    await consume(client, kafka, [("denials.resubmission.requested", request, a["id"])])
    # the original stays denied until the payer accepts its replacement
    assert (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()["state"] == "denied"
    (replacement,) = (await client.get("/v1/claims?state=submitted", headers=T)).json()
    assert replacement["frequency"] == "7" and replacement["original_claim_id"] == a["id"]
    x12 = (await client.get(f"/v1/claims/{replacement['id']}/x12", headers=T)).text
    assert "REF*F8*PAYERICN1~" in x12 and "REF*G1*AUTH777~" in x12 and "*11:B:7*" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")
    await client.post("/v1/acknowledgments", content=ack_277ca(replacement["id"], True, "PAYERICN2"), headers=T)
    assert (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()["state"] == "corrected"


async def test_void_illegal_transitions_and_tenancy(client: Any, tmp_path: Path) -> None:
    a = await create(client)
    voided = (await client.post(f"/v1/claims/{a['id']}/void", headers=T)).json()
    assert voided["id"] == a["id"] and voided["state"] == "void"  # never sent: voided directly
    r = await client.post(f"/v1/claims/{a['id']}/submit", headers=T)
    assert r.status_code == 409 and "cannot become 'submitted'" in r.json()["detail"]
    b = await create(client, **{"subscriber.member_id": "W3"})
    await submit(client, b["id"])
    other = {"X-Tenant-ID": "org-2"}
    assert (await client.get(f"/v1/claims/{b['id']}", headers=other)).status_code == 404
    assert (await client.post(f"/v1/claims/{b['id']}/close", headers=other)).status_code == 404
    assert (await client.get("/v1/claims", headers=other)).json() == []


async def test_void_waits_for_the_payer_claim_number_and_for_the_payer(client: Any, tmp_path: Path) -> None:
    """Sent, not yet numbered by the payer: a void is refused (409) and changes nothing. Numbered: the void
    claim (frequency 8, REF*F8) goes out; the original is void only once the payer accepts the void."""
    b = await create(client, **{"subscriber.member_id": "W3"})
    await submit(client, b["id"])
    r = await client.post(f"/v1/claims/{b['id']}/void", headers=T)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert "has not numbered claim" in r.json()["detail"] and "REF*F8" in r.json()["detail"]
    r = await client.post(f"/v1/claims/{b['id']}/correct", headers=T, json={})
    assert r.status_code == 409, r.text  # a replacement is for a claim the payer has adjudicated
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "submitted"
    assert [c["id"] for c in (await client.get("/v1/claims", headers=T)).json()] == [b["id"]]
    await client.post("/v1/acknowledgments", content=ack_277ca(b["id"], accepted=True), headers=T)
    void_claim = (await client.post(f"/v1/claims/{b['id']}/void", headers=T)).json()
    assert void_claim["frequency"] == "8" and void_claim["original_claim_id"] == b["id"]
    assert void_claim["state"] == "ready" and void_claim["payer_claim_control_number"] == "PAYERICN1"
    again = await client.post(f"/v1/claims/{b['id']}/void", headers=T)
    assert again.status_code == 409 and f"already has a void in progress (claim {void_claim['id']}" in again.text
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "accepted"
    await submit(client, void_claim["id"])
    (aging,) = (await client.get("/v1/reports/ar-aging", headers=T)).json()
    assert (aging["claims"], aging["total_cents"]) == (1, 24550)  # the original; nothing is owed on its void
    x12 = (await client.get(f"/v1/claims/{void_claim['id']}/x12", headers=T)).text
    assert "REF*F8*PAYERICN1~" in x12 and "*11:B:8*" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "accepted"
    # the payer accepts the void; nothing was paid on the original: both are void now
    await client.post("/v1/acknowledgments", content=ack_277ca(void_claim["id"], True, "PAYERICN9"), headers=T)
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "void"
    assert (await client.get(f"/v1/claims/{void_claim['id']}", headers=T)).json()["state"] == "void"
    history = (await client.get(f"/v1/claims/{b['id']}/history", headers=T)).json()
    assert [h["to_state"] for h in history] == ["ready", "submitted", "accepted", "void"]
    assert history[-1]["reason"].startswith(f"void claim {void_claim['id']} accepted by the payer")


async def test_void_of_a_paid_claim_takes_effect_with_the_payers_reversal(client: Any, kafka: KafkaSettings) -> None:
    a = await create(client)
    await submit(client, a["id"])
    paid = Envelope.wrap(encounter_adjudicated(a["id"], 20000, [15000, 5000]), source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", paid, a["id"])])
    void_claim = (await client.post(f"/v1/claims/{a['id']}/void", headers=T)).json()
    await submit(client, void_claim["id"])
    await client.post("/v1/acknowledgments", content=ack_277ca(void_claim["id"], True, "PAYERICN9"), headers=T)
    # accepted, but the payment is not taken back yet: the original stays paid
    assert (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()["state"] == "paid"
    assert (await client.get(f"/v1/claims/{void_claim['id']}", headers=T)).json()["state"] == "accepted"
    reversal = ClaimReversedV1(
        remittance_id="R2",
        claim_id=a["id"],
        payer_id="MCRB1",
        payer_claim_control_number="PAYERICN1",
        reversed_paid_cents=-20000,
        reversed_charge_cents=-24550,
        original_remittance_id="R1",
    )
    env = Envelope.wrap(reversal, source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])
    original = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert (original["state"], original["paid_cents"]) == ("void", 0)
    assert (await client.get(f"/v1/claims/{void_claim['id']}", headers=T)).json()["state"] == "void"
    history = [h["to_state"] for h in (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()]
    assert history == ["ready", "submitted", "paid", "void"]


async def test_a_replacement_of_a_paid_claim_supersedes_it_and_its_reversal_takes_the_money_back(
    client: Any, kafka: KafkaSettings
) -> None:
    """The payer answers a replacement of a paid claim with a reversal of the original's payment and a
    payment of the replacement, in whatever order they reach us: the original ends corrected with nothing
    paid on it (the replacement's payment is the one that stands)."""
    a = await create(client)
    b = await create(client, **{"subscriber.member_id": "W2"})
    for c in (a, b):
        await submit(client, c["id"])
    await consume(
        client,
        kafka,
        [
            (
                "remittance.claim.adjudicated",
                Envelope.wrap(encounter_adjudicated(c["id"], 20000, [15000, 5000]), source="/r", tenant_id="org-1"),
                c["id"],
            )
            for c in (a, b)
        ],
    )
    fixes = {}
    for c in (a, b):
        r = await client.post(
            f"/v1/claims/{c['id']}/correct", headers=T, json={"correction": {"referral_number": "REF1"}}
        )
        assert r.status_code == 201, r.text
        fixes[c["id"]] = r.json()["id"]
        await submit(client, fixes[c["id"]])
        assert (await client.get(f"/v1/claims/{c['id']}", headers=T)).json()["state"] == "paid"
    # b: the payer's 277CA accepts the replacement first; a: the reversal comes first
    await client.post("/v1/acknowledgments", content=ack_277ca(fixes[b["id"]], True, "PAYERICN7"), headers=T)
    assert (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()["state"] == "corrected"

    def reversal(claim_id: str) -> tuple[str, Envelope, str]:
        payload = ClaimReversedV1(
            remittance_id="R2",
            claim_id=claim_id,
            payer_id="MCRB1",
            payer_claim_control_number="PAYERICN1",
            reversed_paid_cents=-20000,
            reversed_charge_cents=-24550,
            original_remittance_id="R1",
        )
        return "remittance.claim.adjudicated", Envelope.wrap(payload, source="/r", tenant_id="org-1"), claim_id

    await consume(client, kafka, [reversal(a["id"]), reversal(b["id"])])
    for c in (a, b):
        original = (await client.get(f"/v1/claims/{c['id']}", headers=T)).json()
        assert (original["state"], original["paid_cents"]) == ("corrected", 0), original
    await client.post("/v1/acknowledgments", content=ack_277ca(fixes[a["id"]], True, "PAYERICN8"), headers=T)
    assert (await client.get(f"/v1/claims/{fixes[a['id']]}", headers=T)).json()["state"] == "accepted"
    history = [h["to_state"] for h in (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()]
    assert history == ["ready", "submitted", "paid", "corrected"]


async def test_a_resubmission_without_a_connection_to_send_it_stays_ready(client: Any, kafka: KafkaSettings) -> None:
    """The organization's profile no longer names a clearinghouse connection: the replacement is built and
    waits, ready, for the billing office (its submission then says why it cannot go); the request is done,
    not retried into the dead-letter topic."""
    from builders.encounters import TODAY
    from practice_steps import connection, enter_practice, profile

    org = {"X-Tenant-ID": "org-2"}
    await enter_practice(client, "org-2", practice=profile("Beta", connections=[connection("BETA02")]))
    a = await create_for(client, org)
    assert (await client.post(f"/v1/claims/{a}/submit", headers=org)).status_code == 200
    await client.post("/v1/acknowledgments", content=ack_277ca(a, accepted=True), headers=org)
    denial = Envelope.wrap(encounter_adjudicated(a, 0, [0, 0]), source="/remittance", tenant_id="org-2")
    await consume(client, kafka, [("remittance.claim.adjudicated", denial, a)])
    await enter_practice(client, "org-2", practice=profile("Beta", since=TODAY))  # drops the connection today
    request = Envelope.wrap(
        ResubmissionRequestedV1(
            denial_id="D1", claim_id=a, reason="missing prior authorization", correction=ClaimCorrection()
        ),
        source="/denials",
        tenant_id="org-2",
    )
    consumer = await consume(client, kafka, [("denials.resubmission.requested", request, a)])
    assert (consumer.stats.handled, consumer.stats.dead_lettered) == (1, 0)
    (replacement,) = [c for c in (await client.get("/v1/claims", headers=org)).json() if c["frequency"] == "7"]
    assert (replacement["state"], replacement["original_claim_id"]) == ("ready", a)


async def create_for(client: Any, headers: dict[str, str]) -> str:
    from builders.encounters import encounter

    r = await client.post("/v1/claims", json=encounter(), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])
