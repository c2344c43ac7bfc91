"""What a claim still has open with its payer (insurance A/R). Pure."""

from __future__ import annotations

from claims.domain import state as st

# Claims the payer has not finished with: their balance is insurance A/R.
OPEN_WITH_PAYER = (st.SUBMITTED, st.ACCEPTED, st.REJECTED, st.DENIED, st.PARTIALLY_PAID, st.APPEALED)


def insurance_balance(
    state: str,
    charge_cents: int,
    paid_cents: int,
    contractual_cents: int,
    patient_responsibility_cents: int,
    patient_transfer_cents: int,
    written_off_cents: int,
) -> int:
    """The charge less what the payers paid, adjusted by contract and left to the patient, and less what the
    denials work moved out of A/R (to the patient's account, or written off); 0 once the payer is done.

    Negative when more came off the claim than it charged (a payer's overpayment, moves over the open
    balance): a credit a person must look at, shown as it is rather than hidden as 0."""
    if state not in OPEN_WITH_PAYER:
        return 0
    return (
        charge_cents
        - paid_cents
        - contractual_cents
        - patient_responsibility_cents
        - patient_transfer_cents
        - written_off_cents
    )
