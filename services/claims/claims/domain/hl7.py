"""HL7 v2 messages as the claims service takes them: registrations (ADT) and charges (DFT^P03), read into
plain values, and the errors an acknowledgment reports. Pure: the wire format is ``adapters/hl7_in.py``'s.

An error names where it is (ERR-2: segment, its sequence among segments of its kind, field, component) and
what it is (ERR-3: HL7 table 0357); ``reject`` marks the errors answered AR (the message is refused as a
whole: unknown sender, unsupported type or version, a header that does not read) rather than AE (its content
is wrong; nothing of it is applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rcm_shared.x12.values import x12_folded

# HL7 table 0357, message error condition codes
ACCEPTED = 0
SEGMENT_SEQUENCE_ERROR = 100
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_EVENT_CODE = 201
UNSUPPORTED_PROCESSING_ID = 202
UNSUPPORTED_VERSION_ID = 203
UNKNOWN_KEY_IDENTIFIER = 204
DUPLICATE_KEY_IDENTIFIER = 205
APPLICATION_RECORD_LOCKED = 206
APPLICATION_INTERNAL_ERROR = 207

CONDITION_TEXT = {
    ACCEPTED: "Message accepted",
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION_ID: "Unsupported version id",
    UNKNOWN_KEY_IDENTIFIER: "Unknown key identifier",
    DUPLICATE_KEY_IDENTIFIER: "Duplicate key identifier",
    APPLICATION_RECORD_LOCKED: "Application record locked",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}

VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
PROCESSING_IDS = ("P", "T", "D")  # production, training, debugging (table 0103)
ADT_EVENTS = ("A04", "A08", "A28", "A31", "A40")
DFT_EVENTS = ("P03",)

# IN1-17 insured's relationship to patient (HL7 table 0063) -> the 837's individual relationship code
RELATIONSHIPS = {
    "SEL": "18",
    "SPO": "01",
    "CHD": "19",
    "EME": "20",
    "DOM": "53",
    "OTH": "G8",
    "UNK": "21",
}
RESPONSIBILITY = ("P", "S", "T")  # the coverages in IN1-1 order: primary, secondary, tertiary
CHARGE, CREDIT = "CG", "CD"
NOT_POSTED_HERE = ("PY", "AJ")  # payments and adjustments: posted by the remittance service


@dataclass(frozen=True, slots=True)
class Location:
    """Where an error is (ERR-2): the segment id, its sequence among segments of that id (1 for the
    first), the field (0: the segment as a whole) and the component (0: the field as a whole)."""

    segment: str
    sequence: int = 1
    field: int = 0
    component: int = 0


class MessageError(Exception):
    """A message that cannot be applied: what is wrong (table 0357), where, and in words for people. The
    words name fields and codes, never a patient's values."""

    def __init__(self, code: int, text: str, location: Location | None = None, *, reject: bool = False) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.location = location
        self.reject = reject


@dataclass(frozen=True, slots=True)
class Notice:
    """Something of an accepted message that was not applied (an AA with ERR severity W)."""

    code: int
    text: str
    location: Location


@dataclass(frozen=True, slots=True)
class Header:
    """MSH as the acknowledgment needs it. The HD fields (MSH-3..6) are kept as sent, components and all."""

    field_separator: str
    encoding_characters: str
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_code: str
    trigger: str
    control_id: str
    processing_id: str
    version: str

    @property
    def facility(self) -> str:
        """MSH-4's first component: the sending facility, which maps to a tenant."""
        return self.sending_facility.split(self.encoding_characters[:1] or "^")[0]

    @property
    def sender(self) -> str:
        """Who numbers the control ids (MSH-10 is unique per sending application and facility)."""
        component = self.encoding_characters[:1] or "^"
        return f"{self.sending_application.split(component)[0]}^{self.facility}"

    @property
    def message_type(self) -> str:
        return f"{self.message_code}^{self.trigger}"


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None  # F | M | U
    address: Address | None = None


def _letters(text: str | None) -> str:
    """A name as two spellings of it compare: its letters and digits, upper case, without accents."""
    return "".join(c for c in x12_folded(text or "").upper() if c.isalnum())


def same_person(one: Person, other: Person) -> bool:
    """Whether two people of a message are one, as far as both say: the family names, the given names and the
    birth dates compared where both give them (case, accents, spacing and punctuation aside)."""
    for mine, theirs in ((one.last_name, other.last_name), (one.first_name, other.first_name)):
        if _letters(mine) and _letters(theirs) and _letters(mine) != _letters(theirs):
            return False
    return one.birth_date is None or other.birth_date is None or one.birth_date == other.birth_date


@dataclass(frozen=True, slots=True)
class Coverage:
    """One IN1 (with its IN2): the payer, the member and the insured person."""

    set_id: int
    payer_id: str
    payer_name: str | None
    member_id: str
    group_number: str | None
    relationship: str  # the 837's code (18 self)
    insured: Person | None  # None when the patient is the insured


@dataclass(frozen=True, slots=True)
class Registration:
    """A patient's PID, GT1 and IN1/IN2: ``coverages``/``guarantor`` None when the message carries none of
    those segments (what is stored is kept), an empty tuple never."""

    mrn: str
    patient: Person
    guarantor: Person | None = None
    coverages: tuple[Coverage, ...] | None = None


@dataclass(frozen=True, slots=True)
class Adt:
    header: Header
    registration: Registration
    merged_mrn: str | None = None  # A40: MRG-1, the record merged into this one


@dataclass(frozen=True, slots=True)
class ChargeIn:
    """One FT1: a charge (CG), or a reversal (CD, or a negative quantity) of charges of the same code,
    modifiers and date on the encounter."""

    set_id: int
    sequence: int  # which FT1 of the message (ERR-2 sequence)
    service_date: date
    kind: str  # FT1-6
    transaction_code: str  # FT1-7.1
    units_milli: int  # |FT1-10| in thousandths of a unit
    negative: bool
    procedure_code: str  # FT1-25, else FT1-7 looked up in the charge master
    modifiers: tuple[str, ...]
    extended_cents: int | None  # FT1-11, or FT1-12 times the quantity
    diagnoses: tuple[str, ...]
    performing_npi: str | None
    ordering_npi: str | None
    code_from_transaction: bool  # FT1-25 was empty: the code is FT1-7's
    transaction_id: str | None = None  # FT1-2: the sender's id of the transaction (a reversal's: of its charge)

    @property
    def reversal(self) -> bool:
        return self.kind == CREDIT or self.negative

    @property
    def units(self) -> Decimal:
        return Decimal(self.units_milli) / 1000


@dataclass(frozen=True, slots=True)
class Dft:
    header: Header
    registration: Registration
    visit_number: str  # PV1-19
    facility_id: str | None  # PV1-3.4: a service facility of the practice
    charges: tuple[ChargeIn, ...]
    notices: tuple[Notice, ...] = ()
