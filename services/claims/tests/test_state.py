"""The claim state machine: every legal transition passes, every other one is refused."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import get_args

import pytest
from claims.api.schemas import ClaimState, FollowUpReason
from claims.domain import state as st
from claims.domain.follow_up import REASONS
from claims.domain.reports import _entered_clean

STATES = [
    "draft",
    "ready",
    "submitted",
    "accepted",
    "rejected",
    "paid",
    "partially_paid",
    "denied",
    "appealed",
    "corrected",
    "closed",
    "void",
]
# The moves a billing office makes or sees, written out (not read from the table under test).
LEGAL = [
    ("draft", "ready"),  # the scrubber passes it
    ("draft", "void"),  # entered in error, never sent
    ("ready", "submitted"),  # sent in an 837
    ("ready", "draft"),  # edited, or held by the scrubber again
    ("ready", "void"),
    ("submitted", "accepted"),  # the payer's 277CA accepts it
    ("submitted", "rejected"),  # a 999 or 277CA rejects it
    ("submitted", "paid"),  # an 835 may come before the 277CA
    ("submitted", "partially_paid"),
    ("submitted", "denied"),
    ("submitted", "void"),
    ("accepted", "paid"),
    ("accepted", "partially_paid"),
    ("accepted", "denied"),
    ("accepted", "void"),
    ("rejected", "draft"),  # fixed by hand
    ("rejected", "ready"),  # fixed, and scrubbed clean
    ("rejected", "corrected"),  # a replacement claim takes its place
    ("rejected", "void"),
    # the payer adjudicates a claim its 277CA rejected anyway: its 835 is the truth
    ("rejected", "paid"),
    ("rejected", "partially_paid"),
    ("rejected", "denied"),
    # adjudicated: a reversal reopens it (accepted), a later 835 restates it, an underpayment is appealed
    ("paid", "closed"),
    ("paid", "accepted"),
    ("paid", "partially_paid"),
    ("paid", "denied"),
    ("paid", "appealed"),
    ("paid", "corrected"),
    ("paid", "void"),
    ("partially_paid", "closed"),
    ("partially_paid", "accepted"),
    ("partially_paid", "paid"),
    ("partially_paid", "denied"),
    ("partially_paid", "appealed"),
    ("partially_paid", "corrected"),
    ("partially_paid", "void"),
    ("denied", "closed"),
    ("denied", "accepted"),
    ("denied", "paid"),
    ("denied", "partially_paid"),
    ("denied", "appealed"),
    ("denied", "corrected"),
    ("denied", "void"),
    ("appealed", "paid"),  # the payer's answer to the appeal
    ("appealed", "partially_paid"),
    ("appealed", "denied"),
    ("appealed", "closed"),  # upheld, given up
    ("appealed", "accepted"),  # the payer reverses the adjudication under appeal: owed again, answer awaited
    ("appealed", "corrected"),  # a replacement claim the payer accepts supersedes it
    ("appealed", "void"),  # billed in error: the payer accepts the void
    ("corrected", "closed"),  # the replacement carries on; the original is done
    # closed is done until the payer changes its money on the claim: a reversal makes it owed again, a later
    # payment (on appeal, a correction) restates it
    ("closed", "accepted"),
    ("closed", "paid"),
    ("closed", "partially_paid"),
    ("closed", "denied"),
    # void is final
]
ILLEGAL = [(a, b) for a, b in itertools.product(STATES, repeat=2) if (a, b) not in LEGAL]


def test_the_table_is_the_lifecycle_written_out() -> None:
    assert len(set(LEGAL)) == len(LEGAL)
    assert sorted(st.STATES) == sorted(STATES)
    assert {(a, b) for a, targets in st.TRANSITIONS.items() for b in targets} == set(LEGAL)


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
    assert not st.TRANSITIONS[st.VOID]  # terminal
    assert st.VOID not in st.TRANSITIONS[st.CLOSED] and st.CORRECTED not in st.TRANSITIONS[st.CLOSED]


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
