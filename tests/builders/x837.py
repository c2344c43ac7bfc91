"""837 model claims covering what the writer must get right, with their providers, payers and patients."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from rcm_shared.x12.sets.x837 import (
    Address,
    Adjustment,
    Claim,
    LineAdjudication,
    OtherPayer,
    Payer,
    Person,
    Provider,
    ServiceLine,
)

CLINIC = Provider(
    "VALLEY FAMILY CLINIC",
    npi="1234567893",
    taxonomy="207Q00000X",
    tax_id="123456789",
    address=Address("100 MAIN ST", "SPRINGFIELD", "IL", "627011234"),
)
HOSPITAL = Provider(
    "MERCY GENERAL HOSPITAL",
    npi="1245319599",
    taxonomy="282N00000X",
    tax_id="987654321",
    address=Address("500 HOSPITAL DR", "SPRINGFIELD", "IL", "627029876", "SUITE 2"),
)
DR_SMITH = Provider("SMITH", npi="1679576722", first="JOHN", middle="A", is_person=True, taxonomy="207R00000X")
DR_JONES = Provider("JONES", npi="1003000126", first="MARY", is_person=True)
ACME = Payer("ACME HEALTH PLAN", "ACME01", Address("PO BOX 1000", "CHICAGO", "IL", "606011000"))
MEDICARE = Payer("MEDICARE PART B", "MCRB1")
JANE = Person(
    "DOE", "JANE", None, date(1980, 2, 29), "F", Address("12 ELM ST", "SPRINGFIELD", "IL", "627040000"), "W123456789"
)
JOHN = Person(
    "DOE", "JOHN", "Q", date(1955, 7, 4), "M", Address("12 ELM ST", "SPRINGFIELD", "IL", "627040000"), "M987654321"
)
JOHN_AT_MEDICARE = Person("DOE", "JOHN", "Q", None, None, JOHN.address, "1EG4TE5MK73")  # 2330A has no DMG
CHILD = Person("DOE", "JIMMY", None, date(2015, 5, 1), "M", Address("12 ELM ST", "SPRINGFIELD", "IL", "627040000"))
DOS = date(2026, 10, 1)


def line(
    code: str,
    charge: str,
    units: str = "1",
    mods: list[str] | None = None,
    ptr: list[int] | None = None,
    lcn: str | None = None,
) -> ServiceLine:
    return ServiceLine(
        charge=D(charge),
        units=D(units),
        procedure_code=code,
        modifiers=mods or [],
        service_date=DOS,
        diagnosis_pointers=ptr or [1],
        line_control_number=lcn,
    )


def professional_claims() -> list[Claim]:
    single = Claim(
        "P",
        "PCN0001",
        D("125.00"),
        "11",
        "1",
        CLINIC,
        JANE,
        ACME,
        diagnoses=["J069"],
        lines=[line("99213", "125.00", lcn="PCN0001-1")],
    )
    multi = Claim(
        "P",
        "PCN0002",
        D("410.50"),
        "11",
        "1",
        CLINIC,
        JANE,
        ACME,
        group_number="GRP100",
        diagnoses=["E119", "I10", "E785", "Z7984"],
        rendering_provider=DR_SMITH,
        referring_provider=DR_JONES,
        prior_authorization="AUTH5555",
        referral_number="REF777",
        lines=[
            line("99214", "200.00", mods=["25"], ptr=[1, 2, 3], lcn="PCN0002-1"),
            line("83036", "45.50", ptr=[1], lcn="PCN0002-2"),
            line("93000", "65.00", ptr=[2], lcn="PCN0002-3"),
            line("20610", "100.00", mods=["RT", "59", "XS", "76"], ptr=[4, 1], lcn="PCN0002-4"),
        ],
    )
    dependent = Claim(
        "P",
        "PCN0003",
        D("90.00"),
        "11",
        "1",
        CLINIC,
        JOHN,
        ACME,
        patient=CHILD,
        patient_relationship="19",
        diagnoses=["J0190"],
        lines=[line("99212", "90.00", lcn="PCN0003-1")],
    )
    secondary = Claim(
        "P",
        "PCN0004",
        D("150.00"),
        "11",
        "1",
        CLINIC,
        JOHN,
        ACME,
        responsibility="S",
        filing_indicator="CI",
        diagnoses=["M5450"],
        rendering_provider=DR_SMITH,
        other_payers=[
            OtherPayer(
                "P",
                "18",
                "MB",
                JOHN_AT_MEDICARE,
                MEDICARE,
                paid=D("96.00"),
                remaining_patient_liability=D("24.00"),
                adjudication_date=date(2026, 10, 20),
                adjustments=[Adjustment("CO", "45", D("30.00"))],
            )
        ],
        lines=[
            ServiceLine(
                D("150.00"),
                D("1"),
                "97110",
                ["GP"],
                DOS,
                None,
                [1],
                None,
                None,
                "UN",
                "PCN0004-1",
                [
                    LineAdjudication(
                        "MCRB1",
                        D("96.00"),
                        "97110",
                        D("1"),
                        date(2026, 10, 20),
                        ["GP"],
                        [Adjustment("CO", "45", D("30.00")), Adjustment("PR", "2", D("24.00"))],
                    )
                ],
            )
        ],
    )
    corrected = Claim(
        "P",
        "PCN0005",
        D("125.00"),
        "11",
        "7",
        CLINIC,
        JANE,
        ACME,
        diagnoses=["J069"],
        payer_claim_control_number="PAYERICN123",
        lines=[line("99213", "125.00")],
    )
    void = Claim(
        "P",
        "PCN0006",
        D("125.00"),
        "11",
        "8",
        CLINIC,
        JANE,
        ACME,
        diagnoses=["J069"],
        payer_claim_control_number="PAYERICN124",
        lines=[line("99213", "125.00")],
    )
    multi_day = Claim(
        "P",
        "PCN0007",
        D("300.00"),
        "12",
        "1",
        CLINIC,
        JANE,
        ACME,
        diagnoses=["L89154"],
        lines=[ServiceLine(D("300.00"), D("3"), "97597", [], DOS, date(2026, 10, 3), [1])],
    )
    return [single, multi, dependent, secondary, corrected, void, multi_day]


def institutional_claims() -> list[Claim]:
    outpatient = Claim(
        "I",
        "ICN0001",
        D("1250.00"),
        "13",
        "1",
        HOSPITAL,
        JANE,
        ACME,
        diagnoses=["R0789", "I10"],
        statement_from=DOS,
        statement_to=DOS,
        attending_provider=DR_SMITH,
        patient_status="01",
        lines=[
            ServiceLine(D("850.00"), D("1"), "99284", ["25"], DOS, None, [], None, "0450", "UN", "ICN0001-1"),
            ServiceLine(D("400.00"), D("1"), "71046", [], DOS, None, [], None, "0320", "UN", "ICN0001-2"),
        ],
    )
    inpatient = Claim(
        "I",
        "ICN0002",
        D("18200.00"),
        "11",
        "1",
        HOSPITAL,
        JOHN,
        ACME,
        patient=CHILD,
        patient_relationship="19",
        diagnoses=["J189", "E871"],
        admitting_diagnosis="R509",
        statement_from=date(2026, 9, 20),
        statement_to=date(2026, 9, 24),
        admission_date=date(2026, 9, 20),
        admission_type="1",
        admission_source="7",
        patient_status="01",
        attending_provider=DR_SMITH,
        occurrence_codes=[("11", date(2026, 9, 18))],
        value_codes=[("80", D("4"))],
        lines=[
            ServiceLine(D("12000.00"), D("4"), None, [], None, None, [], None, "0120", "DA"),
            ServiceLine(D("6200.00"), D("1"), None, [], None, None, [], None, "0250", "UN"),
        ],
    )
    replacement = Claim(
        "I",
        "ICN0003",
        D("1250.00"),
        "13",
        "7",
        HOSPITAL,
        JANE,
        ACME,
        diagnoses=["R0789"],
        statement_from=DOS,
        statement_to=DOS,
        payer_claim_control_number="PAYERICN900",
        patient_status="01",
        attending_provider=DR_SMITH,
        lines=[ServiceLine(D("1250.00"), D("1"), "99284", [], DOS, None, [], None, "0450", "UN")],
    )
    return [outpatient, inpatient, replacement]
