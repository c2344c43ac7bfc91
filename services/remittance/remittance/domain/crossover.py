"""Crossovers: a payer that processed a claim and forwarded it to the next payer itself (CLP02 19-21, the
carrier in NM1*TT), as Medicare does to a Medigap or Medicaid plan. No claim goes from us to that payer;
its own 835 answers the same claim id.

Until that answer, the forwarding payment's patient responsibility is not due from the patient (the
crossover payer may pay it). The answer's CAS says what the patient still owes and carries the forwarding
payer's part as CARC 23 (impact of prior payer adjudication); on the claim's ledger the answer is posted
with offsets (no CAS group) that take back that CARC 23 and the forwarded payment's patient share, so the
claim's totals count every dollar once: charge = payments + contractual + patient share still owed.
An answer that is late (``use_cases.crossovers.release_late``) makes the forwarded payment's patient share
due; a later answer takes it back from the patient's ledger and posts its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcm_shared.x12.sets.x835 import ClaimPayment

from remittance.domain.patients import PatientShare
from remittance.domain.posting import PATIENT_TYPES, REVERSAL, Entry

PENDING, RELEASED, ANSWERED = "pending", "released", "answered"
PRIOR_PAYER = "23"  # CARC 23: the impact of prior payer(s) adjudication, including payments and adjustments
PRIOR_PAYER_GROUPS = ("OA", "CO", "PI")


@dataclass
class Forwarded:
    """A forwarded claim payment still waiting for the crossover payer's answer."""

    id: str
    claim_id: str
    payer_id: str  # the forwarding payer
    state: str  # pending | released
    patient: list[tuple[str, int]]  # its patient responsibility (entry type, cents)


@dataclass
class EarlyAnswer:
    """A crossover payer's payment that was posted before the forwarded payment it answers (the forwarding
    payer's 835 was held, then released): posted as an ordinary payment, its CARC 23 still on the ledger."""

    id: str
    prior_payer: list[tuple[str, int]]  # its CARC 23 ledger entries (entry type, cents)


class AnsweredMeanwhile(RuntimeError):
    """A forwarded payment changed its crossover state after this posting read it (the read locks it on
    PostgreSQL, so this guards the invariant): the posting is rolled back rather than bill its patient
    share twice or leave it unbilled."""


def row_values(c: ClaimPayment) -> dict[str, Any]:
    """The crossover columns of a claim payment row as posted."""
    tt = c.crossover_carrier
    return {
        "crossover_payer_id": tt.get("id") if c.forwarded else None,
        "crossover_payer_name": (tt.get("name") or "")[:60] or None if c.forwarded else None,
        "crossover_state": PENDING if c.forwarded else None,
        "crossover_of": None,
    }


def early_offsets(entries: list[Entry], answer: EarlyAnswer) -> list[Entry]:
    """``offsets`` of an answer posted before its forwarded payment, posted with the forwarded payment: the
    answer's CARC 23 and this payment's patient share (what the answer left to the patient replaces it)."""
    out = [Entry(entry_type, -amount, None, PRIOR_PAYER) for entry_type, amount in answer.prior_payer]
    out += [
        Entry(e.entry_type, -e.amount_cents, None, None)
        for e in entries
        if e.entry_type in PATIENT_TYPES and e.group_code is not None and e.amount_cents
    ]
    return out


def answers(c: ClaimPayment, forwarded: Forwarded) -> bool:
    """Whether this payment is the crossover payer's answer to the forwarded one (the forwarding payer's own
    restatements are never among those waiting), not a reversal."""
    return c.status != REVERSAL


def offsets(c: ClaimPayment, entries: list[Entry], forwarded: Forwarded) -> list[Entry]:
    """Ledger entries (no CAS group) that keep the claim's totals whole when the answer posts: its CARC 23
    (the forwarding payer's part, already posted) and the forwarded payment's patient share (superseded by
    what the answer leaves to the patient) are taken back."""
    out = [
        Entry(e.entry_type, -e.amount_cents, None, PRIOR_PAYER, e.line_index)
        for e in entries
        if e.reason_code == PRIOR_PAYER and e.group_code in PRIOR_PAYER_GROUPS
    ]
    out += [Entry(entry_type, -amount, None, None) for entry_type, amount in forwarded.patient]
    return out


def taken_back(answer: ClaimPayment, remittance_id: str, forwarded: Forwarded) -> PatientShare | None:
    """A released forwarded payment's patient share, taken back from the patient when the answer comes (the
    answer's own patient share is posted as any payment's). Posted under the forwarded payment (from the
    answer's remittance): what that payment leaves on the patient's ledger is then what a reversal of it may
    take back, and the answer's own share is all a reversal of the answer finds."""
    if forwarded.state != RELEASED or not forwarded.patient:
        return None
    return PatientShare(
        answer.patient_control_number,
        forwarded.id,
        remittance_id,
        answer.status,
        0,
        0,
        None,
        [(entry_type, -amount) for entry_type, amount in forwarded.patient],
        due=True,
    )
