"""Which billed line each line of an 835's claim payment answers (denials/domain/line_match.py): the control
number first, else the same code at the same position, else none with the reason."""

from __future__ import annotations

from denials.domain.line_match import AnswerRef, BilledRef, Match, match_lines

CLAIM = [BilledRef(1, "C1-1", "99213"), BilledRef(2, "C1-2", "85025"), BilledRef(3, "C1-3", "36415")]


def test_a_control_number_names_the_line_whatever_the_position_or_a_restated_code() -> None:
    answers = [AnswerRef(1, "C1-3", "36415"), AnswerRef(2, "C1-1", "99212")]  # 99213 paid as 99212
    assert match_lines(CLAIM, answers) == {
        1: Match(3, "line_control_number"),
        2: Match(1, "line_control_number"),
    }


def test_without_a_control_number_the_same_code_at_the_same_position_answers() -> None:
    billed = [BilledRef(1, None, "99213"), BilledRef(2, None, "85025")]
    found = match_lines(billed, [AnswerRef(1, None, "99213"), AnswerRef(2, None, " 85025 ")])
    assert found == {1: Match(1, "position"), 2: Match(2, "position")}


def test_another_code_at_the_position_or_no_line_there_is_not_compared() -> None:
    billed = [BilledRef(1, None, "99213"), BilledRef(2, None, "85025")]
    found = match_lines(billed, [AnswerRef(1, None, "85025"), AnswerRef(3, "X-9", "36415")])
    assert (found[1].billed_line_number, found[1].how) == (None, "none")
    assert found[1].reason == (
        "the 835's line 1 (85025) names no billed line: it carries no control number, and billed line 1 is 99213"
    )
    assert found[3].reason == (
        "the 835's line 3 (36415) names no billed line: its control number X-9 is none of the claim's, and the "
        "claim has no line 3"
    )


def test_a_control_number_none_of_the_claims_falls_back_to_the_position() -> None:
    assert match_lines(CLAIM, [AnswerRef(2, "OTHER-7", "85025")]) == {2: Match(2, "position")}


def test_a_billed_line_answers_one_line_of_a_payment_and_its_control_number_comes_first() -> None:
    """The payer split C1-2 in two lines with the same REF*6R; and an unnumbered line at position 1 does not take
    line 1 from the later line that names it."""
    answers = [AnswerRef(1, None, "99213"), AnswerRef(2, "C1-2", "85025"), AnswerRef(3, "C1-2", "85025")]
    answers.append(AnswerRef(4, "C1-1", "99213"))
    found = match_lines(CLAIM, answers)
    assert found[4] == Match(1, "line_control_number") and found[2] == Match(2, "line_control_number")
    assert found[3].billed_line_number is None and "which the 835's line 2 answers already" in str(found[3].reason)
    assert found[1].billed_line_number is None and "answered by the 835's line 4 already" in str(found[1].reason)
