"""Insurance follow-up, its rules: which claims are on the work list (their answer from the clearinghouse
or the payer is late) and what to do next. Pure.

A claim lands on the list when, counted from its (last) submission and per the payer's rules
(``payer_rules.toml``): no 999 after ``ack_days``; no 277CA after ``payer_ack_days``; no payment after
``payment_days``. Independently, any claim not yet adjudicated is flagged ``warn_days_before_limit``
days *before* its timely-filing limit (first date of service + ``timely_filing_days``), not after.
Each item says why and what to do next; the last 277 answer to a 276 inquiry refines that (not found
-> resubmit, pending -> wait, finalized -> get the 835, more information requested -> send it).
The worker sends the 276 inquiries that are due (``inquiry_every_days`` apart) on its own.
A crossover (the payer forwarded the claim to the next payer itself, 835 CLP02 19-21) is listed when the
crossover payer's 835 is later than that payer's ``payment_days`` after the forwarding payer's; remittance
makes the patient's share due from the same day (its ``crossover_wait_days``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from claims.domain import state as st
from claims.domain.scrubber import PayerRuleBook

# Claims the payer has not finished with; draft/ready/rejected ones only for the timely-filing flag.
WAITING = (st.SUBMITTED, st.ACCEPTED)
NOT_FILED = (st.DRAFT, st.READY, st.REJECTED)

REASONS = {
    "no_999": "no acknowledgment (999) from the clearinghouse",
    "no_277ca": "no claim acknowledgment (277CA) from the payer",
    "no_payment": "no payment (835) from the payer",
    "no_crossover_payment": "no 835 from the payer the claim was forwarded to (crossover)",
    "timely_filing": "the timely-filing limit is near and the claim is not adjudicated",
}
ACTIONS = {
    "resend": "check the clearinghouse connection and resend the interchange",
    "status_inquiry": "send a 276 claim status inquiry",
    "wait": "the payer reports the claim in process: ask again later",
    "resubmit": "the payer has no record of the claim: resubmit it (frequency 1)",
    "request_remittance": "the payer reports the claim finalized: request the 835 or check the payer portal",
    "send_information": "the payer asks for more information: send it (attachment or corrected claim)",
    "file_now": "correct and submit the claim before the limit",
    "contact_crossover_payer": "ask the crossover payer about the forwarded claim (do not bill it a second time)",
}


@dataclass
class StatusRecord:
    source: str
    summary: str
    codes: list[str]
    at: datetime


@dataclass
class FollowUpItem:
    claim_id: str
    payer_id: str
    state: str
    service_from: date
    charge_cents: int
    submitted_on: date | None
    days_outstanding: int | None
    reason: str  # a key of REASONS
    reason_text: str
    next_action: str  # a key of ACTIONS
    next_action_text: str
    inquiry_due: bool
    timely_filing_deadline: date
    days_to_timely_filing_limit: int
    timely_filing_warning: bool
    last_inquiry_at: datetime | None = None
    last_answer: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _action_from_answer(codes: list[str]) -> str:
    """What a 277's status category (STC01-1) says to do next."""
    categories = {c.split(":", 1)[0] for c in codes}
    if categories & {"A4", "A6", "A7", "A8"}:  # not found / rejected: the payer has nothing to pay
        return "resubmit"
    if any(c.startswith("R") for c in categories):
        return "send_information"
    if any(c.startswith("F") for c in categories):
        return "request_remittance"
    if any(c.startswith("P") for c in categories) or categories & {"A1", "A2", "A3"}:
        return "wait"
    return "status_inquiry"


def assess(row: Any, records: list[StatusRecord], rules: PayerRuleBook, as_of: date) -> FollowUpItem | None:
    """The follow-up item for one claim, or None when nothing about it is late."""
    r = rules.for_payer(row.payer_id)
    deadline = row.service_from + timedelta(days=r.timely_filing_days)
    days_left = (deadline - as_of).days
    warning = days_left <= r.warn_days_before_limit
    submitted = row.submitted_at
    since = [x for x in records if submitted is None or x.at >= submitted]  # answers to the last submission
    inquiries = [x for x in since if x.source == "276"]
    answers = [x for x in since if x.source == "277"]
    last_inquiry = inquiries[-1].at if inquiries else None
    last_answer = answers[-1] if answers and (last_inquiry is None or answers[-1].at >= last_inquiry) else None
    days = (as_of - submitted.date()).days if submitted else None
    reason: str | None = None
    action = "status_inquiry"
    if row.state in NOT_FILED:
        reason, action = ("timely_filing", "file_now") if warning else (None, "")
    elif days is not None:
        acknowledged = any(x.source == "277CA" for x in since)
        if row.state == st.SUBMITTED and not acknowledged and not any(x.source == "999" for x in since):
            reason, action = ("no_999", "resend") if days > r.ack_days else (None, "")
        elif row.state == st.SUBMITTED and not acknowledged and days > r.payer_ack_days:
            reason = "no_277ca"
        elif days > r.payment_days:
            reason = "no_payment"
        if reason is None and warning:
            reason = "timely_filing"
    if reason is None:
        return None
    if action == "status_inquiry" and last_answer is not None:
        action = _action_from_answer(last_answer.codes)
    wait_over = last_inquiry is None or (as_of - last_inquiry.date()).days >= r.inquiry_every_days
    if action == "wait" and wait_over:
        action = "status_inquiry"  # pending long enough: ask again
    inquiry_due = action == "status_inquiry" and wait_over
    return FollowUpItem(
        claim_id=row.id,
        payer_id=row.payer_id,
        state=row.state,
        service_from=row.service_from,
        charge_cents=row.charge_cents,
        submitted_on=submitted.date() if submitted else None,
        days_outstanding=days,
        reason=reason,
        reason_text=REASONS[reason],
        next_action=action,
        next_action_text=ACTIONS[action],
        inquiry_due=inquiry_due,
        timely_filing_deadline=deadline,
        days_to_timely_filing_limit=days_left,
        timely_filing_warning=warning,
        last_inquiry_at=last_inquiry,
        last_answer=(
            {"summary": last_answer.summary, "codes": last_answer.codes, "at": last_answer.at.isoformat()}
            if last_answer
            else None
        ),
        history=[{"source": x.source, "summary": x.summary, "codes": x.codes, "at": x.at.isoformat()} for x in since],
    )


def assess_crossover(row: Any, rules: PayerRuleBook, as_of: date) -> FollowUpItem | None:
    """The follow-up item of an adjudicated claim whose crossover payer has not answered, once that is late:
    counted from the forwarding payer's payment date (its 835's BPR16), as remittance counts the patient's
    wait, or from when its 835 was processed here when it paid nothing."""
    r = rules.for_payer(row.crossover_payer_id or row.payer_id)
    forwarded_on = row.paid_on or (row.adjudicated_at.date() if row.adjudicated_at else None)
    if forwarded_on is None or (as_of - forwarded_on).days <= r.payment_days:
        return None
    deadline = row.service_from + timedelta(days=rules.for_payer(row.payer_id).timely_filing_days)
    return FollowUpItem(
        claim_id=row.id,
        payer_id=row.crossover_payer_id or row.payer_id,
        state=row.state,
        service_from=row.service_from,
        charge_cents=row.charge_cents,
        submitted_on=row.submitted_at.date() if row.submitted_at else None,
        days_outstanding=(as_of - forwarded_on).days,
        reason="no_crossover_payment",
        reason_text=REASONS["no_crossover_payment"],
        next_action="contact_crossover_payer",
        next_action_text=ACTIONS["contact_crossover_payer"],
        inquiry_due=False,  # a 276 would go to the claim's payer, which has answered
        timely_filing_deadline=deadline,
        days_to_timely_filing_limit=(deadline - as_of).days,
        timely_filing_warning=False,  # the claim was filed in time: its payer adjudicated it
    )


def by_urgency(item: FollowUpItem) -> tuple[bool, int, int, str]:
    """The list's order, most urgent first: timely-filing warnings by days left, then the longest waiting."""
    return (
        not item.timely_filing_warning,
        item.days_to_timely_filing_limit if item.timely_filing_warning else 0,
        -(item.days_outstanding or 0),
        item.claim_id,
    )
