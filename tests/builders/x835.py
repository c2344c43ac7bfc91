"""835 payments: real X12 written by the shared writer (checked by pyx12). ``header``, ``claim`` (a CLP loop) and
``line`` (an SVC loop) build the parts, ``interchange`` writes them; ``standard_file`` is a two-claim payment and
``encounter_835`` the payer's answer to the factory's encounter; ``medicare_crossover`` a payment forwarded to a
Medigap plan (CLP02 19) and ``medigap_answer`` that plan's own."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

from rcm_shared.x12.sets.x835 import (
    Adjustment,
    ClaimPayment,
    PaymentHeader,
    Procedure,
    ProviderAdjustment,
    ServicePayment,
    build_835,
)
from rcm_shared.x12.writer import InterchangeWriter, MemoryControlNumbers, Party

from builders.encounters import DOS

PAYER = Party("ZZ", "ACMEPAYER", "ACMEPAYER")
US = Party("ZZ", "CLINIC1", "CLINIC1")


def header(
    trace: str,
    total: str,
    method: str = "ACH",
    payer_id: str = "ACME01",
    paid_on: date | None = None,
    handling: str = "I",
    payer_name: str = "ACME HEALTH PLAN",
) -> PaymentHeader:
    return PaymentHeader(
        transaction="",
        handling_code=handling,
        total_paid=D(total),
        credit_debit="C",
        payment_method=method,
        payment_date=paid_on or date(2026, 11, 20),
        trace_number=trace,
        trace_originator="1512345678",
        payer_name=payer_name,
        payer_id=payer_id,
        payee_name="VALLEY FAMILY CLINIC",
        payee_id_qualifier="XX",
        payee_id="1234567893",
    )


def line(
    code: str,
    charge: str,
    paid: str,
    adjustments: list[tuple[str, str, str]],
    lcn: str | None = None,
    allowed: str | None = None,
    original: str | None = None,
    modifiers: list[str] | None = None,
    service_date: date = date(2026, 10, 1),
) -> ServicePayment:
    return ServicePayment(
        procedure=Procedure("HC", code, modifiers or []),
        charge=D(charge),
        paid=D(paid),
        units=D(1),
        original_procedure=Procedure("HC", original) if original else None,
        service_date=service_date,
        line_control_number=lcn,
        adjustments=[Adjustment(g, r, D(a)) for g, r, a in adjustments],
        amounts={"B6": D(allowed)} if allowed else {},
    )


def claim(
    claim_id: str,
    status: str,
    charge: str,
    paid: str,
    pccn: str,
    lines: list[ServicePayment] | None = None,
    adjustments: list[tuple[str, str, str]] | None = None,
    patient_resp: str | None = None,
    filing_indicator: str = "12",
) -> ClaimPayment:
    return ClaimPayment(
        patient_control_number=claim_id,
        status=status,
        charge=D(charge),
        paid=D(paid),
        patient_responsibility=D(patient_resp) if patient_resp else None,
        filing_indicator=filing_indicator,
        payer_claim_control_number=pccn,
        facility_type="11",
        frequency="1",
        adjustments=[Adjustment(g, r, D(a)) for g, r, a in adjustments or []],
        patient={"last": "DOE", "first": "JANE", "id_qualifier": "MI", "id": "W123456789"},
        services=lines or [],
    )


def interchange(*sets: tuple[PaymentHeader, list[ClaimPayment], list[ProviderAdjustment]], isa: int = 1) -> bytes:
    numbers = MemoryControlNumbers({"ISA": isa - 1, "GS": isa - 1})
    w = InterchangeWriter(
        sender=PAYER,
        receiver=US,
        functional_id="HP",
        version="005010X221A1",
        numbers=numbers,
        now=datetime(2026, 11, 20, 8, 0),
    )
    return w.render([build_835(h, c, p) for h, c, p in sets]).encode()


def paid_claim(claim_id: str = "PCN0001", pccn: str = "ICN1001", paid: str = "80.00") -> ClaimPayment:
    """Billed 125.00: allowed 100.00 (CO-45 25.00), deductible 10 + coinsurance 10 (PR-1, PR-2), paid 80."""
    assert paid == "80.00"
    return claim(
        claim_id,
        "1",
        "125.00",
        "80.00",
        pccn,
        patient_resp="20.00",
        lines=[
            line(
                "99213",
                "125.00",
                "80.00",
                [("CO", "45", "25.00"), ("PR", "1", "10.00"), ("PR", "2", "10.00")],
                lcn=f"{claim_id}-1",
                allowed="100.00",
            ),
        ],
    )


def copay_claim() -> ClaimPayment:
    """Billed 90.00: allowed 70.00 (CO-45 20.00), copay 15.00 (PR-3), paid 55.00."""
    return claim(
        "PCN0002",
        "1",
        "90.00",
        "55.00",
        "ICN1002",
        patient_resp="15.00",
        lines=[line("99212", "90.00", "55.00", [("CO", "45", "20.00"), ("PR", "3", "15.00")], "PCN0002-1", "70.00")],
    )


def standard_file(trace: str = "EFT0001", isa: int = 1) -> bytes:
    """Two claims: one paid with deductible/coinsurance and a copay claim, 80 + 55 = 135.00."""
    return interchange((header(trace, "135.00"), [paid_claim(), copay_claim()], []), isa=isa)


def encounter_835(
    claim_id: str, pccn: str = "PCCN0001", *, paid: bool = False, trace: str = "NOPAY0001", isa: int = 1
) -> bytes:
    """Medicare Part B's 835 for the factory's encounter (245.50), paid today: both lines denied (CO-197, no
    precertification) and nothing paid, or paid in full."""
    dos = date.fromisoformat(DOS)

    def service(code: str, charge: str, n: int, modifiers: list[str] | None = None) -> ServicePayment:
        denial = [] if paid else [("CO", "197", charge)]
        return line(
            code, charge, charge if paid else "0", denial, f"{claim_id}-{n}", modifiers=modifiers, service_date=dos
        )

    lines = [service("99214", "200.00", 1, ["25"]), service("83036", "45.50", 2)]
    answer = claim(
        claim_id, "1" if paid else "4", "245.50", "245.50" if paid else "0", pccn, lines, filing_indicator="MB"
    )
    eft = header(
        trace,
        "245.50" if paid else "0",
        "CHK" if paid else "NON",
        "MCRB1",
        date.today(),
        handling="I" if paid else "H",
        payer_name="MEDICARE PART B",
    )
    return interchange((eft, [answer], []), isa=isa)


def medicare_crossover(claim_id: str) -> ClaimPayment:
    """Medicare's crossover: billed 125.00, allowed 100.00, paid 80.00, coinsurance 20.00 left to the
    patient, and the claim forwarded to the Medigap plan MGAP1 (CLP02 19, NM1*TT)."""
    c = claim(
        claim_id,
        "19",
        "125.00",
        "80.00",
        "MCR1",
        patient_resp="20.00",
        lines=[line("99213", "125.00", "80.00", [("CO", "45", "25.00"), ("PR", "2", "20.00")], lcn=f"{claim_id}-1")],
    )
    c.crossover_carrier = {"name": "MEDIGAP MUTUAL", "id_qualifier": "PI", "id": "MGAP1"}
    return c


def medigap_answer(claim_id: str, paid: str = "20.00", left: str | None = None) -> ClaimPayment:
    """The Medigap plan's own 835 for ``medicare_crossover``'s claim: it pays the coinsurance (CLP02 2), ``left``
    is left to the patient; Medicare's part is CARC 23 (prior payer's adjudication)."""
    adjustments = [("OA", "23", "105.00")] + ([("PR", "2", left)] if left else [])
    return claim(
        claim_id,
        "2",
        "125.00",
        paid,
        "MGAP9",
        patient_resp=left,
        lines=[line("99213", "125.00", paid, adjustments, lcn=f"{claim_id}-1")],
    )
