"""Reports (claims.use_cases.reports): KPIs and insurance A/R aging follow the claims.

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


async def test_kpis_and_ar_aging_follow_the_claims(client: Any, kafka: KafkaSettings) -> None:
    paid = await create(client)  # clean, accepted, paid: 20000 of 24550 with CO-45 4550
    held = await create(client, **{"diagnoses": ["E11"]})  # the scrubber holds it: not clean
    rejected = await create(client, **{"subscriber.member_id": "W000000001"})
    denied = await create(client, **{"subscriber.member_id": "W000000002"})
    assert held["state"] == "draft"
    for c in (paid, rejected, denied):
        await submit(client, c["id"])
    await client.post("/v1/acknowledgments", content=ack_277ca(rejected["id"], accepted=False), headers=T)
    sent = (await client.get(f"/v1/claims/{paid['id']}", headers=T)).json()["submitted_at"]
    # the 835 pays 14 days after the claim went out (BPR16), whenever it is processed
    paid_on = datetime.fromisoformat(sent).date() + timedelta(days=14)
    events = [
        (
            "remittance.claim.adjudicated",
            Envelope.wrap(
                encounter_adjudicated(c, amount, [amount]).model_copy(update={"payment_date": paid_on}),
                source="/r",
                tenant_id="org-1",
            ),
            c,
        )
        for c, amount in ((paid["id"], 20000), (denied["id"], 0))
    ]
    await consume(client, kafka, events)
    kpis = (await client.get("/v1/reports/kpis", headers=T)).json()
    assert (kpis["claims"], kpis["submitted"], kpis["adjudicated"]) == (4, 3, 2)
    assert kpis["clean_claim_rate"] == 0.5  # paid and denied passed the scrubber and were not rejected
    assert kpis["first_pass_yield"] == round(1 / 3, 4)
    assert kpis["denial_rate"] == 0.5
    # paid 20000 of what the payers owed: 2 x 24550 charged - 4550 contractual (the denial's CO-50 is not)
    assert kpis["net_collection_rate"] == round(20000 / (2 * 24550 - 4550), 4)
    assert kpis["average_days_to_payment"] == 14.0
    assert (await client.get(f"/v1/claims/{paid['id']}", headers=T)).json()["paid_on"] == paid_on.isoformat()
    aging = (await client.get("/v1/reports/ar-aging", headers=T)).json()
    assert aging == [
        {
            "payer_id": "MCRB1",
            "claims": 2,
            "total_cents": 2 * 24550,
            "0-30": 2 * 24550,
            "31-60": 0,
            "61-90": 0,
            "91-120": 0,
            "120+": 0,
            "credit_claims": 0,
            "credit_cents": 0,
        }
    ]  # the rejected and the denied claim; the paid one is settled, the held one never reached a payer
    in_half_a_year = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()  # 210 days after service
    later = (await client.get("/v1/reports/ar-aging", params={"as_of": in_half_a_year}, headers=T)).json()
    assert later[0]["120+"] == 2 * 24550
    other = (await client.get("/v1/reports/kpis", headers={"X-Tenant-ID": "org-2"})).json()
    assert other["claims"] == 0 and other["clean_claim_rate"] is None
