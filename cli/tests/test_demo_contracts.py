"""The demo's contracts and underpayment reconciliation: the contract it loads says what the sandbox's payer
publishes, a payer it cannot say is refused, and the worklist is held against the sandbox line by line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rcm_cli.demo_contracts import contract_body, differences, report_lines
from rcm_cli.demo_practice import PhaseBoard, labelled

PUBLISHED: dict[str, Any] = {  # the shape of the sandbox's GET /sandbox/payers/{id}/contract
    "payer_id": "ACME01",
    "payer_name": "ACME HEALTH PLAN",
    "fee_schedule": {"99213": "92.00", "81002": "3.27"},
    "default_allowed_percent": "60",
    "pricing": {
        "rate_key": "procedure_code",
        "units": "multiply",
        "default_basis": "billed_charge",
        "lesser_of_charge": True,
        "rounding": "half_up_to_cent_per_line",
        "revenue_code_only_lines": "default_allowed_percent",
    },
    "modifier_rules": [],
    "policies": {"non_covered": ["97810"]},
}


def test_the_contract_loaded_prices_as_the_payer_publishes() -> None:
    body = contract_body(PUBLISHED, date(2025, 12, 5))
    assert (body["payer_id"], body["plan"], body["effective_from"]) == ("ACME01", None, "2025-12-05")
    assert (body["default_rule"], body["default_percent"]) == ("percent_of_charges", "60")
    assert (body["multiple_procedure"], body["bilateral_percent"], body["lesser_of_charge"]) == (False, "100", True)
    # rates in cents per unit; a 26 or TC line at the code's own rate, as the payer ignores modifiers
    assert body["fee_lines"] == [
        {"code": "81002", "modifier": "", "rate_cents": 327},
        {"code": "81002", "modifier": "26", "rate_cents": 327},
        {"code": "81002", "modifier": "TC", "rate_cents": 327},
        {"code": "99213", "modifier": "", "rate_cents": 9200},
        {"code": "99213", "modifier": "26", "rate_cents": 9200},
        {"code": "99213", "modifier": "TC", "rate_cents": 9200},
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"modifier_rules": [{"modifier": "51", "percent": "50"}]},
        {"pricing": {**PUBLISHED["pricing"], "lesser_of_charge": False}},
        {"pricing": {**PUBLISHED["pricing"], "default_basis": "medicare"}},
    ],
)
def test_a_payer_pricing_otherwise_is_refused_not_loaded_wrong(change: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="ACME01 prices in a way"):
        contract_body(PUBLISHED | change, date(2025, 12, 5))


def test_a_rate_in_fractions_of_a_cent_is_refused() -> None:
    with pytest.raises(RuntimeError, match=r"3\.275 is not a whole number of cents"):
        contract_body(PUBLISHED | {"fee_schedule": {"81002": "3.275"}}, date(2025, 12, 5))


def _item(claim: str, line: int, kind: str, cents: int) -> dict[str, Any]:
    return {
        "claim_id": claim,
        "line_number": line,
        "code": "99213",
        "kind": kind,
        "amount_cents": cents,
        "cause": "rate",
        "expected_allowed_cents": 9200,
        "allowed_cents": 9200 - cents if kind == "under" else 9200 + cents,
    }


def _made(claim: str, line: int, kind: str, cents: int, standing: bool = True) -> dict[str, Any]:
    return {
        "claim_id": claim,
        "line": line,
        "code": "99213",
        "kind": kind,
        "variance_cents": cents,
        "standing": standing,
        "contract_allowed": "92.00",
        "allowed": f"{(9200 - cents) / 100:.2f}",
    }


def test_the_worklist_and_the_sandbox_agree_line_by_line_or_each_difference_is_named() -> None:
    ours = [_item("C1", 1, "under", 920), _item("C2", 2, "over", 460)]
    made = [_made("C1", 1, "under", 920), _made("C2", 2, "over", 460), _made("C9", 1, "under", 920, False)]
    assert differences(ours, made) == []  # C9 was voided: the sandbox took its payment back, nothing at stake
    ours[0] = _item("C1", 1, "under", 919)
    ours.append(_item("C3", 1, "under", 100))
    found = differences(ours, made)
    assert [(d["claim_id"], d["line"], d["worklist"], d["sandbox"]) for d in found] == [
        ("C1", 1, {"kind": "under", "amount_cents": 919, "cause": "rate"}, {"kind": "under", "amount_cents": 920}),
        ("C3", 1, {"kind": "under", "amount_cents": 100, "cause": "rate"}, None),
    ]
    lines = report_lines(
        {
            "tenants": {},
            "worklist": {"under": {"lines": 2, "amount_cents": 1019}, "over": {"lines": 1, "amount_cents": 460}},
            "sandbox": {"under": {"lines": 1, "amount_cents": 920}, "over": {"lines": 1, "amount_cents": 460}},
            "differences": found,
        },
        {},
    )
    assert lines[1] == (
        "  all organizations: worklist under 2 line(s) 10.19, over 1 line(s) 4.60; "
        "sandbox under 1 line(s) 9.20, over 1 line(s) 4.60"
    )
    assert lines[2] == "  2 line(s) differ:" and "claim C1 line 1 (99213)" in lines[3]


def test_the_phase_file_says_waiting_only_while_every_organization_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    phase = tmp_path / "phase"
    monkeypatch.setenv("RCM_DEMO_PHASE_FILE", str(phase))
    board = PhaseBoard("waiting-on-payers")
    assert board.announce("default", "waiting-on-payers") == "waiting-on-payers"
    assert board.announce("lakeside", "denials") == "denials" and phase.read_text() == "denials"
    assert board.announce("lakeside", "waiting-on-payers") == "waiting-on-payers"
    assert phase.read_text() == "waiting-on-payers"
    monkeypatch.delenv("RCM_DEMO_PHASE_FILE")
    assert board.announce("default", "denials") is None  # no file: nothing announced


def test_the_second_organization_names_its_lines_and_leaves_out_its_progress() -> None:
    said: list[str] = []
    say = labelled(lambda text: said.append(text), "Lakeside Pediatrics")
    say("\r  round 1: paid 3", end="")
    say("")
    say("  charge entry: 50 claims")
    assert said == ["[Lakeside Pediatrics] charge entry: 50 claims"]
