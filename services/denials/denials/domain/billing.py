"""Whose money a denial is: only what is the patient's to owe is billed to the patient."""

from __future__ import annotations

from typing import Any

from rcm_shared.errors import Conflict
from rcm_shared.x12.carc import is_contractual


def billable_to_the_patient(row: Any) -> None:
    """Only money that is the patient's to owe is billed to the patient (an allow-list): a member whose coverage
    was not in force (an eligibility denial) is no member under the payer's contract, and a denial whose
    classification recommends billing the patient (a service the plan does not cover) is the patient's.
    A PR (patient responsibility) amount is the patient's already: remittance puts it on the patient ledger
    from the 835. A CO (contractual obligation) amount is the provider's under its contract with the payer:
    billing the patient for it is balance billing, refused; so is a denial no rule classifies. (A patient who
    signed an advance notice, modifier GA on the line, would be billable: the denial does not carry the claim's
    modifiers, so a person decides.)"""
    patient = [code for code in row.carcs or [] if code.startswith("PR-")]
    if patient:
        raise Conflict(
            f"denial {row.id} is {', '.join(patient)}: the payer already assigned it to the patient, and the "
            "patient's statement bills it from the 835; billing the patient again would bill it twice"
        )
    if row.category == "eligibility":
        return
    provider = [code for code in row.carcs or [] if code.startswith("CO-") and not is_contractual(*code.split("-", 1))]
    if provider:
        raise Conflict(
            f"denial {row.id} is {', '.join(provider)}: a contractual obligation the payer puts on the provider, "
            "which may not be billed to the patient; appeal it, correct and resubmit the claim, or write it off"
        )
    if row.action != "bill_patient":
        raise Conflict(
            f"denial {row.id} ({row.category}: {row.root_cause}) is not one the classification marks billable to "
            "the patient (coverage not in force, or a service the plan does not cover); appeal it, correct and "
            "resubmit the claim, or write it off"
        )
