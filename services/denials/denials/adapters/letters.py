"""Appeal letters: a per-category template filled from the denial's claim and remittance details, and the
appeal of an underpaid line citing the contract line and the steps that price it; headed and signed by the
tenant's practice (``Letterhead``); rendered as text and PDF."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from typing import Any

from fpdf import FPDF

TEMPLATES = {
    "authorization": "The service was medically necessary and urgent; authorization {auth} was obtained or "
    "could not be obtained in time. We ask that you reconsider under your retro-authorization policy.",
    "medical_necessity": "The enclosed records document the medical necessity of the service for the "
    "patient's condition. We ask that you reconsider the determination.",
    "coding_bundling": "The service was distinct from the other services billed on this date (separate "
    "site or encounter); the coding follows CPT and NCCI guidance. We ask that you pay it separately.",
    "eligibility": "The patient's coverage was verified on the date of service. We ask that you re-check "
    "the member's eligibility and reprocess the claim.",
    "coordination_of_benefits": "The enclosed primary payer's determination shows this plan's "
    "responsibility. We ask that you reprocess the claim as secondary.",
    "missing_information": "The requested information is enclosed. We ask that you reprocess the claim.",
}


DEFAULT = "We believe the claim was processed in error and ask that you reconsider it in light of the enclosed records."


@dataclass(frozen=True)
class Letterhead:
    """Who sends a letter: the practice's legal name (it signs), and the lines printed under it."""

    name: str
    lines: tuple[str, ...] = ()


def letter_text(d: Any, head: Letterhead, today: date) -> str:
    body = TEMPLATES.get(d.category, DEFAULT).format(auth="on file")
    codes = ", ".join(d.carcs) or "none given"
    remarks = ", ".join(d.rarcs) or "none"
    line = f"line {d.line_number}" if d.line_number else "the whole claim"
    return "\n".join(
        [
            head.name,
            *head.lines,
            today.isoformat(),
            "",
            f"To: claims appeals, payer {d.payer_id}",
            "",
            f"Re: appeal of claim {d.claim_id} "
            f"(payer claim number {d.payer_claim_control_number or 'unknown'}), {line}",
            f"Amount in dispute: ${d.amount_cents / 100:,.2f}",
            f"Adjustment reason codes: {codes}; remarks: {remarks}",
            f"Reason for denial as we understand it: {d.root_cause}.",
            "",
            body,
            "",
            "Sincerely,",
            f"Billing office, {head.name}",
        ]
    )


def _dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def _share(item: Any) -> str:
    """The share of the allowed amount the remittance paid, as ``domain.variance.expected_paid`` reads it: the
    patient's deductible and copay are fixed amounts and stay the patient's at any allowed amount."""
    fixed = [
        f"the {name} {_dollars(cents)}"
        for name, cents in (("deductible", item.deductible_cents), ("copay", item.copay_cents))
        if cents
    ]
    if not fixed:
        return (
            f"of the allowed amount your remittance paid, {_dollars(item.paid_cents)} of {_dollars(item.allowed_cents)}"
        )
    rest = item.allowed_cents - item.deductible_cents - item.copay_cents
    return (
        f"your remittance paid of the allowed amount less the patient's {' and '.join(fixed)} (which stay the "
        f"patient's), {_dollars(item.paid_cents)} of {_dollars(max(0, rest))}"
    )


def underpayment_letter_text(item: Any, contract: Any, version: Any, head: Letterhead, today: date) -> str:
    """The appeal of an underpaid line: the contract and version in effect on the date of service, the fee
    schedule line applied (or the default rule), each step of the pricing, and the amount due."""
    ends = version.effective_to.isoformat() if version.effective_to else "open"
    plan = f", plan {contract.plan}" if contract.plan else ""
    name = f" ({contract.name})" if contract.name else ""
    fee = item.fee_line
    if fee:
        label = f"{fee['code']}-{fee['modifier']}" if fee["modifier"] else fee["code"]
        cited = f"Contract line: {label} at {_dollars(fee['rate_cents'])} per unit."
    else:
        cited = f"Contract rule: {item.rule.replace('_', ' ')} (no fee schedule line for {item.code})."
    modifiers = f" modifiers {item.modifiers.replace(':', ', ')}," if item.modifiers else ""
    return "\n".join(
        [
            head.name,
            *head.lines,
            today.isoformat(),
            "",
            f"To: provider disputes, payer {item.payer_id}",
            "",
            f"Re: underpayment of claim {item.claim_id}, line {item.line_number} (remittance {item.remittance_id})",
            f"Service: {item.code},{modifiers} {item.units} unit(s) on {item.service_date.isoformat()}",
            f"Agreement: contract {contract.id}{name}, payer {contract.payer_id}{plan}, version {version.version} "
            f"in effect {version.effective_from.isoformat()} to {ends}.",
            cited,
            "How the agreement prices this line:",
            *[f"  {n}. {step}" for n, step in enumerate(item.steps, start=1)],
            f"Allowed under the agreement: {_dollars(item.expected_allowed_cents)}; "
            f"allowed in your remittance: {_dollars(item.allowed_cents)} "
            f"({_dollars(item.amount_cents)} below).",
            f"Amount due: {_dollars(max(0, item.expected_paid_cents - item.paid_cents))} (your payment at the "
            f"agreement's allowed amount, in the share {_share(item)}: {_dollars(item.expected_paid_cents)}; "
            f"paid {_dollars(item.paid_cents)}).",
            "",
            "The line was paid below the rate of our agreement. We ask that you reprocess it at the contracted rate "
            "and pay the difference.",
            "",
            "Sincerely,",
            f"Billing office, {head.name}",
        ]
    )


def letter_pdf(text: str) -> str:
    pdf = FPDF(format="Letter")
    pdf.set_margins(25, 25, 25)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for paragraph in text.split("\n"):
        if paragraph:
            pdf.multi_cell(
                0, 6, paragraph.encode("latin-1", "replace").decode("latin-1"), new_x="LMARGIN", new_y="NEXT"
            )
        else:
            pdf.ln(4)
    return base64.b64encode(bytes(pdf.output())).decode()
