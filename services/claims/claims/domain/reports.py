"""Revenue-cycle KPIs and insurance A/R aging, computed from claims and their transitions. Pure.

Definitions (over original claims, frequency 1, entered in the period; replacements count toward
their original's outcome through the payments they bring):

- clean-claim rate: share of claims that passed the scrubber at entry and were never rejected by a
  999 or 277CA;
- first-pass yield: share of submitted claims paid on their first submission with no rejection, denial,
  partial denial or correction;
- denial rate: share of adjudicated claims whose first adjudication denied all or part of them;
- average days to payment: from the date of the first submission to the payment date the paying 835
  states (BPR16), over paid claims; a payment whose 835 gave no date is left out;
- net collection rate (insurance): what payers paid / (charges - contractual adjustments - patient
  responsibility), over adjudicated claims (a replacement's payment counting for its original), i.e.
  how much of what the payers owed was collected; denied and written-off amounts lower it.
  Patient payments are not in this service's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from claims.domain import state as st
from claims.domain.balance import insurance_balance

NOT_FIRST_PASS = frozenset({st.REJECTED, st.DENIED, st.PARTIALLY_PAID, st.CORRECTED, st.APPEALED})
BUCKETS = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, 120, "91-120"), (121, None, "120+"))


@dataclass
class Kpis:
    claims: int
    submitted: int
    adjudicated: int
    clean_claim_rate: float | None
    first_pass_yield: float | None
    denial_rate: float | None
    average_days_to_payment: float | None
    net_collection_rate: float | None
    charges_cents: int
    paid_cents: int
    contractual_cents: int
    patient_responsibility_cents: int


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def kpis_of(rows: Sequence[Any], replaced: Mapping[str, list[int]], history: Mapping[str, list[Any]]) -> Kpis:
    """The KPIs of these original claims, given the money of their replacements (paid, contractual, patient
    responsibility, by original id) and each claim's transitions in order."""
    clean = submitted = first_pass = adjudicated = denied_first = 0
    days: list[int] = []
    totals = {"charge": 0, "paid": 0, "contractual": 0, "patient": 0}
    for r in rows:
        trail = history.get(r.id, [])
        states = [tr.to_state for tr in trail]
        entered_ready = _entered_clean(trail)
        clean += entered_ready and st.REJECTED not in states
        sent = next((tr.at for tr in trail if tr.to_state == st.SUBMITTED), None)
        if sent is None:
            continue
        submitted += 1
        first_result = next((s for s in states if s in st.ADJUDICATED), None)
        if first_result is None:
            continue
        adjudicated += 1
        denied_first += first_result in (st.DENIED, st.PARTIALLY_PAID)
        first_pass += first_result == st.PAID and not NOT_FIRST_PASS & set(states)
        if r.paid_on is not None:
            days.append((r.paid_on - sent.date()).days)
        extra = replaced.get(r.id, [0, 0, 0])
        totals["charge"] += r.charge_cents
        totals["paid"] += r.paid_cents + extra[0]
        totals["contractual"] += r.contractual_cents + extra[1]
        totals["patient"] += r.patient_responsibility_cents + extra[2]
    owed = totals["charge"] - totals["contractual"] - totals["patient"]
    return Kpis(
        claims=len(rows),
        submitted=submitted,
        adjudicated=adjudicated,
        clean_claim_rate=_rate(clean, len(rows)),
        first_pass_yield=_rate(first_pass, submitted),
        denial_rate=_rate(denied_first, adjudicated),
        average_days_to_payment=round(sum(days) / len(days), 2) if days else None,
        net_collection_rate=_rate(totals["paid"], owed),
        charges_cents=totals["charge"],
        paid_cents=totals["paid"],
        contractual_cents=totals["contractual"],
        patient_responsibility_cents=totals["patient"],
    )


def aging(rows: Iterable[Any], as_of: date) -> list[dict[str, Any]]:
    """Open insurance balances by payer, aged from the date of service (``insurance_balance``); a credit (more
    came off the claim than it charged) is counted apart, for a person to look at."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        balance = insurance_balance(
            r.state,
            r.charge_cents,
            r.paid_cents,
            r.contractual_cents,
            r.patient_responsibility_cents,
            r.patient_transfer_cents,
            r.written_off_cents,
        )
        if balance == 0:
            continue
        entry = out.setdefault(r.payer_id, _aging_row(r.payer_id))
        if balance < 0:
            entry["credit_claims"] += 1
            entry["credit_cents"] += balance
            continue
        age = (as_of - r.service_from).days
        label = next(lbl for lo, hi, lbl in BUCKETS if age >= lo and (hi is None or age <= hi)) if age >= 0 else "0-30"
        entry[label] += balance
        entry["total_cents"] += balance
        entry["claims"] += 1
    return sorted(out.values(), key=lambda e: -e["total_cents"])


def _aging_row(payer_id: str) -> dict[str, Any]:
    return {
        "payer_id": payer_id,
        "claims": 0,
        "total_cents": 0,
        **{b[2]: 0 for b in BUCKETS},
        "credit_claims": 0,
        "credit_cents": 0,
    }


def _entered_clean(trail: Sequence[Any]) -> bool:
    """The scrub at charge entry passed: the claim entered in ready (histories written before entry became
    one transition show it as draft, then ready with the reason "scrubbed clean")."""
    if trail and trail[0].from_state is None and trail[0].to_state == st.READY:
        return True
    return len(trail) > 1 and (trail[1].from_state, trail[1].to_state, trail[1].reason) == (
        st.DRAFT,
        st.READY,
        "scrubbed clean",
    )
