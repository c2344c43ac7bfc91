"""Denials: classification, the work queue, actions and analytics (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from denials.config import DenialsSettings
from denials.domain.classify import CATEGORIES, default_rules
from denials.domain.triage import findings, priority, recovery_probability
from denials.handlers import Unit, due_deadlines, on_adjudicated, on_adjudicated_many, on_claim_status, on_reversed
from denials.models import adjudication_seen, bus
from rcm_shared.events import Envelope
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import AdjustmentOut, ClaimAdjudicatedV1, ClaimReversedV1, LinePaymentOut
from rcm_shared.testing import app_client
from sqlalchemy import select

T = {"X-Tenant-ID": "org-1"}


def adj(
    claim_id: str,
    paid: int,
    adjustments: list[tuple[str, str, int, int | None]],
    *,
    charge: int = 10000,
    lines: list[tuple[int, int]] | None = None,
    remarks: list[str] | None = None,
    remittance: str = "R1",
    payer: str = "ACME01",
    status: str | None = None,
) -> ClaimAdjudicatedV1:
    return ClaimAdjudicatedV1(
        remittance_id=remittance,
        claim_id=claim_id,
        payer_id=payer,
        payer_claim_control_number="PCCN-" + claim_id,
        status_code=status or ("4" if paid == 0 else "1"),
        charge_cents=charge,
        paid_cents=paid,
        patient_responsibility_cents=0,
        contractual_cents=0,
        adjustments=[AdjustmentOut(group=g, reason=r, amount_cents=a, line_number=ln) for g, r, a, ln in adjustments],
        remarks=remarks or [],
        payment_date=date.today(),
        lines=[
            LinePaymentOut(
                line_number=n, line_control_number=None, procedure_code="99213", charge_cents=c, paid_cents=p
            )
            for n, (c, p) in enumerate(lines or [], start=1)
        ],
    )


# What a billing specialist files each adjustment under, written from the X12 CARC/RARC code lists (the
# comment is the code's meaning), not read from classification.csv. (group, CARC, RARCs, category)
DENIAL_CASES = [
    ("CO", "27", [], "eligibility"),  # expenses incurred after coverage terminated
    ("CO", "31", [], "eligibility"),  # patient cannot be identified as our insured
    ("CO", "197", [], "authorization"),  # precertification/authorization/notification absent
    ("CO", "15", [], "authorization"),  # the authorization number is missing, invalid or does not apply
    ("CO", "97", [], "coding_bundling"),  # included in the allowance for another service
    ("CO", "4", [], "coding_bundling"),  # procedure code inconsistent with the modifier used
    ("CO", "50", [], "medical_necessity"),  # not deemed a medical necessity by the payer
    ("CO", "16", ["N290"], "missing_information"),  # lacks information: rendering provider id missing
    ("CO", "16", [], "missing_information"),  # claim lacks information or has submission/billing errors
    ("CO", "29", [], "timely_filing"),  # the time limit for filing has expired
    ("OA", "18", [], "duplicate"),  # exact duplicate claim/service
    ("OA", "22", [], "coordination_of_benefits"),  # may be covered by another payer (COB)
    ("CO", "109", [], "coordination_of_benefits"),  # not covered by this payer: send to the correct one
    ("CO", "96", [], "contractual"),  # non-covered charge(s)
    ("PR", "204", [], "contractual"),  # not covered under the patient's current benefit plan
    ("CO", "Z99", [], "unclassified"),  # no such CARC: a person must look
]
# Adjustments of a claim processed as agreed: the fee schedule and the patient's share deny nothing.
NOT_DENIAL_CASES = [
    ("CO", "45", "contractual_adjustment"),  # charge exceeds fee schedule/maximum allowable
    ("CO", "253", "contractual_adjustment"),  # sequestration reduction
    ("PR", "1", "patient_responsibility"),  # deductible amount
    ("PR", "2", "patient_responsibility"),  # coinsurance amount
    ("PR", "3", "patient_responsibility"),  # co-payment amount
]


@pytest.mark.parametrize(
    ("group", "carc", "rarcs", "category"),
    DENIAL_CASES,
    ids=["-".join(c[:2]) + "".join(f"+{r}" for r in c[2]) for c in DENIAL_CASES],
)
def test_every_category(group: str, carc: str, rarcs: list[str], category: str) -> None:
    rules = default_rules()
    (f,) = findings(adj("C1", 0, [(group, carc, 10000, None)], remarks=rarcs), rules)
    assert (f.classification.category, f.amount_cents, f.line_number) == (category, 10000, None)
    assert f.carcs == [f"{group}-{carc}"] and f.rarcs == rarcs
    # the same adjustment on one line of a paid claim denies that line, under the same category
    paid = adj("C2", 5000, [(group, carc, 5000, 2)], lines=[(5000, 5000), (5000, 0)], remarks=rarcs)
    (line,) = findings(paid, rules)
    assert (line.classification.category, line.amount_cents, line.line_number) == (category, 5000, 2)


@pytest.mark.parametrize(
    ("group", "carc", "category"), NOT_DENIAL_CASES, ids=[f"{c[0]}-{c[1]}" for c in NOT_DENIAL_CASES]
)
def test_contractual_adjustments_and_the_patient_share_are_no_denial(group: str, carc: str, category: str) -> None:
    rules = default_rules()
    assert rules.classify(group, carc, []).category == category
    assert findings(adj("C1", 0, [(group, carc, 10000, None)]), rules) == []
    assert findings(adj("C2", 5000, [(group, carc, 5000, 1)], lines=[(10000, 5000)]), rules) == []


def test_the_cases_name_every_category() -> None:
    """A category added to the classifier needs its case above; underpayment, which no CARC carries (the
    contracted rate does), is test_underpayment_against_the_contracted_rate's."""
    named = {c[3] for c in DENIAL_CASES} | {c[2] for c in NOT_DENIAL_CASES} | {"underpayment"}
    assert named == set(CATEGORIES)


def test_multi_cas_claim_picks_the_largest_denial_reason_and_ignores_contractual_and_patient_share() -> None:
    event = adj(
        "C1",
        0,
        [("CO", "45", 3000, None), ("PR", "1", 1000, None), ("CO", "16", 2000, None), ("CO", "197", 4000, None)],
        remarks=["N290"],
    )
    (f,) = findings(event, default_rules())
    assert f.classification.category == "authorization" and f.amount_cents == 6000
    assert f.carcs == ["CO-16", "CO-197", "CO-45", "PR-1"] and f.rarcs == ["N290"]


def test_rarc_refines_the_classification() -> None:
    rules = default_rules()
    assert rules.classify("CO", "16", ["N290"]).root_cause == "rendering provider identifier missing or invalid"
    assert rules.classify("CO", "16", []).root_cause == "claim lacks information or has submission errors"


def test_line_level_denials_on_a_paid_claim() -> None:
    event = adj(
        "C2",
        8000,
        [("CO", "45", 2000, 1), ("CO", "97", 5000, 2), ("CO", "45", 500, 3)],
        charge=15500,
        lines=[(10000, 8000), (5000, 0), (500, 0)],
    )
    (f,) = findings(event, default_rules())
    assert (f.line_number, f.classification.category, f.amount_cents) == (2, "coding_bundling", 5000)


def test_a_crossover_payers_prior_payer_adjustment_is_no_denial() -> None:
    """The Medigap plan's own 835 for a claim Medicare forwarded: CARC 23 carries Medicare's part."""
    event = adj("C8", 2000, [("OA", "23", 8000, 1)], charge=10000, lines=[(10000, 2000)], status="2")
    assert findings(event.model_copy(update={"crossover_answer": True}), default_rules()) == []
    (f,) = findings(event, default_rules())  # the same CARC on a payment that is no crossover answer
    assert f.classification.category == "coordination_of_benefits"


def test_underpayment_against_the_contracted_rate(tmp_path: Any) -> None:
    from denials.domain.triage import load_fee_schedule

    fees_file = tmp_path / "fees.csv"
    fees_file.write_text("payer_id,procedure_code,allowed\nACME01,99213,92.50\n")
    fees = load_fee_schedule(fees_file)
    # Allowed 80.00 (paid 60 + coinsurance 20) against a contracted 92.50: 12.50 short.
    event = adj("C6", 6000, [("CO", "45", 2000, 1), ("PR", "2", 2000, 1)], charge=10000, lines=[(10000, 6000)])
    (f,) = findings(event, default_rules(), fees)
    assert (f.classification.category, f.amount_cents, f.line_number) == ("underpayment", 1250, 1)
    assert "below the contracted 92.50" in f.classification.root_cause
    fair = adj("C7", 7250, [("CO", "45", 750, 1), ("PR", "2", 2000, 1)], charge=10000, lines=[(10000, 7250)])
    assert findings(fair, default_rules(), fees) == []
    assert findings(event, default_rules()) == []  # no rate known: no underpayment claimed


def test_bad_input_becomes_unclassified_never_dropped() -> None:
    (f,) = findings(adj("C3", 0, []), default_rules())  # nothing paid, no reason given
    assert f.classification.category == "unclassified" and f.classification.action == "review"
    assert findings(adj("C4", 0, [("PR", "1", 10000, None)]), default_rules()) == []  # all deductible: not a denial
    assert findings(adj("C5", -5000, [], status="22"), default_rules()) == []  # reversals are not denials


def test_priority_math() -> None:
    assert recovery_probability("missing_information", 0, 0) == pytest.approx(5 / 6)
    assert recovery_probability("timely_filing", 0, 0) == pytest.approx(0.1)
    assert recovery_probability("authorization", 6, 0) == pytest.approx(9 / 12)
    today = date(2026, 11, 28)
    far, near = (
        priority(10000, 0.5, today + timedelta(days=60), today),
        priority(10000, 0.5, today + timedelta(days=5), today),
    )
    assert far == 50.0 and near == 200.0 and priority(10000, 0.5, today - timedelta(days=1), today) == 0.0


@pytest.fixture
async def client(db_factory: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    db = await db_factory("denials")
    monkeypatch.setenv("DENIALS_DATABASE_URL", db.url)
    monkeypatch.setenv("DENIALS_DB_SCHEMA", db.schema)
    from denials.config import get_settings
    from denials.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c


async def feed(client: Any, event: ClaimAdjudicatedV1) -> list[str]:
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        return await on_adjudicated(Unit(conn, "org-1", DenialsSettings()), event, default_rules(), env)


async def test_redelivered_event_opens_one_denial_and_payment_on_appeal_recovers_it(client: Any) -> None:
    event = adj("C10", 0, [("CO", "197", 10000, None)])
    first = await feed(client, event)
    again = await feed(client, event)  # the same remittance again
    assert len(first) == 1 and again == []
    queue = (await client.get("/v1/denials", headers=T)).json()
    assert [d["id"] for d in queue] == first and queue[0]["recovery_probability"] == 0.5
    r = await client.post(
        f"/v1/denials/{first[0]}/actions", json={"action": "appeal", "note": "auth was on file"}, headers=T
    )
    assert r.status_code == 200 and r.json()["status"] == "appealed"
    assert "Re: appeal of claim C10" in r.json()["appeal_letter"]
    pdf = await client.get(f"/v1/denials/{first[0]}/appeal.pdf", headers=T)
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert pdf.headers["content-type"] == "application/pdf" and "Amount in dispute: $100.00" in text
    await feed(client, adj("C10", 9000, [("CO", "45", 1000, None)], remittance="R2"))  # paid on appeal
    detail = (await client.get(f"/v1/denials/{first[0]}", headers=T)).json()
    assert detail["status"] == "recovered" and detail["recovered_cents"] == 9000
    assert [h["action"] for h in detail["history"]] == ["opened", "appealed", "recovered"]
    # a closed denial still takes a note (the member id was fixed and the claim sent again as the payer paid
    # it), and nothing that would reopen or move it
    noted = await client.post(
        f"/v1/denials/{first[0]}/actions", json={"action": "comment", "note": "patient called"}, headers=T
    )
    assert noted.status_code == 200 and noted.json()["status"] == "recovered"
    assert [h["action"] for h in noted.json()["history"]] == ["opened", "appealed", "recovered", "comment"]
    for action in ({"action": "write_off", "note": "x"}, {"action": "assign", "assignee": "maria"}):
        again = await client.post(f"/v1/denials/{first[0]}/actions", json=action, headers=T)
        assert again.status_code == 409 and "already recovered" in again.json()["detail"]
    async with client.app.state.engine.connect() as conn:
        topics = [r.topic for r in await conn.execute(select(bus.outbox).order_by(bus.outbox.c.id))]
    assert topics == ["denials.denial.opened", "denials.appeal.sent", "denials.denial.resolved"]


async def test_adjudications_handled_together_open_and_recover_as_one_at_a_time(client: Any) -> None:
    # in one call: C20 denied, C21 paid (nothing to recover), C20 paid by a later remittance (recovers the
    # denial opened earlier in the same call), C22 denied
    events = [
        adj("C20", 0, [("CO", "197", 10000, None)]),
        adj("C21", 9000, [("CO", "45", 1000, None)]),
        adj("C20", 9000, [("CO", "45", 1000, None)], remittance="R2"),
        adj("C22", 0, [("CO", "50", 10000, None)]),
    ]
    async with client.app.state.engine.begin() as conn:
        items = [(e, Envelope.wrap(e, source="/remittance", tenant_id="org-1")) for e in events]
        opened = await on_adjudicated_many(Unit(conn, "org-1", DenialsSettings()), items, default_rules())
    assert len(opened) == 2
    got = {d["claim_id"]: d for d in [(await client.get(f"/v1/denials/{i}", headers=T)).json() for i in opened]}
    assert (got["C20"]["status"], got["C20"]["recovered_cents"]) == ("recovered", 9000)
    assert got["C22"]["status"] == "open"
    async with client.app.state.engine.connect() as conn:
        seen = list(await conn.execute(select(adjudication_seen.c.claim_id).order_by(adjudication_seen.c.id)))
    assert [r.claim_id for r in seen] == ["C20", "C21", "C20", "C22"]


async def test_a_payer_reversal_is_noted_on_the_denial_it_takes_back_and_the_corrected_payment_recovers_it(
    client: Any,
) -> None:
    opened = await feed(client, adj("C15", 0, [("CO", "197", 10000, None)]))
    other = await feed(client, adj("C16", 0, [("CO", "197", 10000, None)]))

    async def reverse(claim_id: str, original: str | None) -> int:
        event = ClaimReversedV1(
            remittance_id="R2",
            claim_id=claim_id,
            payer_id="ACME01",
            payer_claim_control_number="PCCN-" + claim_id,
            reversed_paid_cents=0,
            reversed_charge_cents=-10000,
            original_remittance_id=original,
        )
        env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
        async with client.app.state.engine.begin() as conn:
            return await on_reversed(Unit(conn, "org-1", DenialsSettings()), event, env)

    assert await reverse("C15", "R1") == 1
    assert await reverse("C15", "R9") == 0  # another remittance's adjudication: not this denial's
    assert await reverse("C15", None) == 0
    detail = (await client.get(f"/v1/denials/{opened[0]}", headers=T)).json()
    assert detail["status"] == "open" and [h["action"] for h in detail["history"]] == ["opened", "payer_reversed"]
    assert "reversed the adjudication" in detail["history"][1]["note"]
    await feed(client, adj("C15", 9000, [("CO", "45", 1000, None)], remittance="R2"))  # the corrected payment
    assert (await client.get(f"/v1/denials/{opened[0]}", headers=T)).json()["status"] == "recovered"
    untouched = (await client.get(f"/v1/denials/{other[0]}", headers=T)).json()
    assert [h["action"] for h in untouched["history"]] == ["opened"]


async def test_actions_and_queue_order(client: Any) -> None:
    small = (await feed(client, adj("C20", 0, [("CO", "29", 5000, None)], charge=5000)))[0]
    big = (await feed(client, adj("C21", 0, [("CO", "16", 50000, None)], charge=50000)))[0]
    queue = [d["id"] for d in (await client.get("/v1/denials", headers=T)).json()]
    assert queue == [big, small]  # larger and more recoverable first
    r = await client.post(f"/v1/denials/{big}/actions", json={"action": "assign", "assignee": "maria"}, headers=T)
    assert r.json()["status"] == "in_progress" and r.json()["assignee"] == "maria"
    r = await client.post(
        f"/v1/denials/{big}/actions",
        json={"action": "resubmit", "note": "NPI fixed, per Jane Roe", "correction": {"prior_authorization": "A1"}},
        headers=T,
    )
    assert r.json()["status"] == "resubmitted"
    for incomplete, needs in (
        ({"action": "write_off"}, "write_off needs a note"),
        ({"action": "write_off", "note": "  "}, "write_off needs a note"),
        ({"action": "comment"}, "comment needs a note"),
        ({"action": "assign"}, "assign needs an assignee"),
    ):
        refused = await client.post(f"/v1/denials/{small}/actions", json=incomplete, headers=T)
        assert refused.status_code == 422 and needs in str(refused.json()), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/v1/denials/{small}", headers=T)).json()["status"] == "open"  # nothing done
    r = await client.post(
        f"/v1/denials/{small}/actions", json={"action": "write_off", "note": "filed too late"}, headers=T
    )
    assert r.json()["status"] == "written_off"
    bad = await client.post(f"/v1/denials/{small}/actions", json={"action": "explode"}, headers=T)
    assert bad.status_code == 422
    assert (await client.get(f"/v1/denials/{big}", headers={"X-Tenant-ID": "org-2"})).status_code == 404
    async with client.app.state.engine.connect() as conn:
        rows = list(
            await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == "denials.resubmission.requested"))
        )
    assert len(rows) == 1 and '"prior_authorization":"A1"' in rows[0].payload
    # the note is free text (people type names there): kept in the denial's history, not sent in the event
    assert (
        "Jane Roe" not in rows[0].payload
        and json.loads(rows[0].payload)["reason"] == "claim lacks information or has submission errors"
    )
    history = (await client.get(f"/v1/denials/{big}", headers=T)).json()["history"]
    assert any("Jane Roe" in (h["note"] or "") for h in history)
    stats = (await client.get("/v1/denials/analytics", headers=T)).json()
    assert stats["adjudicated_claims"] == 2 and stats["denied_claims"] == 2 and stats["denial_rate"] == 1.0
    assert {b["key"] for b in stats["by_category"]} == {"timely_filing", "missing_information"}
    assert stats["avoidable_share"] == 1.0 and stats["recovered_cents"] == 0


async def test_rejection_opens_a_denial_and_replacement_is_linked(client: Any) -> None:
    now = datetime.now(UTC)
    rejected = ClaimStatusChangedV1(
        claim_id="C30",
        old_state="submitted",
        new_state="rejected",
        changed_at=now,
        reason_codes=["A7:562:85"],
        payer_id="ACME01",
        charge_cents=12000,
    )
    env = Envelope.wrap(rejected, source="/claims", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        unit = Unit(conn, "org-1", DenialsSettings())
        await on_claim_status(unit, rejected, env, default_rules())
        await on_claim_status(unit, rejected, env, default_rules())  # redelivered
        replacement = ClaimStatusChangedV1(
            claim_id="C31", old_state=None, new_state="draft", changed_at=now, original_claim_id="C30", frequency="7"
        )
        await on_claim_status(
            unit, replacement, Envelope.wrap(replacement, source="/claims", tenant_id="org-1"), default_rules()
        )
    (d,) = (await client.get("/v1/denials", headers=T)).json()
    assert d["category"] == "missing_information" and d["replacement_claim_id"] == "C31" and d["rarcs"] == ["A7:562:85"]
    await feed(client, adj("C31", 12000, [], charge=12000))  # the replacement is paid: the denial is recovered
    assert (await client.get(f"/v1/denials/{d['id']}", headers=T)).json()["status"] == "recovered"


async def test_a_replacement_paid_before_its_link_arrives_still_recovers_the_denial(client: Any) -> None:
    # The claims topic (the replacement's creation) and the remittance topic (its payment) are not ordered
    # against each other: after a broker restart or a slow consumer the payment can come first.
    opened = await feed(client, adj("C50", 0, [("CO", "197", 10000, None)]))
    await feed(client, adj("C51", 9500, [("CO", "45", 500, None)], remittance="R7"))  # the replacement, paid
    assert (await client.get(f"/v1/denials/{opened[0]}", headers=T)).json()["status"] == "open"
    replacement = ClaimStatusChangedV1(
        claim_id="C51",
        old_state=None,
        new_state="draft",
        changed_at=datetime.now(UTC),
        original_claim_id="C50",
        frequency="7",
    )
    env = Envelope.wrap(replacement, source="/claims", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        await on_claim_status(Unit(conn, "org-1", DenialsSettings()), replacement, env, default_rules())
    detail = (await client.get(f"/v1/denials/{opened[0]}", headers=T)).json()
    assert detail["status"] == "recovered" and detail["recovered_cents"] == 9500
    assert detail["replacement_claim_id"] == "C51" and "in remittance R7" in detail["history"][-1]["note"]
    async with client.app.state.engine.begin() as conn:  # redelivered: nothing more happens
        await on_claim_status(Unit(conn, "org-1", DenialsSettings()), replacement, env, default_rules())
    async with client.app.state.engine.connect() as conn:
        resolved = list(await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == "denials.denial.resolved")))
    assert len(resolved) == 1


async def test_deadline_watch_warns_once(client: Any) -> None:
    settings = DenialsSettings(appeal_window_days=5, deadline_warning_days=14)
    event = adj("C40", 0, [("CO", "50", 7000, None)])
    env = Envelope.wrap(event, source="/remittance", tenant_id="org-1")
    async with client.app.state.engine.begin() as conn:
        await on_adjudicated(Unit(conn, "org-1", settings), event, default_rules(), env)
        assert await due_deadlines(conn, settings) == 1
        assert await due_deadlines(conn, settings) == 0
    async with client.app.state.engine.connect() as conn:
        rows = list(
            await conn.execute(select(bus.outbox).where(bus.outbox.c.topic == "denials.denial.deadline-approaching"))
        )
    assert len(rows) == 1 and '"days_left":5' in rows[0].payload


def test_the_contractual_codes_claims_adjusts_open_no_denial() -> None:
    """Claims takes these out of A/R as contractual (the shared code list): a denial on them would move the
    same money out again."""
    from denials.domain.triage import findings
    from rcm_shared.x12.carc import CONTRACTUAL_CARCS, CONTRACTUAL_GROUPS

    rules = default_rules()
    for group in sorted(CONTRACTUAL_GROUPS):
        for carc in sorted(CONTRACTUAL_CARCS):
            event = adj("C1", 8000, [(group, carc, 2000, 1)], lines=[(10000, 8000)])
            assert findings(event, rules) == [], (group, carc)
            assert rules.classify(group, carc, []).category == "contractual_adjustment", (group, carc)


def test_a_classification_file_that_disagrees_with_the_contractual_codes_is_refused(tmp_path: Path) -> None:
    from denials.domain.classify import load_rules

    header = "group,carc,rarc,category,root_cause,avoidable,action\n"
    missing = tmp_path / "missing.csv"
    missing.write_text(header + "CO,45,,contractual_adjustment,fee schedule,no,write_off\n")
    with pytest.raises(ValueError, match="contractual"):
        load_rules(missing)
    default = (Path(__file__).parents[1] / "denials" / "data" / "classification.csv").read_text()
    extra = tmp_path / "extra.csv"
    extra.write_text(default + "CO,50,,contractual_adjustment,medical necessity,no,write_off\n")
    with pytest.raises(ValueError, match="CO-50"):
        load_rules(extra)
