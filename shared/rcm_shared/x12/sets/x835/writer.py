"""Writing 835s: payers, the sandbox and tests produce them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rcm_shared.x12.sets.common import cas_segments
from rcm_shared.x12.sets.x835.model import IMPLEMENTATION, ClaimPayment, PaymentHeader, ProviderAdjustment
from rcm_shared.x12.values import d8, x12_amount
from rcm_shared.x12.writer import Composite, TransactionSet


@dataclass(frozen=True)
class PayerContact:
    address_line: str = "PO BOX 1000"
    city: str = "SPRINGFIELD"
    state: str = "IL"
    postal_code: str = "62701"
    phone: str = "8005551212"


def build_835(
    header: PaymentHeader,
    claims: list[ClaimPayment],
    plbs: list[ProviderAdjustment] = (),  # type: ignore[assignment]
    *,
    payer: PayerContact = PayerContact(),
) -> TransactionSet:
    """One 835 transaction set: BPR/TRN, payer (N1*PR with N3/N4/PER*BL), payee, one LX, claims, PLBs."""
    ts = TransactionSet("835", IMPLEMENTATION, st03=False)
    paid_on = d8(header.payment_date) if header.payment_date else None
    if header.payment_method == "ACH":
        ts.add(
            "BPR",
            header.handling_code,
            x12_amount(header.total_paid),
            header.credit_debit,
            "ACH",
            "CCP",
            "01",
            "011000015",
            "DA",
            "1234567",
            header.trace_originator,
            None,
            "01",
            "021000021",
            "DA",
            "7654321",
            paid_on,
        )
    else:
        ts.add(
            "BPR",
            header.handling_code,
            x12_amount(header.total_paid),
            header.credit_debit,
            header.payment_method,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            paid_on,
        )
    ts.add("TRN", "1", header.trace_number, header.trace_originator)
    if header.production_date:
        ts.add("DTM", "405", d8(header.production_date))
    ts.add("N1", "PR", header.payer_name)
    ts.add("N3", payer.address_line)
    ts.add("N4", payer.city, payer.state, payer.postal_code)
    if header.payer_id:
        ts.add("REF", "2U", header.payer_id)
    ts.add("PER", "BL", "PROVIDER SERVICES", "TE", payer.phone)
    ts.add("N1", "PE", header.payee_name, header.payee_id_qualifier or "XX", header.payee_id)
    if claims:
        ts.add("LX", "1")
    for c in claims:
        ts.add(
            "CLP",
            c.patient_control_number,
            c.status,
            x12_amount(c.charge),
            x12_amount(c.paid),
            x12_amount(c.patient_responsibility) if c.patient_responsibility is not None else None,
            c.filing_indicator,
            c.payer_claim_control_number,
            c.facility_type,
            c.frequency,
        )
        cas_segments(ts, c.adjustments)
        p = c.patient
        ts.add(
            "NM1",
            "QC",
            "1",
            p.get("last", "UNKNOWN"),
            p.get("first"),
            p.get("middle"),
            None,
            None,
            p.get("id_qualifier") if p.get("id") else None,
            p.get("id"),
        )
        tt = c.crossover_carrier
        if tt:
            ts.add("NM1", "TT", "2", tt.get("name"), None, None, None, None, tt.get("id_qualifier"), tt.get("id"))
        if c.remarks:
            ts.add("MOA", None, None, *c.remarks[:5])
        for qualifier, value in c.dates.items():
            ts.add("DTM", qualifier, d8(value))
        for qualifier, amount in c.amounts.items():
            ts.add("AMT", qualifier, x12_amount(amount))
        for s in c.services:
            proc = Composite((s.procedure.qualifier, s.procedure.code, *s.procedure.modifiers))
            original = (
                Composite((s.original_procedure.qualifier, s.original_procedure.code, *s.original_procedure.modifiers))
                if s.original_procedure
                else None
            )
            ts.add(
                "SVC",
                proc,
                x12_amount(s.charge),
                x12_amount(s.paid),
                s.revenue_code,
                format(s.units, "f") if s.units is not None else None,
                original,
                format(s.original_units, "f") if s.original_units is not None else None,
            )
            if s.service_date:
                ts.add("DTM", "472", d8(s.service_date))
            cas_segments(ts, s.adjustments)
            if s.line_control_number:
                ts.add("REF", "6R", s.line_control_number)
            for qualifier, amount in s.amounts.items():
                ts.add("AMT", qualifier, x12_amount(amount))
            for qualifier, code in s.remarks:
                ts.add("LQ", qualifier, code)
    by_provider: dict[tuple[str, date | None], list[ProviderAdjustment]] = {}
    for plb in plbs:
        by_provider.setdefault((plb.provider_id, plb.fiscal_period_end), []).append(plb)
    for (provider, fiscal), items in by_provider.items():
        for start in range(0, len(items), 6):
            elements: list[str | Composite | None] = ["PLB", provider, d8(fiscal) if fiscal else None]
            for plb in items[start : start + 6]:
                elements += [
                    Composite((plb.reason, plb.reference)) if plb.reference else plb.reason,
                    x12_amount(plb.amount),
                ]
            ts.add(*elements)
    return ts
