"""Corrections and voids: a replacement (frequency 7) or void (frequency 8) claim for one the payer already
has, a void at once for one it never got, and what the payer's acceptance of such a request settles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.payloads.denials import ClaimCorrection
from rcm_shared.unit import Unit

from claims.config import ClaimsSettings
from claims.domain import state as st
from claims.domain.claim import OPEN_REQUEST
from claims.domain.encounter import ClaimCreate
from claims.domain.scrubber import ScrubContext
from claims.repository import ClaimsRepository
from claims.use_cases.charge_entry import create_claim
from claims.use_cases.lifecycle import transition
from claims.use_cases.references import NoConnection
from claims.use_cases.submission import prepare

NOT_YET = "Not possible yet"  # the claim's standing with the payer does not allow the request yet


async def correct_claim(
    unit: Unit,
    claim_id: str,
    ctx: ScrubContext,
    *,
    doc: ClaimCreate | None = None,
    correction: ClaimCorrection | None = None,
    void: bool = False,
) -> str:
    """A replacement (frequency 7) or void (frequency 8) claim for one the payer already has. The original
    keeps its state until the payer acts on the request (``settle_acknowledged_requests``, ``on_reversed``).
    Returns the id of the claim made (of the original, voided at once when the payer never got it)."""
    if doc is not None and correction is not None:
        raise Invalid("send a document or a correction, not both", title="Invalid request")
    claims = ClaimsRepository(unit)
    original = await claims.get(claim_id, lock=True)
    base = doc or ClaimCreate.model_validate(original.document)
    if correction is not None:
        try:
            base = apply_correction(base, correction)
        except ValueError as exc:
            raise Invalid(str(exc), title="Invalid correction") from None
    if original.state in (st.DRAFT, st.READY) or (original.state == st.REJECTED and void):
        # Never reached the payer: nothing to replace there.
        if void:
            await transition(unit, original, st.VOID, reason="voided before submission")
            return str(original.id)
        raise st.IllegalTransition(original.state, st.CORRECTED)
    kind = "void" if void else "replacement"
    st.check(original.state, st.VOID if void else st.CORRECTED)
    if not original.payer_claim_control_number:
        # The 837 of a void or replacement names the payer's claim control number (REF*F8); without it the
        # payer cannot tell which claim to act on, and the interchange cannot be built.
        if original.state == st.REJECTED:
            raise Conflict(
                f"claim {claim_id} was rejected before the payer numbered it: there is nothing at the payer to "
                f"replace; correct the claim (PUT /v1/claims/{claim_id}) and submit it again",
                title=NOT_YET,
            )
        raise Conflict(
            f"the payer has not numbered claim {claim_id} yet (no 277CA acceptance or 835 so far): a {kind} "
            "must name the payer's claim control number (REF*F8); ask again once the payer has acknowledged it",
            title=NOT_YET,
        )
    pending = await claims.open_requests({str(original.id)}, OPEN_REQUEST)
    if original.id in pending:
        other = pending[original.id]
        what = "void" if other.frequency == "8" else "replacement"
        raise Conflict(
            f"claim {claim_id} already has a {what} in progress (claim {other.id}, {other.state}): "
            "wait for the payer's answer to it",
            title=NOT_YET,
        )
    return await create_claim(unit, base, ctx, frequency="8" if void else "7", original=original)


async def request_resubmission(
    unit: Unit, claim_id: str, correction: ClaimCorrection, ctx: ScrubContext, settings: ClaimsSettings
) -> str:
    """Denials asks for a corrected claim: the frequency-7 claim, queued for delivery (by the worker's
    delivery loop, after this transaction commits) when it scrubs clean and resubmissions go out on their own.
    An organization with no clearinghouse connection to send it under keeps it ready, as if it were entered
    by hand: submitting it then says why it cannot go."""
    new_id = await correct_claim(unit, claim_id, ctx, correction=correction)
    if settings.auto_submit_resubmissions and (await ClaimsRepository(unit).get(new_id)).state == st.READY:
        try:
            await prepare(unit, settings, [new_id], settings.clearinghouse_adapter)
        except NoConnection:
            pass  # raised before anything is written: the claim stays ready
    return new_id


async def settle_acknowledged_requests(unit: Unit, request_ids: Sequence[str]) -> None:
    """The payer accepted these voids or replacements (277CA). A replacement supersedes its original now;
    a void takes effect now when the original carries no money to take back, else with the payer's
    reversal of it (an 835, ``on_reversed``)."""
    claims = ClaimsRepository(unit)
    for request_id in request_ids:
        request = await claims.get(request_id, lock=True)
        try:
            original = await claims.get(request.original_claim_id, lock=True)
        except NotFound:
            continue
        if request.frequency == "7":
            if st.CORRECTED in st.TRANSITIONS[original.state]:
                reason = f"replacement claim {request.id} accepted by the payer"
                await transition(unit, original, st.CORRECTED, reason=reason)
        elif not original.paid_cents and not original.patient_responsibility_cents:
            await void_with(unit, original, request, "accepted by the payer, nothing paid to take back")


async def void_with(unit: Unit, original: Any, request: Any, why: str, **values: Any) -> None:
    """The payer acted on a void: the original and its frequency-8 claim are both done."""
    if st.VOID in st.TRANSITIONS[original.state]:
        await transition(unit, original, st.VOID, reason=f"void claim {request.id} {why}", values=values)
    request = await ClaimsRepository(unit).get(request.id, lock=True)
    if st.VOID in st.TRANSITIONS[request.state]:
        await transition(unit, request, st.VOID, reason=f"void of claim {original.id} {why}")


def apply_correction(doc: ClaimCreate, correction: ClaimCorrection) -> ClaimCreate:
    """The document with a correction's fields and lines applied (ValueError when it does not fit)."""
    data = doc.model_dump(mode="json")
    if correction.prior_authorization is not None:
        data["prior_authorization"] = correction.prior_authorization
    if correction.referral_number is not None:
        data["referral_number"] = correction.referral_number
    if correction.diagnoses is not None:
        data["diagnoses"] = correction.diagnoses
    for fix in correction.lines:
        if not 1 <= fix.line_number <= len(data["lines"]):
            raise ValueError(f"correction names line {fix.line_number}; the claim has {len(data['lines'])}")
        line = data["lines"][fix.line_number - 1]
        for key in ("procedure_code", "modifiers", "units", "diagnosis_pointers"):
            value = getattr(fix, key)
            if value is not None:
                line[key] = value
    return ClaimCreate.model_validate(data)
