"""The payer's 835s (claims.use_cases.adjudication): payments, redelivery, crossovers.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from builders import T
from builders.acks import ack_277ca
from builders.events import encounter_adjudicated
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    consume,
    create,
    submit,
)
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1


async def test_payment_before_acceptance_and_redelivery_move_the_claim_once(client: Any, kafka: KafkaSettings) -> None:
    a = await create(client)
    await submit(client, a["id"])
    paid = Envelope.wrap(encounter_adjudicated(a["id"], 20000, [15000, 5000]), source="/remittance", tenant_id="org-1")
    denied_other = Envelope.wrap(encounter_adjudicated("CUNKNOWN", 0, []), source="/remittance", tenant_id="org-1")
    stats = await consume(
        client,
        kafka,
        [
            ("remittance.claim.adjudicated", paid, a["id"]),
            ("remittance.claim.adjudicated", paid, a["id"]),  # redelivered
            ("remittance.claim.adjudicated", denied_other, "CUNKNOWN"),
        ],
    )
    assert stats.stats.handled == 2 and stats.stats.duplicates == 1
    claim = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert claim["state"] == "paid" and claim["paid_cents"] == 20000
    # The 277CA acceptance arrives after the payment: recorded, not lost, and the claim stays paid.
    await client.post("/v1/acknowledgments", content=ack_277ca(a["id"], accepted=True), headers=T)
    claim = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert claim["state"] == "paid" and claim["status_detail"]["source"] == "277CA"
    history = [h["to_state"] for h in (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()]
    assert history == ["ready", "submitted", "paid"]


async def test_a_crossover_is_not_billed_to_the_secondary_and_waits_for_its_835(
    client: Any, kafka: KafkaSettings
) -> None:
    """Medicare answers CLP02 19 with NM1*TT: it forwarded the claim to the Medigap plan itself. No secondary
    claim from us (it would be a duplicate, CO-18); the carrier is recorded; the claim is on the follow-up list
    once the carrier's 835 is late; that 835 (same claim id) completes the claim's money."""
    secondary = {
        "payer_id": "MGAP1",
        "name": "MEDIGAP MUTUAL",
        "filing_indicator": "CI",
        "subscriber": {
            "last_name": "Doe",
            "first_name": "Jane",
            "member_id": "MG77",
            "birth_date": "1950-02-28",
            "sex": "F",
            "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
        },
    }
    a = await create(client, secondary_payer=secondary)
    await submit(client, a["id"])
    # Medicare paid (BPR16) 20 days before its 835 is processed here: the crossover payer's wait counts from then
    paid_on = datetime.now(UTC).date() - timedelta(days=20)
    common = {"remittance_id": "R19", "claim_id": a["id"], "charge_cents": 24550, "payment_date": paid_on}
    medicare = ClaimAdjudicatedV1(
        **common,
        payer_id="MCRB1",
        payer_claim_control_number="MCR19",
        status_code="19",
        paid_cents=16000,
        patient_responsibility_cents=4000,
        contractual_cents=4550,
        adjustments=[
            AdjustmentOut(group="CO", reason="45", amount_cents=4550, line_number=1),
            AdjustmentOut(group="PR", reason="2", amount_cents=4000, line_number=1),
        ],
        crossover_payer_id="MGAP1",
        crossover_payer_name="MEDIGAP MUTUAL",
    )
    env = Envelope.wrap(medicare, source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])
    claims = (await client.get("/v1/claims", headers=T)).json()
    assert [c["id"] for c in claims] == [a["id"]]  # no secondary claim
    (c,) = claims
    assert c["state"] == "paid" and c["crossover_payer_id"] == "MGAP1" and c["crossover_state"] == "pending"
    assert c["crossover_payer_name"] == "MEDIGAP MUTUAL"

    async def listed(days: int) -> dict[str, dict[str, Any]]:
        as_of = (datetime.now(UTC).date() + timedelta(days=days)).isoformat()
        r = await client.get("/v1/follow-up", params={"as_of": as_of}, headers=T)
        assert r.status_code == 200, r.text
        return {i["claim_id"]: i for i in r.json()}

    assert a["id"] not in await listed(10)  # the default rules' payment_days for MGAP1: 30
    late = (await listed(11))[a["id"]]
    assert late["days_outstanding"] == 31
    assert late["reason"] == "no_crossover_payment" and late["next_action"] == "contact_crossover_payer"
    assert late["payer_id"] == "MGAP1" and not late["inquiry_due"]

    answer = ClaimAdjudicatedV1(
        **common | {"remittance_id": "R2"},
        payer_id="MGAP1",
        payer_claim_control_number="MG2",
        status_code="2",
        paid_cents=4000,
        patient_responsibility_cents=0,
        contractual_cents=0,
        adjustments=[AdjustmentOut(group="OA", reason="23", amount_cents=20550, line_number=1)],
        crossover_answer=True,
    )
    env = Envelope.wrap(answer, source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])
    (c,) = (await client.get("/v1/claims", headers=T)).json()
    assert c["state"] == "paid" and c["crossover_state"] == "answered"
    assert (c["paid_cents"], c["patient_responsibility_cents"]) == (20000, 0)
    assert a["id"] not in await listed(31)
