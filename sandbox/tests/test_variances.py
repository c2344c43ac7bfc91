"""GET /sandbox/variances and GET /sandbox/payers/{id}/contract: what the plan book's rules moved off each payer's
contract, line by line, equals to the cent what a platform finds by pricing the 835s against that contract."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, ProviderAdjustment, iter_835
from rcm_shared.x12.sets.x837 import Claim, Payer
from sandbox.clearinghouse import Clearinghouse
from sandbox.payers import mbi

sys.path.insert(0, str(Path(__file__).parent))
from test_clearinghouse import MET, claim, interchange, verdict
from test_sandbox_pricing import book_with

# Claims the payer takes in time (its timely filing counts from the date of service): dated from today, as
# test_clearinghouse's pinned day is past that limit once the clock moves on.
RECENT = date.today() - timedelta(days=5)

VISITS = [
    [("99213", "150.00")],
    [("99214", "220.00"), ("83036", "45.00"), ("36415", "20.00")],
    [("99213", "150.00"), ("80061", "70.00"), ("36415", "20.00")],
    [("99214", "220.00"), ("93000", "75.00")],
    [("99203", "190.00"), ("71046", "120.00")],
    [("99213", "150.00"), ("85025", "45.00"), ("36415", "20.00")],
]


@contextlib.asynccontextmanager
async def sandbox(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, book: Path | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The sandbox app (plan book ``book``, else the bundled one) with its spool and filedrop folders under
    ``tmp``, every delay 0: the answers are due at once."""
    for name, value in {
        "SANDBOX_SPOOL_DIR": tmp / "spool",
        "SANDBOX_INBOX_DIR": "",
        "SANDBOX_DELIVERY": "filedrop",
        "SANDBOX_ACK_DIR": tmp / "acks",
        "SANDBOX_ERA_DIR": tmp / "835",
        "SANDBOX_DELAY_SCALE": "0",
        "SANDBOX_SEED": "1",
        "SANDBOX_PAYERS_FILE": book or "",
    }.items():
        monkeypatch.setenv(name, str(value))
    from sandbox.main import create_app

    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        yield client, app


async def submit(client: httpx.AsyncClient, app: FastAPI, claims: list[Claim]) -> None:
    response = await client.post("/x12/837", content=interchange(claims))
    assert response.status_code == 200 and "IK5*A" in response.text
    house: Clearinghouse = app.state.clearinghouse
    await house.deliver_due()
    assert not [p for p in house.pending.iterdir() if not p.name.startswith(".")]


def eras(folder: Path) -> list[str]:
    return [p.read_text() for p in sorted(folder.glob("*.835"))]


def assert_balanced(text: str) -> None:
    """The 835 balancing rules: BPR02 = sum(CLP04) - sum(PLB); per claim CLP03 - CLP04 = every CAS of the claim
    and its lines, CLP05 = its PR adjustments; per line SVC02 - SVC03 = its CAS; AMT*B6 = SVC02 - CO/OA."""
    items = list(iter_835(text.encode()))
    header = next(i for i in items if isinstance(i, PaymentHeader))
    claims = [i for i in items if isinstance(i, ClaimPayment)]
    plb = sum((i.amount for i in items if isinstance(i, ProviderAdjustment)), D(0))
    assert header.total_paid == sum((c.paid for c in claims), D(0)) - plb
    for c in claims:
        assert c.charge - c.paid == c.adjustment_total(), c.patient_control_number
        patient = sum((a.amount for s in c.services for a in s.adjustments if a.group == "PR"), D(0))
        assert (c.patient_responsibility or D(0)) == patient, c.patient_control_number
        for s in c.services:
            assert s.charge - s.paid == sum((a.amount for a in s.adjustments), D(0))
            if "B6" in s.amounts:
                contractual = sum((a.amount for a in s.adjustments if a.group in ("CO", "OA")), D(0))
                assert s.amounts["B6"] == s.charge - contractual, c.patient_control_number


async def test_a_claim_the_rule_underpays_is_listed_with_its_variance_until_it_is_voided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every ACME01 claim drawn: its 99214 lines allowed 10% below the contract's 131.00, 117.90 (13.10 under)
    book_with(tmp_path, "ACME01", underpay='{ percent = "100", codes = ["99214"], by_percent = "10" }')
    async with sandbox(tmp_path, monkeypatch, tmp_path / "payers.toml") as (client, app):
        await _underpaid_then_voided(tmp_path, client, app)


async def _underpaid_then_voided(tmp_path: Path, client: httpx.AsyncClient, app: FastAPI) -> None:
    house: Clearinghouse = app.state.clearinghouse
    kept = claim("KEPT", MET[0], ("99214", "220.00"), ("36415", "20.00"), dos=RECENT)
    voided = claim("GONE", MET[1], ("99214", "220.00"), dos=RECENT)
    await submit(client, app, [kept, voided])
    for text in eras(tmp_path / "835"):
        assert verdict(text, tmp_path) == "OK", text
        assert_balanced(text)
    allowed = {
        (p.patient_control_number, s.procedure.code): s.amounts["B6"]
        for text in eras(tmp_path / "835")
        for p in iter_835(text.encode())
        if isinstance(p, ClaimPayment) and p.status != "22"  # the standing payment (one paid wrong is reversed)
        for s in p.services
    }
    assert allowed == {("KEPT", "99214"): D("117.90"), ("KEPT", "36415"): D("3.00"), ("GONE", "99214"): D("117.90")}
    report = (await client.get("/sandbox/variances")).json()
    assert report["totals"] == {
        "under": {"lines": 2, "claims": 2, "amount": "26.20", "amount_cents": 2620},
        "over": {"lines": 0, "claims": 0, "amount": "0.00", "amount_cents": 0},
    }
    first = next(i for i in report["items"] if i["claim_id"] == "KEPT")
    icn = house.known_claims()["KEPT"]["icn"]
    assert first == {
        "claim_id": "KEPT",
        "payer_id": "ACME01",
        "submitter_id": "RCMCLINIC",
        "payer_claim_control_number": icn,
        "line": 1,
        "line_control_number": "KEPT-1",
        "code": "99214",
        "modifiers": [],
        "units": "1",
        "charge": "220.00",
        "contract_allowed": "131.00",
        "allowed": "117.90",
        "kind": "under",
        "variance": "13.10",
        "variance_cents": 1310,
        "standing": True,
        "superseded_by": None,
        "sent": True,
    }
    # the void takes GONE's payment back: its variance is listed, no longer counted
    gone_icn = str(house.known_claims()["GONE"]["icn"])
    await submit(client, app, [replace(voided, claim_id="VOID1", frequency="8", payer_claim_control_number=gone_icn)])
    report = (await client.get("/sandbox/variances")).json()
    assert report["totals"]["under"] == {"lines": 1, "claims": 1, "amount": "13.10", "amount_cents": 1310}
    gone = next(i for i in report["items"] if i["claim_id"] == "GONE")
    assert (gone["standing"], gone["superseded_by"]) == (False, "VOID1")
    # filtered: by payer, by submitter
    assert (await client.get("/sandbox/variances", params={"payer_id": "MCRB1"})).json()["items"] == []
    other = (await client.get("/sandbox/variances", params={"submitter_id": "SOMEONE"})).json()
    assert other["items"] == [] and other["totals"]["under"]["amount_cents"] == 0
    mine = (await client.get("/sandbox/variances", params={"submitter_id": "RCMCLINIC"})).json()
    assert len(mine["items"]) == 2
    assert (await client.get("/sandbox/variances", params={"payer_id": "NOPE"})).status_code == 404


def _expected(terms: dict[str, Any], code: str, units: D, charge: D) -> D:
    rate = terms["fee_schedule"].get(code)
    amount = D(rate) * units if rate is not None else charge * D(terms["default_allowed_percent"]) / 100
    return min(amount.quantize(D("0.01"), rounding=ROUND_HALF_UP), charge)


async def test_a_platform_pricing_the_835s_by_the_published_contracts_finds_every_variance_to_the_cent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sandbox(tmp_path, monkeypatch) as (client, app):
        await _day_priced_by_the_platform(tmp_path, client, app)


async def _day_priced_by_the_platform(tmp_path: Path, client: httpx.AsyncClient, app: FastAPI) -> None:
    medicare = Payer("MEDICARE PART B", "MCRB1")
    acme = [f"ACM{n:07d}" for n in range(200, 420) if n % 40]
    claims = [claim(f"A{n}", m, *VISITS[n % len(VISITS)], dos=RECENT) for n, m in enumerate(acme)]
    claims += [claim(f"M{n}", mbi(n), *VISITS[n % len(VISITS)], payer=medicare, dos=RECENT) for n in range(300, 420)]
    await submit(client, app, claims)
    contracts = {p: (await client.get(f"/sandbox/payers/{p}/contract")).json() for p in ("ACME01", "MCRB1")}
    assert (await client.get("/sandbox/payers/NOPE/contract")).status_code == 404
    texts = eras(tmp_path / "835")
    standing: dict[tuple[str, str], ClaimPayment] = {}  # (payer, claim id) -> its last payment (after a reversal)
    for text in texts:
        assert verdict(text, tmp_path) == "OK", text
        assert_balanced(text)
        items = list(iter_835(text.encode()))
        payer = next(i for i in items if isinstance(i, PaymentHeader)).payer_id
        for p in items:
            if isinstance(p, ClaimPayment) and p.status != "22" and payer in contracts:
                standing[(payer, p.patient_control_number)] = p
    found = {"under": D(0), "over": D(0)}
    for (payer, _claim_id), p in standing.items():
        for s in p.services:
            denied = any(a.group == "CO" and a.reason != "45" for a in s.adjustments)
            if denied or s.units is None:
                continue
            variance = s.amounts["B6"] - _expected(contracts[payer], s.procedure.code, s.units, s.charge)
            if variance:
                found["under" if variance < 0 else "over"] += abs(variance)
    report = (await client.get("/sandbox/variances")).json()
    totals = report["totals"]
    assert totals["under"]["amount_cents"] == int(found["under"] * 100) > 0
    assert totals["over"]["amount_cents"] == int(found["over"] * 100) > 0
    assert sum(i["variance_cents"] for i in report["items"] if i["kind"] == "under") == totals["under"]["amount_cents"]
    by_payer = {
        p: (await client.get("/sandbox/variances", params={"payer_id": p})).json()["totals"]
        for p in ("ACME01", "MCRB1")
    }
    assert sum(t["under"]["amount_cents"] for t in by_payer.values()) == totals["under"]["amount_cents"]
    assert all(t["under"]["claims"] > 0 for t in by_payer.values())
