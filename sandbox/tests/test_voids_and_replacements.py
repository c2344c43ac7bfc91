"""Voids (frequency 8) and replacements (frequency 7): the payer takes back what it paid on the original
(CLP02 = 22 on the original's claim number) and pays a replacement as the claim that now stands; a claim
is never paid twice, and a void or replacement naming no claim the payer can act on is rejected."""

from __future__ import annotations

import sys
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

from rcm_shared.x12.sets.x276 import read_277
from rcm_shared.x12.sets.x835 import ClaimPayment, iter_835
from rcm_shared.x12.sets.x837 import Claim
from rcm_shared.x12.writer import MemoryControlNumbers
from sandbox.clearinghouse import Clearinghouse

sys.path.insert(0, str(Path(__file__).parent))
from test_clearinghouse import BOOK, MET, TODAY, Capture, Clock, claim, interchange, verdict


def sent_835(capture: Capture, since: int = 0) -> list[ClaimPayment]:
    return [
        i
        for k, _n, t in capture.sent[since:]
        if k == "835"
        for i in iter_835(t.encode())
        if isinstance(i, ClaimPayment)
    ]


def request(original: Claim, claim_id: str, frequency: str, icn: str, **changes: object) -> Claim:
    lines = [replace(ln, line_control_number=f"{claim_id}-{n}") for n, ln in enumerate(original.lines, start=1)]
    return replace(
        original, claim_id=claim_id, frequency=frequency, payer_claim_control_number=icn, lines=lines, **changes
    )


async def test_a_void_reverses_the_payment_and_a_replacement_replaces_it_never_paid_twice(tmp_path: Path) -> None:
    clock, capture = Clock(), Capture()
    house = Clearinghouse(BOOK, tmp_path / "spool", capture, seed=1, numbers=MemoryControlNumbers(), clock=clock)
    paid = claim("PAID1", MET[0], ("99213", "150.00"), ("36415", "20.00"))
    fixed = claim("FIXME", MET[1], ("99214", "220.00"))
    assert house.receive_837(interchange([paid, fixed]), today=TODAY).accepted
    clock.now += 60
    await house.deliver_due()
    icn = {
        s.claim_id: s.payer_claim_control_number
        for k, _n, t in capture.sent
        if k == "277CA"
        for s in read_277(t.encode())
        if s.level == "claim"
    }
    first = sent_835(capture)
    standing = {p.patient_control_number: p for p in first}  # no reversal pair drawn for these two (seed 1)
    assert standing["PAID1"].paid > 0 and standing["FIXME"].paid > 0
    before = len(capture.sent)

    void = request(paid, "VOID1", "8", str(icn["PAID1"]))
    replacement = request(fixed, "REPL1", "7", str(icn["FIXME"]), prior_authorization="AUTH9")
    stray = request(paid, "VOID2", "8", "ACM000000000000")  # names no claim of this payer
    assert house.receive_837(interchange([void, replacement, stray]), today=TODAY).accepted
    clock.now += 60
    await house.deliver_due()
    acks = [t for k, _n, t in capture.sent[before:] if k == "277CA"]
    verdicts = {s.claim_id: s for t in acks for s in read_277(t.encode()) if s.level == "claim"}
    assert verdicts["VOID1"].accepted and verdicts["REPL1"].accepted
    assert [f"{x.category}:{x.code}" for x in verdicts["VOID2"].statuses] == ["A7:464"]
    for text in [t for k, _n, t in capture.sent[before:] if k == "835"]:
        assert verdict(text, tmp_path) == "OK", text
    later = sent_835(capture, before)
    by_id: dict[str, list[ClaimPayment]] = {}
    for p in later:
        by_id.setdefault(p.patient_control_number, []).append(p)
    # the void: the original's payment reversed on its own claim id and payer claim number; no new payment
    (back,) = by_id["PAID1"]
    assert back.status == "22" and back.payer_claim_control_number == icn["PAID1"]
    assert (back.paid, back.charge) == (-standing["PAID1"].paid, -standing["PAID1"].charge)
    assert back.patient_responsibility == -(standing["PAID1"].patient_responsibility or D(0))
    assert back.charge == back.paid + back.adjustment_total()
    assert "VOID1" not in by_id and "VOID2" not in by_id
    # the replacement: the original reversed, the replacement paid; one payment stands
    (undone,) = by_id["FIXME"]
    assert undone.status == "22" and undone.paid == -standing["FIXME"].paid
    (new,) = by_id["REPL1"]
    assert new.status == "1" and new.paid > 0 and new.payer_claim_control_number != icn["FIXME"]
    assert sum(p.paid for p in first + later if p.patient_control_number in ("FIXME", "REPL1")) == new.paid
    assert sum(p.paid for p in first + later if p.patient_control_number in ("PAID1", "VOID1")) == 0

    # a second void of the voided claim is rejected, and takes nothing back twice
    before = len(capture.sent)
    assert house.receive_837(interchange([request(paid, "VOID3", "8", str(icn["PAID1"]))]), today=TODAY).accepted
    clock.now += 60
    await house.deliver_due()
    (again,) = [
        s for k, _n, t in capture.sent[before:] if k == "277CA" for s in read_277(t.encode()) if s.level == "claim"
    ]
    assert not again.accepted and sent_835(capture, before) == []


async def test_a_void_of_a_denied_claim_is_acknowledged_and_reverses_nothing(tmp_path: Path) -> None:
    clock, capture = Clock(), Capture()
    house = Clearinghouse(BOOK, tmp_path / "spool", capture, seed=1, numbers=MemoryControlNumbers(), clock=clock)
    denied = claim("NOPA1", "ACM0000002", ("73721", "1200.00"))  # prior authorization required: denied
    house.receive_837(interchange([denied]), today=TODAY)
    clock.now += 60
    await house.deliver_due()
    (payment,) = sent_835(capture)
    assert payment.status == "4" and payment.paid == 0 and not payment.patient_responsibility
    before = len(capture.sent)
    house.receive_837(interchange([request(denied, "VOIDD", "8", payment.payer_claim_control_number)]), today=TODAY)
    clock.now += 60
    await house.deliver_due()
    (ack,) = [
        s for k, _n, t in capture.sent[before:] if k == "277CA" for s in read_277(t.encode()) if s.level == "claim"
    ]
    assert ack.accepted and sent_835(capture, before) == []
