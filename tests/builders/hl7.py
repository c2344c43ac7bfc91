"""Test data for the HL7 v2 listener: ADT and DFT^P03 messages as an interface engine sends them (segments
ending in CR), built field by field, and the reading of an ACK's fields.

The patient is ``builders.encounters``' subscriber (Jane Doe, member W123456789 of MCRB1), so that a visit
sent as HL7 and the same visit posted to ``/v1/claims`` can be compared."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import hl7

from builders.practice import PERSON_NPI

FACILITY = "VALLEYEHR"  # MSH-4 of the practice's interface engine (CLAIMS_HL7_SENDERS maps it to org-1)
APPLICATION = "EPIC"
MRN = "MRN0001"
VISIT = "V20001"


# Birth dates are facts about the people, never compared with today; February 29 checks that an HL7 DT of a
# leap day reads as one.
PATIENT_BIRTH = date(1980, 2, 29)
INSURED_BIRTH = date(1978, 1, 1)


def segment(name: str, fields: dict[int, str]) -> str:
    """A segment from its fields by number (the others empty)."""
    last = max(fields, default=0)
    return "|".join([name, *(fields.get(i, "") for i in range(1, last + 1))])


def msh(
    message_type: str,
    control_id: str,
    *,
    facility: str = FACILITY,
    version: str = "2.5.1",
    processing: str = "P",
) -> str:
    head = ["MSH", "^~\\&", APPLICATION, facility, "RCM", "BILLING", "20261206120000", "", message_type]
    return "|".join([*head, control_id, processing, version])


def pid(
    mrn: str = MRN, *, last: str = "Doe", first: str = "Jane", birth: str = PATIENT_BIRTH.strftime("%Y%m%d")
) -> str:
    return segment(
        "PID",
        {
            1: "1",
            3: f"{mrn}^^^VALLEY^MR~999-99-9999^^^SSA^SS",
            5: f"{last}^{first}",
            7: birth,
            8: "F",
            11: "12 Elm St^^Springfield^IL^62704",
        },
    )


def pv1(visit: str = VISIT, facility: str = "") -> str:
    return segment("PV1", {1: "1", 2: "O", 3: f"^^^{facility}" if facility else "", 19: visit})


def gt1() -> str:
    return segment(
        "GT1",
        {1: "1", 3: "Doe^John", 5: "12 Elm St^^Springfield^IL^62704", 8: INSURED_BIRTH.strftime("%Y%m%d"), 9: "M"},
    )


def in1(
    set_id: int,
    payer_id: str,
    payer_name: str,
    member_id: str,
    *,
    group: str = "",
    relationship: str = "SEL",
    insured: str = "",
    insured_birth: str = "",
) -> str:
    fields = {1: str(set_id), 3: payer_id, 4: payer_name, 8: group, 17: relationship, 36: member_id}
    if insured:
        fields.update({16: insured, 18: insured_birth, 19: "12 Elm St^^Springfield^IL^62704", 43: "M"})
    return segment("IN1", fields)


PRIMARY = in1(1, "MCRB1", "MEDICARE PART B", "W123456789")
SECONDARY = in1(
    2,
    "BCBS1",
    "BLUE CROSS",
    "XYZ987",
    group="G100",
    relationship="SPO",
    insured="Doe^John",
    insured_birth=INSURED_BIRTH.strftime("%Y%m%d"),
)


def ft1(
    set_id: int,
    service_date: date,
    code: str,
    *,
    kind: str = "CG",
    quantity: str = "1",
    amount: str = "",
    diagnoses: Sequence[str] = ("E11.9", "I10"),
    procedure: str = "",
    modifiers: Sequence[str] = (),
    performer: str = PERSON_NPI,
) -> str:
    """An FT1: FT1-7 the transaction code, FT1-25 the procedure code when given (else FT1-7 is looked up)."""
    return segment(
        "FT1",
        {
            1: str(set_id),
            4: service_date.strftime("%Y%m%d"),
            6: kind,
            7: f"{code}^^CPT",
            10: quantity,
            11: amount,
            19: "~".join(f"{d}^^I10" for d in diagnoses),
            20: f"{performer}^Smith^John^^^^^^^^^^NPI" if performer else "",
            21: f"{PERSON_NPI}^Smith^John^^^^^^^^^^NPI",
            25: procedure,
            26: "~".join(modifiers),
        },
    )


def message(*segments: str) -> str:
    return "\r".join(segments) + "\r"


def adt(control_id: str, trigger: str = "A04", *extra: str, mrn: str = MRN, **header: str) -> str:
    return message(
        msh(f"ADT^{trigger}^ADT_A01", control_id, **header),
        f"EVN|{trigger}|20261206120000",
        pid(mrn),
        pv1(),
        gt1(),
        PRIMARY,
        SECONDARY,
        *extra,
    )


def dft(control_id: str, *charges: str, visit: str = VISIT, mrn: str = MRN, **header: str) -> str:
    return message(
        msh("DFT^P03^DFT_P03", control_id, **header),
        "EVN|P03|20261206120000",
        pid(mrn),
        pv1(visit),
        *charges,
    )


def merge(control_id: str, survivor: str, merged: str) -> str:
    return message(
        msh("ADT^A40^ADT_A39", control_id),
        "EVN|A40|20261206120000",
        pid(survivor),
        f"MRG|{merged}^^^VALLEY^MR",
    )


def fields(ack: str, name: str, sequence: int = 1) -> hl7.Segment:
    """The ACK's segment of that id (python-hl7: ``seg(n)`` is field n, MSH-1 the field separator)."""
    return hl7.parse(ack).segments(name)(sequence)


def value(seg: hl7.Segment, field: int, component: int = 1) -> str:
    return str(seg.extract_field(1, field, 1, component, 1))
