"""How a simulated payer prices lines: the contract it publishes, and the plan book's underpay and overpay rules
that move some claims' listed lines off it, by exact cents, on a share of claims a seed fixes."""

from __future__ import annotations

import re
import sys
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from rcm_shared.x12.sets.x835 import ClaimPayment, ServicePayment
from rcm_shared.x12.sets.x837 import Claim, ServiceLine
from sandbox.adjudication import adjudicate, content_key, fraction
from sandbox.payers import PlanBook, load_book
from sandbox.pricing import contract

sys.path.insert(0, str(Path(__file__).parent))
from test_clearinghouse import BOOK, DOS, MET, TODAY, claim

DEFAULT_TEXT = resources.files("sandbox.data").joinpath("payers.toml").read_text()


def book_with(tmp: Path, payer: str, **rules: str | None) -> PlanBook:
    """The default plan book with ``payer``'s underpay/overpay rules replaced (None: removed)."""
    out: list[str] = []
    section = ""
    for line in DEFAULT_TEXT.splitlines():
        if line.startswith("["):
            section = line
        if section == f"[payers.{payer}]" and re.match(r"(underpay|overpay) = ", line):
            continue
        out.append(line)
        if line == f"[payers.{payer}]":
            out.extend(f"{kind} = {rule}" for kind, rule in rules.items() if rule is not None)
    path = tmp / "payers.toml"
    path.write_text("\n".join(out) + "\n")
    return load_book(path)


def line(payment: ClaimPayment, n: int) -> ServicePayment:
    return payment.services[n - 1]


def adjustments(s: ServicePayment) -> dict[str, D]:
    return {f"{a.group}-{a.reason}": a.amount for a in s.adjustments}


def test_an_underpaid_line_is_allowed_below_the_contract_to_the_cent(tmp_path: Path) -> None:
    book = book_with(tmp_path, "ACME01", underpay='{ percent = "100", codes = ["99214"], by_percent = "10" }')
    visit = claim("UNDER1", MET[0], ("99214", "220.00"), ("36415", "20.00"))
    outcome = adjudicate(book, visit, TODAY, seed=1)
    office, draw = line(outcome.payment, 1), line(outcome.payment, 2)
    # contract 131.00 (fee schedule x 1 unit); 10% below: 117.90. The member met the deductible: copay 25.00,
    # coinsurance 20% of 92.90 = 18.58, paid 117.90 - 25.00 - 18.58 = 74.32; CO-45 220.00 - 117.90 = 102.10
    assert office.amounts["B6"] == D("117.90")
    assert adjustments(office) == {"CO-45": D("102.10"), "PR-3": D("25.00"), "PR-2": D("18.58")}
    assert office.paid == D("74.32")
    # 36415 is not a listed code: its contract stands (3.00; coinsurance 0.60, paid 2.40)
    assert (draw.amounts["B6"], draw.paid) == (D("3.00"), D("2.40"))
    (variance,) = outcome.variances
    assert (variance.line, variance.code, variance.kind, variance.amount) == (1, "99214", "under", D("13.10"))
    assert (variance.contract_allowed, variance.allowed, variance.line_control_number) == (
        D("131.00"),
        D("117.90"),
        "UNDER1-1",
    )
    assert outcome.payment.paid == D("76.72") and outcome.payment.patient_responsibility == D("44.18")


def test_an_overpaid_line_is_allowed_above_the_contract_never_above_the_charge(tmp_path: Path) -> None:
    book = book_with(tmp_path, "ACME01", overpay='{ percent = "100", codes = ["99213"], by_percent = "5" }')
    outcome = adjudicate(book, claim("OVER1", MET[0], ("99213", "150.00")), TODAY, seed=1)
    s = line(outcome.payment, 1)
    # contract 92.00; 5% above: 96.60; copay 25.00, coinsurance 20% of 71.60 = 14.32, paid 57.28
    assert s.amounts["B6"] == D("96.60") and s.paid == D("57.28")
    assert adjustments(s) == {"CO-45": D("53.40"), "PR-3": D("25.00"), "PR-2": D("14.32")}
    assert [(v.kind, v.amount) for v in outcome.variances] == [("over", D("4.60"))]
    # billed 95.00: 96.60 is capped at the charge, the variance is what was really allowed above 92.00
    capped = adjudicate(book, claim("OVER2", MET[1], ("99213", "95.00")), TODAY, seed=1)
    assert line(capped.payment, 1).amounts["B6"] == D("95.00") and not adjustments(line(capped.payment, 1)).get("CO-45")
    assert [(v.kind, v.amount) for v in capped.variances] == [("over", D("3.00"))]
    # billed at the contract: lesser of charge leaves nothing to overpay, and nothing is recorded
    at_rate = adjudicate(book, claim("OVER3", MET[2], ("99213", "92.00")), TODAY, seed=1)
    assert line(at_rate.payment, 1).amounts["B6"] == D("92.00") and at_rate.variances == []


def test_denied_lines_are_never_moved_off_the_contract(tmp_path: Path) -> None:
    book = book_with(
        tmp_path, "ACME01", underpay='{ percent = "100", codes = ["99214", "97810", "80048"], by_percent = "10" }'
    )
    outcome = adjudicate(
        book,
        claim("MIX", MET[0], ("99214", "220.00"), ("97810", "95.00"), ("80053", "60.00"), ("80048", "45.00")),
        TODAY,
        seed=1,
    )
    assert [v.code for v in outcome.variances] == ["99214"]  # 97810 non-covered (CO-96), 80048 bundled (CO-97)
    assert adjustments(line(outcome.payment, 2)) == {"CO-96": D("95.00")}
    assert adjustments(line(outcome.payment, 4)) == {"CO-97": D("45.00")}


def _platform_allowed(terms: dict[str, Any], ln: ServiceLine) -> D:
    """The allowed amount a platform computes from the published contract alone."""
    assert terms["modifier_rules"] == [] and terms["pricing"]["lesser_of_charge"] is True
    rate = terms["fee_schedule"].get(ln.procedure_code or "")
    if rate is not None:
        amount = D(rate) * ln.units
    else:
        amount = ln.charge * D(terms["default_allowed_percent"]) / 100
    return min(amount.quantize(D("0.01"), rounding=ROUND_HALF_UP), ln.charge)


def test_the_published_contract_prices_every_line_as_the_payer_does(tmp_path: Path) -> None:
    book = book_with(tmp_path, "ACME01", underpay=None, overpay=None)
    terms = contract(book.payers["ACME01"])
    assert terms["fee_schedule"]["99214"] == "131.00" and terms["default_allowed_percent"] == "60"
    assert terms["modifier_rules"] == [] and terms["pricing"]["units"] == "multiply"
    assert "97810" in terms["policies"]["non_covered"]
    cases = [
        ("97110", "120.00", "3", []),  # 3 units x 29.00 = 87.00
        ("97110", "80.00", "3", []),  # 87.00 above the charge: 80.00 (lesser of)
        ("71046", "120.00", "1", ["26"]),  # professional component: priced as the whole code, 30.00
        ("99213", "150.00", "1", ["25"]),
        ("G0439", "200.00", "1", []),  # no rate: 60% of the charge, 120.00
        ("90471", "40.00", "1.5", []),  # 1.5 units x 25.00 = 37.50
        ("G0439", "33.33", "1", []),  # 60% of 33.33 = 19.998: 20.00 (half up, per line)
    ]
    lines = [
        ServiceLine(D(charge), D(units), code, modifiers=mods, service_date=DOS, line_control_number=f"L{n}")
        for n, (code, charge, units, mods) in enumerate(cases, start=1)
    ]
    visit = claim("PRICED", MET[0], ("99212", "100.00"))
    visit.lines, visit.total_charge = lines, sum((ln.charge for ln in lines), D(0))
    payment = adjudicate(book, visit, TODAY, seed=1).payment
    got = [s.amounts["B6"] for s in payment.services]
    assert got == [_platform_allowed(terms, ln) for ln in lines]
    assert got == [D("87.00"), D("80.00"), D("30.00"), D("92.00"), D("120.00"), D("37.50"), D("20.00")]


def _day(n: int) -> list[Claim]:
    """n clean visits of covered ACME01 members, each with an office visit and a blood count."""
    members = [f"ACM{k:07d}" for k in range(100, 100 + n + n // 39 + 1) if k % 40]
    return [claim(f"D{k}", m, ("99213", "150.00"), ("85025", "45.00")) for k, m in enumerate(members[:n])]


def _counts(book: PlanBook, claims: list[Claim], seed: int) -> tuple[set[str], set[str]]:
    under: set[str] = set()
    over: set[str] = set()
    for c in claims:
        kinds = {v.kind for v in adjudicate(book, c, TODAY, seed).variances}
        assert len(kinds) <= 1, c.claim_id  # one draw per claim: never both
        (under if "under" in kinds else over if "over" in kinds else set()).add(c.claim_id)
    return under, over


def test_the_rules_fall_on_a_share_of_claims_the_seed_fixes() -> None:
    claims = _day(400)
    under, over = _counts(BOOK, claims, seed=1)
    # ACME01 underpays 8% (99213 and 85025 listed), overpays 3% (99213 listed) of its claims
    assert (len(under), len(over)) == (32, 15)
    assert _counts(BOOK, claims, seed=1) == (under, over)  # the same seed, the same claims
    # which claims: the draw of the seed and the claim's content, underpay's share first
    drawn = {c.claim_id: fraction(1, content_key(c), "contract variance") * 100 for c in claims}
    assert under == {k for k, d in drawn.items() if d < 8} and over == {k for k, d in drawn.items() if 8 <= d < 11}
    other_under, other_over = _counts(BOOK, claims, seed=2)
    assert other_under != under and 12 <= len(other_under) <= 56 and 2 <= len(other_over) <= 24


def test_an_underpaid_claim_underpays_every_listed_line(tmp_path: Path) -> None:
    book = book_with(tmp_path, "ACME01", underpay='{ percent = "100", codes = ["99213", "85025"], by_percent = "7.5" }')
    outcome = adjudicate(book, claim("BOTH", MET[0], ("99213", "150.00"), ("85025", "45.00")), TODAY, seed=3)
    # 92.00 x 0.925 = 85.10; 7.77 x 0.925 = 7.18725: 7.19
    assert [(v.code, v.allowed, v.amount) for v in outcome.variances] == [
        ("99213", D("85.10"), D("6.90")),
        ("85025", D("7.19"), D("0.58")),
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('{ percent = "8", codes = [], by_percent = "10" }', "codes must be a non-empty list"),
        ('{ percent = "108", codes = ["99213"], by_percent = "10" }', "percent must be between 0 and 100"),
        ('{ percent = "8", codes = ["99213"], by_percent = "100" }', "by_percent must be above 0"),
        ('{ percent = "8", codes = ["99213"], by_percent = "ten" }', "must be decimal strings"),
        ('{ percent = "8", codes = ["99213"] }', "exactly percent, codes and by_percent"),
    ],
)
def test_a_bad_rule_in_the_plan_book_is_refused_with_its_reason(tmp_path: Path, rule: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"payer ACME01: underpay.*{message}"):
        book_with(tmp_path, "ACME01", underpay=rule)


def test_rules_drawing_more_than_every_claim_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="more than 100% of claims"):
        book_with(
            tmp_path,
            "ACME01",
            underpay='{ percent = "80", codes = ["99213"], by_percent = "10" }',
            overpay='{ percent = "30", codes = ["99213"], by_percent = "10" }',
        )
