"""The simulated clearinghouse: 837 in, then a 999, a 277CA and 835s that pass pyx12 and balance."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import httpx
from rcm_shared.x12.sets.x276 import read_277
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, ProviderAdjustment, iter_835
from rcm_shared.x12.sets.x837 import Claim, Payer, Person, Provider, Receiver, ServiceLine, Submitter, build_837
from rcm_shared.x12.writer import MemoryControlNumbers, writer_for
from sandbox.clearinghouse import Clearinghouse, FiledropDelivery, PushDelivery
from sandbox.payers import default_book, mbi

X12VALID = shutil.which("x12valid") or str(Path(sys.executable).with_name("x12valid"))
TODAY = date(2026, 11, 20)
DOS = TODAY - timedelta(days=5)
CLINIC = Provider("VALLEY FAMILY CLINIC", npi="1234567893", tax_id="123456789")
ACME = Payer("ACME HEALTH PLAN", "ACME01")


def claim(
    claim_id: str, member: str, *lines: tuple[str, str], payer: Payer = ACME, dos: date = DOS, **kw: object
) -> Claim:
    sls = [
        ServiceLine(
            D(charge), D(1), code, service_date=dos, diagnosis_pointers=[1], line_control_number=f"{claim_id}-{n}"
        )
        for n, (code, charge) in enumerate(lines, start=1)
    ]
    return Claim(
        "P",
        claim_id,
        sum((s.charge for s in sls), D(0)),
        "11",
        "1",
        CLINIC,
        Person("DOE", "JANE", None, date(1980, 1, 2), "F", member_id=member),
        payer,
        diagnoses=["I10"],
        lines=sls,
        filing_indicator="MB" if payer.payer_id == "MCRB1" else "CI",
        **kw,  # type: ignore[arg-type]
    )


BOOK = default_book()
MET = [m.member_id for m in BOOK.payers["ACME01"].members.values() if m.deductible_met == D("1500") and m.end is None]
SCENARIOS = [
    claim("CLEAN1", MET[0], ("99213", "150.00"), ("36415", "20.00")),
    claim("NOPA", "ACM0000002", ("73721", "1200.00")),
    claim("WITHPA", "ACM0000003", ("73721", "1200.00"), prior_authorization="AUTH123"),
    claim("NONCOV", MET[1], ("99214", "220.00"), ("97810", "95.00")),
    claim("BUNDLE", "ACM0000005", ("80053", "60.00"), ("80048", "45.00")),
    claim("TERMED", "ACM0000040", ("99213", "150.00")),  # every 40th member's coverage ended 2026-06-30
    claim("BADID", "ACM9999999", ("99213", "150.00")),
    claim("LATE", "ACM0000006", ("99213", "150.00"), dos=TODAY - timedelta(days=200)),
    claim("DUP", MET[0], ("99213", "150.00"), ("36415", "20.00")),  # CLEAN1 again, under another id
    claim("MCR", mbi(7), ("99214", "220.00"), payer=Payer("MEDICARE PART B", "MCRB1")),
]


def interchange(claims: list[Claim]) -> bytes:
    ts = build_837(
        claims,
        submitter=Submitter("RCM CLINIC", "RCMCLINIC", "BILLING", "8005550100"),
        receiver=Receiver("SANDBOX", "SANDBOXCH"),
        reference="0001",
        created=TODAY,
    )
    w = writer_for(ts, sender="RCMCLINIC", receiver="SANDBOXCH", usage="T")
    return w.render([ts]).encode()


class Capture:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, kind: str, name: str, text: str) -> str:
        self.sent.append((kind, name, text))
        return "memory"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def verdict(text: str, tmp: Path) -> str:
    path = tmp / "file.x12"
    path.write_text(text)
    out = subprocess.run([X12VALID, str(path)], capture_output=True, text=True, cwd=tmp)
    return (out.stdout + out.stderr).strip().rsplit(":", 1)[-1].strip()


async def run(tmp: Path, seed: int = 1, claims: list[Claim] | None = None) -> tuple[Capture, Clock]:
    clock, capture = Clock(), Capture()
    house = Clearinghouse(BOOK, tmp / "spool", capture, seed=seed, numbers=MemoryControlNumbers(), clock=clock)
    received = house.receive_837(interchange(claims or SCENARIOS), today=TODAY)
    assert received.accepted and "IK5*A" in received.ack_999
    assert await house.deliver_due() == 0  # nothing is due before the payer's delay
    clock.now += 60
    assert await house.deliver_due() > 0
    return capture, clock


def payments(capture: Capture) -> list[ClaimPayment]:
    return [i for k, _n, t in capture.sent if k == "835" for i in iter_835(t.encode()) if isinstance(i, ClaimPayment)]


async def test_277ca_rejects_unknown_members_and_accepts_the_rest(tmp_path: Path) -> None:
    capture, _ = await run(tmp_path)
    acks = [t for k, _n, t in capture.sent if k == "277CA"]
    assert len(acks) == 2  # one per payer
    for text in acks:
        assert verdict(text, tmp_path) == "OK", text
    statuses = {s.claim_id: s for t in acks for s in read_277(t.encode()) if s.level == "claim"}
    assert statuses["BADID"].accepted is False
    assert [f"{x.category}:{x.code}:{x.entity}" for x in statuses["BADID"].statuses] == ["A3:164:IL"]
    accepted = {cid for cid, s in statuses.items() if s.accepted}
    assert accepted == {c.claim_id for c in SCENARIOS} - {"BADID"}
    assert all(statuses[c].payer_claim_control_number for c in accepted)


async def test_835s_pass_pyx12_balance_and_carry_the_payer_rules(tmp_path: Path) -> None:
    capture, _ = await run(tmp_path)
    eras = [t for k, _n, t in capture.sent if k == "835"]
    assert eras
    for text in eras:
        assert verdict(text, tmp_path) == "OK", text
        items = list(iter_835(text.encode()))
        header = next(i for i in items if isinstance(i, PaymentHeader))
        claims = [i for i in items if isinstance(i, ClaimPayment)]
        plbs = [i for i in items if isinstance(i, ProviderAdjustment)]
        assert header.total_paid == sum(c.paid for c in claims) - sum(p.amount for p in plbs)
        # BPR16: the payer pays its usual number of days after it received the claims
        lag = {"ACME01": 21, "MCRB1": 14}[header.payer_id]
        assert header.payment_date == TODAY + timedelta(days=lag), (header.payer_id, header.payment_date)
        for c in claims:  # billed = paid + every adjustment (PR included), per line and per claim
            assert c.charge == c.paid + c.adjustment_total(), c.patient_control_number
            for s in c.services:
                assert s.charge == s.paid + sum(a.amount for a in s.adjustments)
            assert c.patient_responsibility == sum(
                a.amount for s in c.services for a in s.adjustments if a.group == "PR"
            )
    by_id: dict[str, list[ClaimPayment]] = {}
    for p in payments(capture):
        by_id.setdefault(p.patient_control_number, []).append(p)
    assert "BADID" not in by_id

    def codes(cid: str) -> set[str]:
        return {f"{a.group}-{a.reason}" for s in by_id[cid][-1].services for a in s.adjustments}

    clean = by_id["CLEAN1"][-1]
    assert clean.status == "1" and clean.paid > 0 and "CO-45" in codes("CLEAN1") and "PR-3" in codes("CLEAN1")
    assert by_id["NOPA"][-1].status == "4" and codes("NOPA") == {"CO-197"}
    assert by_id["WITHPA"][-1].paid > 0
    assert "CO-96" in codes("NONCOV") and by_id["NONCOV"][-1].paid > 0  # the visit is paid, the acupuncture not
    assert "CO-97" in codes("BUNDLE")
    assert codes("TERMED") == {"CO-27"} and codes("LATE") == {"CO-29"} and codes("DUP") == {"CO-18"}
    mcr = by_id["MCR"][-1]
    assert mcr.status == "1" and {a.reason for s in mcr.services for a in s.adjustments if a.group == "PR"} <= {
        "1",
        "2",
    }


async def test_same_seed_same_outcomes_and_reversal_pairs_come_later(tmp_path: Path) -> None:
    many = [claim(f"C{n}", f"ACM{n:07d}", ("99213", "150.00"), ("85025", "45.00")) for n in range(100, 160) if n % 40]
    first, _ = await run(tmp_path / "a", seed=7, claims=many)
    again, _ = await run(tmp_path / "b", seed=7, claims=many)
    assert [(p.patient_control_number, p.status, p.paid) for p in payments(first)] == [
        (p.patient_control_number, p.status, p.paid) for p in payments(again)
    ]
    reversed_ = [p for p in payments(first) if p.status == "22"]
    assert reversed_, "4% of 58 paid claims: the seed gives at least one reversal"
    for r in reversed_:
        trail = [p for p in payments(first) if p.patient_control_number == r.patient_control_number]
        assert [p.status for p in trail] == ["1", "22", "1"]
        assert trail[1].paid == -trail[0].paid and trail[2].paid != trail[0].paid
    other, _ = await run(tmp_path / "c", seed=8, claims=many)
    assert {p.patient_control_number for p in payments(other) if p.status == "22"} != {
        r.patient_control_number for r in reversed_
    }


async def test_a_999_rejected_interchange_gets_no_277ca(tmp_path: Path) -> None:
    house = Clearinghouse(BOOK, tmp_path, Capture(), numbers=MemoryControlNumbers(), clock=Clock())
    text = interchange(SCENARIOS[:1]).decode().replace("SE*", "SE*9", 1)  # wrong segment count
    received = house.receive_837(text.encode(), today=TODAY)
    assert not received.accepted and "IK5*R" in received.ack_999
    assert not any(house.pending.iterdir())


async def test_filedrop_837_is_taken_and_answered(tmp_path: Path) -> None:
    clock, capture = Clock(), Capture()
    house = Clearinghouse(BOOK, tmp_path / "spool", capture, numbers=MemoryControlNumbers(), clock=clock)
    inbox = tmp_path / "outbound"
    inbox.mkdir()
    (inbox / "sub-1.x12").write_bytes(interchange(SCENARIOS[:2]))
    (inbox / "garbage.x12").write_text("not x12 at all")
    assert house.scan_filedrop(inbox) == 2
    assert not list(inbox.glob("*.x12"))
    await house.deliver_due()
    assert [k for k, _n, _t in capture.sent] == ["999"]
    assert (tmp_path / "spool" / "received" / "garbage.x12.error.txt").exists()
    clock.now += 60
    await house.deliver_due()
    assert [k for k, _n, _t in capture.sent] == ["999", "277CA", "835"]


def test_roster_members_are_distinct_and_mbi_shaped() -> None:
    ids = [mbi(n) for n in range(1, 5001)]
    assert len(set(ids)) == 5000
    assert all(len(i) == 11 and i[0] in "123456789" for i in ids)
    book = BOOK
    assert book.enrollment("ACME01", "ACM0000040").end == date(2026, 6, 30)  # type: ignore[union-attr]
    assert book.enrollment("ACME01", "acm0000041 ") is not None
    assert replace(book.enrollment("MCRB1", mbi(3))).covers(TODAY)  # type: ignore[type-var]


async def test_institutional_claims_are_priced_by_revenue_code_and_pass_pyx12(tmp_path: Path) -> None:
    hospital = Provider("MERCY GENERAL HOSPITAL", npi="1245319599", tax_id="987654321")
    lines = [
        ServiceLine(D("850.00"), D(1), "99284", service_date=DOS, revenue_code="0450", line_control_number="H1-1"),
        ServiceLine(D("120.00"), D(2), None, service_date=DOS, revenue_code="0250", line_control_number="H1-2"),
    ]
    er = Claim(
        "I",
        "H1",
        D("970.00"),
        "13",
        "1",
        hospital,
        Person("ROE", "ANN", member_id=MET[2]),
        ACME,
        diagnoses=["R0789"],
        lines=lines,
        statement_from=DOS,
        statement_to=DOS,
        patient_status="01",
    )
    ts = build_837(
        [er],
        submitter=Submitter("MERCY", "MERCY01", "BILLING", "8005550100"),
        receiver=Receiver("SANDBOX", "SANDBOXCH"),
        reference="0002",
        created=TODAY,
        kind="I",
    )
    w = writer_for(ts, sender="MERCY01", receiver="SANDBOXCH", usage="T")
    clock, capture = Clock(), Capture()
    house = Clearinghouse(BOOK, tmp_path / "spool", capture, numbers=MemoryControlNumbers(), clock=clock)
    assert house.receive_837(w.render([ts]).encode(), today=TODAY).accepted
    clock.now += 60
    await house.deliver_due()
    era = next(t for k, _n, t in capture.sent if k == "835")
    assert verdict(era, tmp_path) == "OK", era
    (payment,) = payments(capture)
    assert [(s.procedure.qualifier, s.procedure.code, s.revenue_code) for s in payment.services] == [
        ("HC", "99284", "0450"),
        ("NU", "0250", None),
    ]
    pharmacy = payment.services[1]
    assert pharmacy.amounts["B6"] == D("72.00")  # not on the fee schedule: 60% of the charge
    assert payment.dates == {"232": DOS, "233": DOS}


async def test_push_delivery_posts_to_the_services_and_retries_in_order(tmp_path: Path) -> None:
    seen: list[tuple[str, str, str]] = []
    down = {"remittance": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if "remittances" in request.url.path and down["remittance"]:
            return httpx.Response(503, text="busy")
        seen.append((request.url.path, request.headers["X-Tenant-ID"], request.content.decode()[:3]))
        return httpx.Response(201, json={})

    push = PushDelivery(
        "http://claims/v1/acknowledgments", "http://remittance/v1/remittances", "org-7", httpx.MockTransport(handler)
    )
    clock = Clock()
    house = Clearinghouse(BOOK, tmp_path / "spool", push, numbers=MemoryControlNumbers(), clock=clock)
    house.receive_837(interchange(SCENARIOS[:2]), today=TODAY)
    clock.now += 60
    assert await house.deliver_due() == 1  # the 277CA went; the 835 failed and waits, nothing lost
    assert len(list(house.pending.iterdir())) == 1
    down["remittance"] = False
    assert await house.deliver_due() == 1
    assert [(p, t) for p, t, _b in seen] == [("/v1/acknowledgments", "org-7"), ("/v1/remittances", "org-7")]
    assert all(b == "ISA" for _p, _t, b in seen)
    assert not list(house.pending.iterdir()) and len(list(house.delivered.iterdir())) == 2


async def test_filedrop_delivery_writes_whole_files_where_the_services_look(tmp_path: Path) -> None:
    drop = FiledropDelivery(tmp_path / "acks", tmp_path / "835")
    assert await drop.send("277CA", "a.277", "ISA*...") == str(tmp_path / "acks" / "a.277")
    assert await drop.send("835", "b.835", "ISA*...") == str(tmp_path / "835" / "b.835")
    assert [p.name for p in (tmp_path / "acks").iterdir()] == ["a.277"]  # no half-written leftovers


async def test_claims_of_unanswered_members_get_nothing_and_276s_are_answered_from_what_happened(
    tmp_path: Path,
) -> None:
    from rcm_shared.x12.sets.x276 import StatusInquiry, build_276

    lost_member = sorted(BOOK.payers["ACME01"].setting("unanswered_members", []))[0]
    claims = [SCENARIOS[0], claim("LOST1", lost_member, ("99213", "150.00"))]
    clock, capture = Clock(), Capture()
    house = Clearinghouse(BOOK, tmp_path / "spool", capture, seed=1, numbers=MemoryControlNumbers(), clock=clock)
    # adjudicated on the test's own date: a date of service pinned in the past stays within timely filing
    received = house.receive_837(interchange(claims), today=TODAY)
    assert received.accepted and received.claims == 2  # the 999 accepts the file with the lost claim in it

    def inquiry(claim_id: str) -> StatusInquiry:
        return StatusInquiry(
            "ACME HEALTH PLAN",
            "ACME01",
            "RCM CLINIC",
            "RCMCLINIC",
            "VALLEY FAMILY CLINIC",
            "1234567893",
            "DOE",
            "JANE",
            MET[0],
            f"T-{claim_id}",
            claim_id,
            D("170.00"),
            DOS,
        )

    def ask(*claim_ids: str) -> None:
        ts = build_276([inquiry(c) for c in claim_ids], reference="Q1", created=TODAY)
        w = writer_for(ts, sender="RCMCLINIC", receiver="SANDBOXCH")
        got = house.receive(w.render([ts]).encode())
        assert got.accepted and "IK5*A" in got.ack_999 and got.claims == len(claim_ids)

    ask("CLEAN1", "LOST1", "NEVERSENT")  # before the 835 is due: in process
    clock.now += 60
    await house.deliver_due()
    ask("CLEAN1", "LOST1")  # after it went out: finalized, paid
    clock.now += 60
    await house.deliver_due()
    answers = [list(read_277(t.encode())) for k, _n, t in capture.sent if k == "277"]
    assert len(answers) == 2
    first, second = ({s.claim_id: ":".join((s.statuses[0].category, s.statuses[0].code)) for s in a} for a in answers)
    assert first == {"CLEAN1": "P1:20", "LOST1": "A4:35", "NEVERSENT": "A4:35"}
    assert second == {"CLEAN1": "F1:65", "LOST1": "A4:35"}
    paid = next(s for s in answers[1] if s.claim_id == "CLEAN1")
    assert paid.statuses[0].paid and paid.statuses[0].paid > 0 and paid.payer_claim_control_number
    assert paid.trace_number == "T-CLEAN1"  # the inquiry's trace, echoed
    # the lost claim: no 277CA line, no 835
    acked = {s.claim_id for k, _n, t in capture.sent if k == "277CA" for s in read_277(t.encode())}
    assert "CLEAN1" in acked and "LOST1" not in acked
    assert "LOST1" not in {p.patient_control_number for p in payments(capture)}
    # what the payer knows survives a restart of the clearinghouse
    again = Clearinghouse(BOOK, tmp_path / "spool", capture, seed=1, numbers=MemoryControlNumbers(), clock=clock)
    assert again.known_claims()["LOST1"]["state"] == "lost" and "paid" in again.known_claims()["CLEAN1"]


async def test_the_loop_sends_a_spooled_answer_when_it_is_due_not_on_its_poll(tmp_path: Path) -> None:
    import asyncio
    import time

    capture = Capture()
    house = Clearinghouse(BOOK, tmp_path / "spool", capture, numbers=MemoryControlNumbers())
    house._schedule(time.time() + 0.5, "277", "later.277", "ISA")  # due in half a second
    stop = asyncio.Event()
    task = asyncio.create_task(house.run(stop, None, poll_seconds=30))
    started = time.monotonic()
    while not capture.sent and time.monotonic() - started < 10:
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert [name for _kind, name, _text in capture.sent] == ["later.277"]
    assert 0.4 < time.monotonic() - started < 5  # when due (0.5 s), not on the 30 s poll


async def test_medicare_forwards_a_crossover_and_the_medigap_plan_sends_its_own_835(tmp_path: Path) -> None:
    """Every 10th Medicare member holds a Medigap plan G (MGAP1): Medicare answers CLP02 19 with NM1*TT and
    forwards the claim; MGAP1's own 835 pays the coinsurance (CLP02 2, Medicare's part as OA-23), leaving the
    deductible to the patient. The same claim billed to MGAP1 by the provider is a duplicate (CO-18)."""
    medicare = Payer("MEDICARE PART B", "MCRB1")
    assert BOOK.enrollment("MCRB1", mbi(10)).crossover == ("MGAP1", "MG0000010")  # type: ignore[union-attr]
    assert BOOK.enrollment("MCRB1", mbi(7)).crossover is None  # type: ignore[union-attr]
    # a crossover member who has met half the Part B deductible: Medicare leaves deductible and coinsurance
    member = next(m for m in BOOK.payers["MCRB1"].members.values() if m.crossover and 0 < m.deductible_met < 257)
    assert member.crossover is not None
    medigap_id = member.crossover[1]
    capture, clock = await run(
        tmp_path, claims=[claim("XOVER", member.member_id, ("99214", "220.00"), ("71046", "120.00"), payer=medicare)]
    )
    clock.now += 60
    await Clearinghouse(BOOK, tmp_path / "spool", capture, numbers=MemoryControlNumbers(), clock=clock).deliver_due()
    eras = [t for k, _n, t in capture.sent if k == "835"]
    assert len(eras) == 2
    for text in eras:
        assert verdict(text, tmp_path) == "OK", text
    by_payer = {
        next(i for i in iter_835(t.encode()) if isinstance(i, PaymentHeader)).payer_id: next(
            i for i in iter_835(t.encode()) if isinstance(i, ClaimPayment)
        )
        for t in eras
    }
    first, second = by_payer["MCRB1"], by_payer["MGAP1"]
    assert first.status == "19" and first.crossover_carrier == {
        "name": "MEDIGAP MUTUAL",
        "id_qualifier": "PI",
        "id": "MGAP1",
    }
    assert second.status == "2" and second.patient_control_number == "XOVER" and not second.crossover_carrier
    coinsurance = sum((a.amount for s in first.services for a in s.adjustments if a.reason == "2"), D(0))
    deductible = sum(
        (a.amount for s in first.services for a in s.adjustments if a.group == "PR" and a.reason == "1"), D(0)
    )
    assert coinsurance > 0 and second.paid == coinsurance and second.patient_responsibility == deductible
    assert second.charge == second.paid + second.adjustment_total()
    assert {a.group + "-" + a.reason for s in second.services for a in s.adjustments} <= {"OA-23", "PR-1"}
    # the provider bills MGAP1 for what Medicare forwarded: denied as a duplicate, never paid twice
    house = Clearinghouse(BOOK, tmp_path / "spool2", capture, numbers=MemoryControlNumbers(), clock=clock)
    house.receive_837(
        interchange([claim("XOVER", member.member_id, ("99214", "220.00"), ("71046", "120.00"), payer=medicare)]),
        today=TODAY,
    )
    again = claim(
        "XOVER2",
        medigap_id,
        ("99214", "220.00"),
        ("71046", "120.00"),
        payer=Payer("MEDIGAP MUTUAL", "MGAP1"),
        responsibility="S",
    )
    house.receive_837(interchange([again]), today=TODAY)
    clock.now += 120
    capture.sent.clear()
    await house.deliver_due()
    (dup,) = [p for p in payments(capture) if p.patient_control_number == "XOVER2"]
    assert dup.paid == 0 and {a.reason for s in dup.services for a in s.adjustments} == {"18"}
