"""The claim state machine: every legal transition passes, every other one is refused."""

from __future__ import annotations

import itertools

import pytest
from claims.domain import state as st

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
