"""A patient statement as the PDF sent to the patient (fpdf2, core fonts)."""

from __future__ import annotations

from typing import Any


def render_pdf(doc: dict[str, Any]) -> bytes:
    """The statement as a one-page-per-screenful PDF (fpdf2, core fonts)."""
    from fpdf import FPDF

    def money(cents: int) -> str:
        return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.2f}"

    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    practice = doc["practice"]
    pdf.cell(0, 8, practice["name"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 5, practice["address"], new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"Billing questions: {practice['phone']}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, "PATIENT STATEMENT", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    patient = doc["patient"] or {}
    who = " ".join(x for x in (patient.get("first_name"), patient.get("last_name")) if x) or "Patient"
    pdf.cell(0, 5, f"Statement for: {who}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"Account: {doc['account_id']}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0,
        5,
        f"Statement date: {doc['statement_date']}   Please pay by: {doc['due_date']}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    widths = (24, 28, 24, 24, 24, 30, 22, 20)
    heads = ("Date", "Claim", "Charge", "Ins. paid", "Adjusted", "You owe", "You paid", "Balance")
    pdf.set_font("Helvetica", "B", 8)
    for w, h in zip(widths, heads, strict=True):
        pdf.cell(w, 6, h, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for v in doc["visits"]:
        owed = sum(v["patient_responsibility_cents"].values())
        adjusted = v["contractual_adjustment_cents"] + v["other_adjustment_cents"]
        cells = (
            v["service_date"] or "",
            v["claim_id"],
            money(v["charge_cents"]),
            money(v["insurance_paid_cents"]),
            money(adjusted),
            money(owed),
            money(v["patient_paid_cents"]),
            money(v["balance_cents"]),
        )
        for w, text in zip(widths, cells, strict=True):
            pdf.cell(w, 6, text, border=1)
        pdf.ln()
        detail = ", ".join(f"{k} {money(c)}" for k, c in v["patient_responsibility_cents"].items() if c)
        if detail:
            pdf.cell(0, 5, f"    Your share: {detail}", new_x="LMARGIN", new_y="NEXT")
    if doc["on_account_cents"]:
        pdf.cell(0, 6, f"Payments on account (credit): {money(doc['on_account_cents'])}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(
        0,
        6,
        "Aging: " + "   ".join(f"{k} days {money(c)}" for k, c in doc["aging_cents"].items()),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, f"AMOUNT DUE: {money(doc['amount_due_cents'])}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, "How to pay:", new_x="LMARGIN", new_y="NEXT")
    for line in doc["how_to_pay"]:
        pdf.cell(0, 5, f"  - {line}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
