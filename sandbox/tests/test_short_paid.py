"""A payer that recoups an earlier overpayment from a check and leaves its PLB out of the 835: the claims
of its short-paid members come in an 835 of their own that does not balance (BPR02 short)."""

from __future__ import annotations

import sys
from decimal import Decimal as D
from pathlib import Path

from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, ProviderAdjustment, iter_835

sys.path.insert(0, str(Path(__file__).parent))
from sandbox.clearinghouse import short_paid
from test_clearinghouse import BOOK, MET, claim, run, verdict

SHORT = sorted(short_paid(BOOK.payers["ACME01"]))


async def test_the_claims_of_short_paid_members_come_in_an_835_whose_check_is_short(tmp_path: Path) -> None:
    assert SHORT and all(BOOK.enrollment("ACME01", m) is not None for m in SHORT)
    claims = [
        claim("SHORT1", SHORT[0], ("99213", "150.00"), ("36415", "20.00")),
        claim("SHORT2", SHORT[1], ("99214", "220.00")),
        claim("CLEAN1", MET[0], ("99213", "150.00")),
    ]
    capture, _ = await run(tmp_path, claims=claims)
    eras = [(n, t) for k, n, t in capture.sent if k == "835"]
    assert len(eras) == 2 and sorted(n.endswith("-short.835") for n, _t in eras) == [False, True]
    for name, text in eras:
        assert verdict(text, tmp_path) == "OK", text  # valid X12: only the money does not add up
        items = list(iter_835(text.encode()))
        header = next(i for i in items if isinstance(i, PaymentHeader))
        paid = [i for i in items if isinstance(i, ClaimPayment)]
        plbs = sum((i.amount for i in items if isinstance(i, ProviderAdjustment)), D(0))
        for c in paid:  # each claim foots: the payer's error is in the check total alone
            assert c.charge == c.paid + c.adjustment_total()
        expected = sum((c.paid for c in paid), D(0)) - plbs
        if name.endswith("-short.835"):
            assert sorted(c.patient_control_number for c in paid) == ["SHORT1", "SHORT2"] and plbs == 0
            assert D("1.00") <= expected - header.total_paid <= min(expected / 2, D("50.00"))
        else:
            assert [c.patient_control_number for c in paid] == ["CLEAN1"] and header.total_paid == expected
