"""Secondary billing (claims.use_cases.secondary_billing): the claim to the secondary payer with the primary's COB.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from builders import T
from builders.encounters import encounter
from claims.models import bus
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    consume,
    create,
    pyx12,
    submit,
)
from rcm_shared.config import KafkaSettings
from rcm_shared.events import Envelope
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1, LinePaymentOut


async def test_secondary_claim_with_prior_payer_adjudication_passes_pyx12(client: Any, tmp_path: Path) -> None:
    prior = {
        "payer_id": "MCRB1",
        "name": "Medicare Part B",
        "responsibility": "P",
        "filing_indicator": "MB",
        "subscriber": {"last_name": "Doe", "first_name": "Jane", "member_id": "1EG4TE5MK73"},
        "paid": "160.00",
        "paid_date": "2026-11-01",
        "remaining_patient_liability": "40.00",
        "adjustments": [
            {"group": "CO", "reason": "45", "amount": "45.50"},
            {"group": "PR", "reason": "2", "amount": "40.00"},
        ],
    }
    doc = encounter(
        **{"payer": {"payer_id": "AARP1", "name": "AARP Medigap", "responsibility": "S", "filing_indicator": "CI"}}
    )
    doc["prior_payers"] = [prior]
    doc["lines"][0]["prior_payments"] = [
        {
            "paid": "130.00",
            "paid_date": "2026-11-01",
            "adjustments": [
                {"group": "CO", "reason": "45", "amount": "40.00"},
                {"group": "PR", "reason": "2", "amount": "30.00"},
            ],
        }
    ]
    doc["lines"][1]["prior_payments"] = [
        {
            "paid": "30.00",
            "paid_date": "2026-11-01",
            "adjustments": [
                {"group": "CO", "reason": "45", "amount": "5.50"},
                {"group": "PR", "reason": "2", "amount": "10.00"},
            ],
        }
    ]
    r = await client.post("/v1/claims", json=doc, headers=T)
    assert r.json()["state"] == "ready", r.json()["edits"]
    await submit(client, r.json()["id"])
    x12 = (await client.get(f"/v1/claims/{r.json()['id']}/x12", headers=T)).text
    assert "SBR*P*18" in x12 and "AMT*D*160~" in x12 and "SVD*MCRB1*130*HC:99214:25" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")


async def test_primary_adjudication_builds_the_secondary_claim(
    client: Any, kafka: KafkaSettings, tmp_path: Path
) -> None:
    secondary = {
        "payer_id": "AARP1",
        "name": "AARP Medigap",
        "filing_indicator": "CI",
        "subscriber": {
            "last_name": "Doe",
            "first_name": "Jane",
            "member_id": "AARP77",
            "birth_date": "1980-02-29",
            "sex": "F",
            "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
        },
    }
    a = await create(client, secondary_payer=secondary)
    await submit(client, a["id"])
    event = ClaimAdjudicatedV1(
        remittance_id="R9",
        claim_id=a["id"],
        payer_id="MCRB1",
        payer_claim_control_number="PCCN9",
        status_code="1",
        charge_cents=24550,
        paid_cents=16000,
        patient_responsibility_cents=4000,
        contractual_cents=4550,
        adjustments=[
            AdjustmentOut(group="CO", reason="45", amount_cents=4000, line_number=1),
            AdjustmentOut(group="PR", reason="2", amount_cents=3000, line_number=1),
            AdjustmentOut(group="CO", reason="45", amount_cents=550, line_number=2),
            AdjustmentOut(group="PR", reason="2", amount_cents=1000, line_number=2),
        ],
        lines=[
            LinePaymentOut(
                line_number=1, line_control_number=None, procedure_code="99214", charge_cents=20000, paid_cents=13000
            ),
            LinePaymentOut(
                line_number=2, line_control_number=None, procedure_code="83036", charge_cents=4550, paid_cents=3000
            ),
        ],
        payment_date=date(2026, 11, 20),
    )
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])
    claims = (await client.get("/v1/claims", headers=T)).json()
    second = next(c for c in claims if c["payer_id"] == "AARP1")
    assert second["state"] == "ready" and second["frequency"] == "1" and second["original_claim_id"] == a["id"]
    assert second["document"]["prior_payers"][0]["paid"] == "160.00"
    await submit(client, second["id"])
    x12 = (await client.get(f"/v1/claims/{second['id']}/x12", headers=T)).text
    assert "SBR*S*18" in x12 and "AMT*D*160~" in x12 and "SVD*MCRB1*130*HC:99214:25" in x12
    assert pyx12(x12, tmp_path).endswith(": OK")
    await consume(client, kafka, [("remittance.claim.adjudicated", env, a["id"])])  # redelivered: no second copy
    assert sum(c["payer_id"] == "AARP1" for c in (await client.get("/v1/claims", headers=T)).json()) == 1
    # remittance learns from the events whose claims these are and who pays next: one patient, one account

    from sqlalchemy import select

    async with client.app.state.engine.connect() as conn:
        rows = await conn.execute(
            select(bus.outbox.c.key, bus.outbox.c.payload).where(bus.outbox.c.key.in_([a["id"], second["id"]]))
        )
        events = [(key, json.loads(payload)) for key, payload in rows]
    primary = [e for k, e in events if k == a["id"]]
    secondary_events = [e for k, e in events if k == second["id"]]
    assert {e["next_payer_id"] for e in primary} == {"AARP1"} and {e["next_payer_id"] for e in secondary_events} == {
        None
    }
    accounts = {e["patient_account"] for _k, e in events}
    assert len(accounts) == 1 and next(iter(accounts)).startswith("A")
    assert a["patient_account"] == second["patient_account"] == next(iter(accounts))
    other = await create(client, **{"subscriber.first_name": "John", "subscriber.member_id": "W999"})
    assert other["patient_account"] not in (None, a["patient_account"])
