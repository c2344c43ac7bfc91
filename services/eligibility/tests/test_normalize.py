"""From a 271 to normalized benefits (eligibility/domain/normalize.py): the samples and a synthetic answer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from builders.x271 import SAMPLES, answer, x271
from eligibility.domain.normalize import normalize
from rcm_shared.x12.sets.x270 import read_271


def test_dependent_sample_normalized() -> None:
    (r,) = read_271(SAMPLES / "lfh__271_005010X279A1__dependent-health-benefit-check.271")
    n = normalize(r)
    assert (n.status, n.plan, n.coverage_start, n.member_id) == (
        "active",
        "GOLD 123 PLAN",
        date(2006, 1, 1),
        "123456789",
    )
    office = {(b.service_type, b.network): b for b in n.benefits}
    assert office[("98", "in")].copay == D("10.00") and office[("98", "out")].copay == D("30.00")


def test_medicare_sample_deductibles_and_other_payer() -> None:
    (r,) = read_271(SAMPLES / "nodex12__test-data__271.edi", lenient_envelope=True)
    n = normalize(r)
    assert n.status == "active" and n.coverage_start == date(2019, 12, 30)
    general = [b for b in n.benefits if b.service_type == "30"]
    assert any(b.deductible.limit == D("0") for b in general) and any(b.coinsurance == D("0") for b in general)
    assert [p["plan"] for p in n.other_payers] == ["NJ QMB Plan", None]


def test_error_sample_keeps_aaa_with_a_next_step() -> None:
    (r,) = read_271(SAMPLES / "lfh__271_005010X279A1__subscriber-health-benefit-check-error.271", lenient_envelope=True)
    n = normalize(r)
    assert n.status == "error"
    assert n.errors == [
        {
            "loop": "2100B",
            "code": "50",
            "follow_up": "N",
            "valid_request": "Y",
            "next_step": "provider not eligible for this inquiry: verify enrollment with the payer",
        }
    ]


def test_synthetic_answer_normalized() -> None:
    (r,) = read_271(x271(answer("W1")).encode())
    n = normalize(r)
    general = next(b for b in n.benefits if b.service_type == "30" and b.network == "in")
    assert (general.deductible.limit, general.deductible.remaining) == (D("1500"), D("500"))
    assert general.out_of_pocket.limit == D("6000") and general.coinsurance == D("0.2")
    assert general.prior_authorization_required is True
    assert (n.group_number, n.coverage_start, n.coverage_end) == ("GRP100", date(2026, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("lfh__271_005010X279A1__dependent-health-benefit-check.271", "active"),
        ("lfh__demo-file__demo.271", "active"),
        ("nodex12__test-data__271.edi", "active"),
        ("lfh__271_005010X279A1__subscriber-health-benefit-check-error.271", "error"),
        ("imsweb__x270_271__x271.txt", "unsupported version '00401'"),
    ],
)
def test_every_sample_271(name: str, status: str) -> None:
    from rcm_shared.x12.errors import X12Error

    if status.startswith("unsupported"):
        with pytest.raises(X12Error, match=status):
            list(read_271(SAMPLES / name, lenient_envelope=True))
        return
    (r,) = read_271(SAMPLES / name, lenient_envelope=True)
    assert normalize(r).status == status
