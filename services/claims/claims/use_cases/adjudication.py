"""What the payer's 835s do to a claim: an adjudication moves it to paid, partially paid or denied (and
bills the secondary payer, or records the crossover), a reversal reopens it or settles the void or
replacement it answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.unit import Actor, Unit
from rcm_shared.x12.carc import CONTRACTUAL_CARCS, is_contractual
from rcm_shared.x12.sets.x835 import FORWARDED

from claims.domain import state as st
from claims.domain.claim import CROSSOVER_ANSWERED, CROSSOVER_PENDING, SENT_REQUEST, Change
from claims.domain.scrubber import ScrubContext
from claims.repository import ClaimsRepository
from claims.use_cases.corrections import void_with
from claims.use_cases.lifecycle import record, transition
from claims.use_cases.secondary_billing import bill_secondary


def adjudicated_state(event: ClaimAdjudicatedV1) -> str:
    if event.status_code == "4" or (event.paid_cents == 0 and event.patient_responsibility_cents == 0):
        # Denied. A claim the deductible took whole (paid 0, all patient share) is processed, not denied.
        return st.DENIED
    if any(a.group in ("CO", "OA", "PI") and a.reason not in CONTRACTUAL_CARCS for a in event.adjustments):
        return st.PARTIALLY_PAID  # something was denied; a line left to the patient (deductible) is not
    return st.PAID


async def on_adjudicated_many(
    unit: Unit, items: Sequence[tuple[ClaimAdjudicatedV1, Actor]], secondary_ctx: ScrubContext | None = None
) -> None:
    """Move each claim to paid / partially paid / denied (reversals, 22, are handled by on_reversed), for
    many events of the unit's tenant in order: the claims are read at once, the events applied in memory,
    then the claim rows, transitions and events written in one statement each. A claim with a secondary
    payer is then billed to it (``bill_secondary``), unless its payer forwarded it there itself (a
    crossover, CLP02 19-21): the crossover carrier is recorded and its own 835 answers the same claim."""
    items = [(event, actor) for event, actor in items if event.status_code != "22"]
    ids = {event.claim_id for event, _actor in items}
    if not ids:
        return
    claims = ClaimsRepository(unit)
    rows = await claims.get_many(ids, document=False)
    before = {claim_id: dict(row) for claim_id, row in rows.items()}
    touched: dict[str, None] = {}
    changes: list[Change] = []
    actors, secondaries = [], []
    unsent: list[tuple[ClaimAdjudicatedV1, str]] = []  # 835s for claims in draft or ready, recorded on them
    for event, actor in items:
        row = rows.get(event.claim_id)
        if row is None:
            continue  # a payment for a claim this tenant never billed: remittance keeps it for review
        if event.reversed_already:
            # a held 835 released after the payer's reversal of this payment: the reversal took the money off
            # the claim when it came, and set the state and patient share (a correction after it, its own);
            # the payment only nets with it. A claim nothing else answered is with the payer: accepted.
            row.update(
                paid_cents=row["paid_cents"] + event.paid_cents,
                payer_claim_control_number=event.payer_claim_control_number or row["payer_claim_control_number"],
                updated_at=datetime.now(UTC),
            )
            touched[row["id"]] = None
            if row["state"] == st.SUBMITTED:
                row["state"] = st.ACCEPTED
                reason = f"835 {event.remittance_id}: a payment the payer has reversed already"
                changes.append((dict(row), st.SUBMITTED, st.ACCEPTED, reason, {}))
                actors.append(actor)
            continue
        contractual = sum(a.amount_cents for a in event.adjustments if is_contractual(a.group, a.reason))
        if event.crossover_answer:
            # the crossover payer's 835: its payment adds up, what it leaves to the patient replaces the
            # forwarding payer's; its CARC 23 (the prior payer's part) is no denial of this claim
            row.update(
                paid_cents=row["paid_cents"] + event.paid_cents,
                contractual_cents=row["contractual_cents"] + contractual,
                patient_responsibility_cents=event.patient_responsibility_cents,
                crossover_state=CROSSOVER_ANSWERED,
                updated_at=datetime.now(UTC),
            )
            touched[row["id"]] = None
            continue
        if event.status_code in FORWARDED:
            row.update(
                crossover_payer_id=event.crossover_payer_id or row["next_payer_id"],
                crossover_payer_name=(event.crossover_payer_name or "")[:60] or None,
                crossover_state=CROSSOVER_PENDING,
            )
        target = adjudicated_state(event)
        values = {
            "paid_cents": row["paid_cents"] + event.paid_cents,
            "contractual_cents": row["contractual_cents"] + contractual,
            "patient_responsibility_cents": event.patient_responsibility_cents,
            "payer_claim_control_number": event.payer_claim_control_number or row["payer_claim_control_number"],
            "adjudicated_at": datetime.now(UTC),
            # the date the payer paid, as its 835 says (BPR16), not when the 835 reached us
            "paid_on": row["paid_on"] or (event.payment_date if event.paid_cents > 0 else None),
        }
        if row["state"] == target:  # a restated or second payment: amounts change, the state does not
            row.update(values)
            touched[row["id"]] = None
            continue
        keeps_state = (st.CORRECTED, st.VOID, st.DRAFT, st.READY)
        if row["state"] in keeps_state or (row["state"] == st.CLOSED and not event.paid_cents):
            # Superseded, or not with the payer as we see it (never sent, or edited since: draft, ready): the
            # money is the payer's word still, the state stays, and an unsent claim's 835 is recorded on it
            # for a person to see. A closed claim stays closed when the payer pays nothing more; a payment
            # reopens it (below), the payer changed its money.
            row.update(values)
            touched[row["id"]] = None
            if row["state"] in (st.DRAFT, st.READY):
                unsent.append((event, row["state"]))
            continue
        st.check(row["state"], target)
        old = row["state"]
        row.update(values, state=target, updated_at=datetime.now(UTC))
        touched[row["id"]] = None
        reason = f"835 {event.remittance_id}: status {event.status_code}, paid {event.paid_cents / 100:.2f}"
        codes = [f"{a.group}-{a.reason}" for a in event.adjustments]
        changes.append((dict(row), old, target, reason, {"reason_codes": codes}))
        actors.append(actor)
        if secondary_ctx is not None and row["next_payer_id"] and event.status_code not in FORWARDED:
            secondaries.append((before[row["id"]], event, actor))
    if touched:
        columns = ["paid_cents", "contractual_cents", "patient_responsibility_cents", "payer_claim_control_number"]
        crossovers = ["crossover_payer_id", "crossover_payer_name", "crossover_state"]
        await claims.put_many(
            [rows[claim_id] for claim_id in touched],
            [*columns, "adjudicated_at", "paid_on", "state", "updated_at", *crossovers],
        )
    if changes:
        await record(unit, changes, actors)
    if unsent:
        await claims.add_status_records(
            [
                {
                    "claim_id": event.claim_id,
                    "source": "835",
                    "summary": (
                        f"835 {event.remittance_id} for the claim while it is {state}: status {event.status_code}, "
                        f"paid {event.paid_cents / 100:.2f}; the money is applied, the state kept"
                    ),
                    "codes": [f"{a.group}-{a.reason}" for a in event.adjustments],
                    "at": datetime.now(UTC),
                }
                for event, state in unsent
            ],
        )
    if secondaries:  # the documents of the claims billed on to a secondary payer only (a JSON read each)
        assert secondary_ctx is not None
        documents = await claims.documents({row["id"] for row, _event, _actor in secondaries})
        for before_row, event, actor in secondaries:
            primary = SimpleNamespace(**before_row, document=documents[before_row["id"]])
            await bill_secondary(unit.acting_as(actor), primary, event, secondary_ctx)


async def on_reversed(unit: Unit, event: ClaimReversedV1) -> None:
    """A payer reversal: the claim reopens (accepted; a closed one too: what the payer took back is owed and
    followed up again), or, when it answers a void or replacement sent for the claim, the claim is void or
    corrected."""
    claims = ClaimsRepository(unit)
    try:
        row = await claims.get(event.claim_id, lock=True)
        if row.frequency == "8" and row.original_claim_id:
            # the payer echoed the void's own claim id (CLM01) on its reversal: a void carries no money, the
            # payment taken back is the original's (the void names it by the payer's number, REF*F8)
            row = await claims.get(row.original_claim_id, lock=True)
    except NotFound:
        return
    values: dict[str, Any] = {"paid_cents": row.paid_cents + event.reversed_paid_cents}
    if values["paid_cents"] == 0:  # the payment is undone whole: its adjustments and patient share with it
        values.update(contractual_cents=0, patient_responsibility_cents=0, paid_on=None)
    request = (await claims.open_requests({str(row.id)}, SENT_REQUEST)).get(row.id)
    reopens = row.state == st.CLOSED and request is None
    if row.state not in st.ANSWERED_BY_PAYER and not reopens:
        # Superseded (the state stays); closed with a void or replacement sent before it was closed (a closed
        # claim is neither voided nor replaced here: the state stays for a person to settle the request); or
        # the payment it takes back has not reached the claim yet (held in an unbalanced 835). The money
        # follows the payer either way, so that the payment applied later nets with it.
        await claims.update(row.id, values)
        return
    why = f"payer reversed its payment ({event.remittance_id})"
    if request is not None and request.frequency == "8":
        await void_with(unit, row, request, f"honoured: {why}", **values)
    elif request is not None:
        reason = f"{why} for replacement claim {request.id}"
        await transition(unit, row, st.CORRECTED, reason=reason, values=values)
    else:
        await transition(unit, row, st.ACCEPTED, reason=why, values=values)
