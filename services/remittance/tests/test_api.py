"""The remittance API as an integration engineer calls it: uploads (raw and multipart) and bad input."""

from __future__ import annotations

from typing import Any

from builders import T
from builders.x835 import standard_file
from remittance_steps import X12


async def test_post_raw_and_multipart_then_query(client: Any) -> None:
    r = await client.post("/v1/remittances", content=standard_file(), headers=X12)
    assert r.status_code == 201, r.text
    (posted,) = r.json()["remittances"]
    assert posted["status"] == "posted" and posted["total_paid_cents"] == 13500
    again = await client.post(
        "/v1/remittances", files={"file": ("era.835", standard_file(), "text/plain")}, headers={"X-Tenant-ID": "org-1"}
    )
    assert again.status_code == 200 and again.json()["remittances"][0]["status"] == "duplicate"

    detail = await client.get(f"/v1/remittances/{posted['remittance_id']}", headers=X12)
    assert detail.json()["trace_number"] == "EFT0001"
    claims = (await client.get(f"/v1/remittances/{posted['remittance_id']}/claims", headers=X12)).json()
    assert [c["claim_id"] for c in claims] == ["PCN0001", "PCN0002"]
    assert claims[0]["lines"][0]["allowed_cents"] == 10000
    postings = (await client.get("/v1/claims/PCN0001/postings", headers=X12)).json()
    assert postings["patient_responsibility_cents"] == 2000 and postings["totals_cents"]["payment"] == 8000
    listing = (await client.get("/v1/remittances?payer_id=ACME01", headers=X12)).json()
    assert len(listing) == 1
    totals = (await client.get("/v1/reports/payer-totals", headers=X12)).json()
    assert totals == [
        {
            "payer_id": "ACME01",
            "remittances": 1,
            "paid_cents": 13500,
            "contractual_cents": 4500,
            "patient_responsibility_cents": 3500,
            "provider_adjustment_cents": 0,
        }
    ]
    items = (await client.get("/v1/review-items", headers=X12)).json()
    assert {i["kind"] for i in items} == {"unmatched_claim"}
    resolved = await client.post(
        f"/v1/review-items/{items[0]['id']}/resolve", json={"note": "charge entered late"}, headers=T
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved", resolved.text
    conflict = await client.post(f"/v1/review-items/{items[0]['id']}/resolve", json={"note": "x"}, headers=T)
    assert conflict.status_code == 200  # resolving twice is idempotent


async def test_bad_input_gets_problem_details_and_nothing_is_kept(client: Any) -> None:
    bad = standard_file().replace(b"CLP*PCN0001*1*125*", b"CLP*PCN0001*1*12X5*")
    r = await client.post("/v1/remittances", content=bad, headers=X12)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["detail"].endswith("CLP, element 03: not a decimal: '12X5'")
    assert problem["x12"]["segment_id"] == "CLP" and problem["x12"]["element"] == 3
    assert (await client.get("/v1/remittances", headers=X12)).json() == []
    too_big = await client.post("/v1/remittances", content=b"ISA" + b"x" * (1024 * 1024 + 10), headers=X12)
    assert too_big.status_code == 413
    wrong_type = await client.post("/v1/remittances", json={"a": 1}, headers=T)
    assert wrong_type.status_code == 415
    empty = await client.post("/v1/remittances", content=b"", headers=X12)
    assert empty.status_code == 422
    missing = await client.get("/v1/remittances/nope", headers=X12)
    assert missing.status_code == 404 and missing.json()["title"] == "Not found"
    bad_deposit = await client.post(
        "/v1/deposits", json={"trace_number": "T", "amount_cents": -1, "deposit_date": "2026-02-30"}, headers=T
    )
    assert bad_deposit.status_code == 422
    assert {e["field"] for e in bad_deposit.json()["errors"]} == {"amount_cents", "deposit_date"}
    bad_tenant = await client.get("/v1/remittances", headers={"X-Tenant-ID": "../etc"})
    assert bad_tenant.status_code == 400
