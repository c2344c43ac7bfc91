"""The claim state machine: every legal transition passes, every other one is refused."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import get_args

import pytest
from claims.api.schemas import ClaimState, FollowUpReason
from claims.domain import state as st
from claims.follow_up import REASONS
from claims.reports import _entered_clean

LEGAL = [(a, b) for a, targets in st.TRANSITIONS.items() for b in sorted(targets)]
ILLEGAL = [(a, b) for a, b in itertools.product(sorted(st.STATES), repeat=2) if b not in st.TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal(current: str, target: str) -> None:
    st.check(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal(current: str, target: str) -> None:
    with pytest.raises(st.IllegalTransition, match=f"a claim in state '{current}' cannot become '{target}'"):
        st.check(current, target)


def test_the_lifecycle_of_the_issue_is_reachable() -> None:
    path = [st.DRAFT, st.READY, st.SUBMITTED, st.ACCEPTED, st.PARTIALLY_PAID, st.APPEALED, st.PAID, st.CLOSED]
    for a, b in itertools.pairwise(path):
        st.check(a, b)
    for a, b in [(st.SUBMITTED, st.REJECTED), (st.DENIED, st.CORRECTED), (st.READY, st.VOID)]:
        st.check(a, b)
    assert not st.TRANSITIONS[st.CLOSED] and not st.TRANSITIONS[st.VOID]  # terminal


def _trail(*steps: tuple[str | None, str, str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(from_state=a, to_state=b, reason=r) for a, b, r in steps]


@pytest.mark.parametrize(
    ("trail", "clean"),
    [
        (_trail((None, st.READY, st.ENTERED_CLEAN), (st.READY, st.SUBMITTED, "837")), True),
        (_trail((None, st.DRAFT, st.ENTERED), (st.DRAFT, st.READY, "claim edited and scrubbed")), False),
        # histories written when entry was two transitions
        (_trail((None, st.DRAFT, "charge entry"), (st.DRAFT, st.READY, "scrubbed clean")), True),
        (_trail((None, st.DRAFT, "charge entry")), False),
        ([], False),
    ],
)
def test_the_clean_claim_rate_counts_claims_whose_scrub_at_entry_passed(
    trail: list[SimpleNamespace], clean: bool
) -> None:
    assert _entered_clean(trail) is clean


def test_the_list_filters_name_every_state_and_follow_up_reason() -> None:
    assert set(get_args(ClaimState)) == st.STATES
    assert set(get_args(FollowUpReason)) == set(REASONS)
