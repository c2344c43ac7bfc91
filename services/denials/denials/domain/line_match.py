"""Which billed line each line of an 835's claim payment answers. Pure.

The 835 lists a claim's service lines in its own order: it may leave lines out (an unpaid line the payer
reports elsewhere, a line it bundled), split or restate them. The line control number (REF*6R) the 837 sent
with each line and the 835 echoes ties them; without one, a line at the same position answers the billed
line only when their procedure codes agree. Anything else is not compared, with the reason: holding one
service's payment against another's contract rate would put a false variance on the worklist."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BilledRef:
    """A billed line as the matching needs it."""

    line_number: int
    line_control_number: str | None
    code: str


@dataclass(frozen=True)
class AnswerRef:
    """A line of one claim payment: its position in the 835's claim (from 1), its REF*6R and its code."""

    position: int
    line_control_number: str | None
    code: str | None


@dataclass(frozen=True)
class Match:
    billed_line_number: int | None  # None: not compared
    how: str  # line_control_number | position | none
    reason: str | None = None  # why not compared


def _code(code: str | None) -> str:
    return (code or "").strip().upper()


def _label(answer: AnswerRef) -> str:
    return f"the 835's line {answer.position} ({_code(answer.code) or 'no code'})"


def match_lines(billed: Sequence[BilledRef], answers: Sequence[AnswerRef]) -> dict[int, Match]:
    """The billed line each answer of ONE claim payment answers, by answer position. A control number naming
    a line of the claim decides alone (the payer may have restated the code), and is matched before any line
    is taken by position; one billed line answers at most one line of the payment."""
    by_control = {b.line_control_number: b for b in billed if b.line_control_number}
    by_number = {b.line_number: b for b in billed}
    used: dict[int, int] = {}  # billed line number -> the answer position it was matched to
    out: dict[int, Match] = {}
    ordered = sorted(answers, key=lambda a: a.position)
    for answer in ordered:
        named = by_control.get(answer.line_control_number or "")
        if named is None:
            continue
        if named.line_number in used:
            why = (
                f"{_label(answer)} names billed line {named.line_number} ({answer.line_control_number}), "
                f"which the 835's line {used[named.line_number]} answers already"
            )
            out[answer.position] = Match(None, "none", why)
        else:
            used[named.line_number] = answer.position
            out[answer.position] = Match(named.line_number, "line_control_number")
    for answer in ordered:
        if answer.position in out:
            continue
        out[answer.position] = _by_position(answer, by_number.get(answer.position), used)
    return out


def _by_position(answer: AnswerRef, same_place: BilledRef | None, used: dict[int, int]) -> Match:
    control = (
        f"its control number {answer.line_control_number} is none of the claim's"
        if answer.line_control_number
        else "it carries no control number"
    )
    if same_place is None:
        return Match(
            None,
            "none",
            f"{_label(answer)} names no billed line: {control}, and the claim has no line {answer.position}",
        )
    if _code(same_place.code) != _code(answer.code):
        why = (
            f"{_label(answer)} names no billed line: {control}, and billed line {same_place.line_number} is "
            f"{_code(same_place.code) or 'no code'}"
        )
        return Match(None, "none", why)
    if same_place.line_number in used:
        why = (
            f"{_label(answer)}: billed line {same_place.line_number} is answered by the 835's line "
            f"{used[same_place.line_number]} already"
        )
        return Match(None, "none", why)
    used[same_place.line_number] = answer.position
    return Match(same_place.line_number, "position")
