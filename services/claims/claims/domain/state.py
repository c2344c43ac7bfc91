"""The claim lifecycle as a table of legal transitions. Everything else is refused."""

from __future__ import annotations

from rcm_shared.errors import Conflict

DRAFT, READY, SUBMITTED, ACCEPTED, REJECTED = "draft", "ready", "submitted", "accepted", "rejected"
PAID, PARTIALLY_PAID, DENIED = "paid", "partially_paid", "denied"
APPEALED, CORRECTED, CLOSED, VOID = "appealed", "corrected", "closed", "void"
ADJUDICATED = frozenset({PAID, PARTIALLY_PAID, DENIED})
# Under appeal the payer's adjudication still stands: its answers (a reversal, a void or replacement
# acknowledged) act on the claim as on any adjudicated one.
ANSWERED_BY_PAYER = ADJUDICATED | {APPEALED}
# A claim enters in draft, or straight in ready when the scrub at charge entry finds no error: one
# transition (one history row, one status event) either way, with one of these reasons.
ENTERED, ENTERED_CLEAN = "charge entry", "charge entry, scrubbed clean"

TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({READY, VOID}),
    READY: frozenset({SUBMITTED, DRAFT, VOID}),
    # A payment may arrive before the acceptance (277CA) does: it is not lost.
    SUBMITTED: frozenset({ACCEPTED, REJECTED, PAID, PARTIALLY_PAID, DENIED, VOID}),
    ACCEPTED: frozenset({PAID, PARTIALLY_PAID, DENIED, VOID}),
    # A payer may adjudicate a claim its 277CA rejected: its 835 is the truth, and the money it moves stands.
    REJECTED: frozenset({DRAFT, READY, CORRECTED, VOID, PAID, PARTIALLY_PAID, DENIED}),
    # Adjudicated claims: a reversal reopens (back to accepted), a later payment restates.
    # A paid claim is appealed when the payer underpaid it.
    PAID: frozenset({CLOSED, ACCEPTED, PARTIALLY_PAID, DENIED, APPEALED, CORRECTED, VOID}),
    PARTIALLY_PAID: frozenset({PAID, DENIED, APPEALED, CORRECTED, CLOSED, ACCEPTED, VOID}),
    DENIED: frozenset({PAID, PARTIALLY_PAID, APPEALED, CORRECTED, CLOSED, ACCEPTED, VOID}),
    APPEALED: frozenset({PAID, PARTIALLY_PAID, DENIED, CLOSED, ACCEPTED, CORRECTED, VOID}),
    CORRECTED: frozenset({CLOSED}),
    # Closed is done with the payer until the payer changes its money on the claim: a reversal reopens it
    # (accepted, owed again), a later payment (on appeal, a correction) restates it.
    CLOSED: frozenset({ACCEPTED, PAID, PARTIALLY_PAID, DENIED}),
    VOID: frozenset(),
}
STATES = frozenset(TRANSITIONS)


class IllegalTransition(Conflict):
    """A transition the table does not allow: a 409 naming the current and the target state."""

    def __init__(self, current: str, target: str) -> None:
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none"
        super().__init__(
            f"a claim in state {current!r} cannot become {target!r} (allowed: {allowed})",
            title="Illegal transition",
            current_state=current,
            target_state=target,
        )
        self.current = current
        self.target = target


def check(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)
