"""The checks of the practice master data as entered: each value normalized (a tax id, ZIP code or phone
number without its dashes, upper-case codes) or its problem reported, every problem at once, each naming its
field the way the request names it (``billing_providers.0.npi``).

The rules are those of the 837 (5010 implementation guides) and of the identifiers' issuers: the NPI's
check digit, the IRS's EIN prefixes and SSA's never-issued SSNs, a street address with a 9-digit ZIP code for
the billing provider (2010AA) and the service facility (2310C), the CMS place-of-service codes, the claim
filing indicator codes of SBR09.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from claims.domain import codesets
from claims.domain.practice import (
    Address,
    BillingProvider,
    Connection,
    Enrollment,
    Facility,
    Profile,
    Provider,
    npi_is_valid,
)

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM FM MH PW AA AE AP".split()
)
# The prefixes the IRS assigns EINs under (irs.gov, "How EINs are assigned and valid EIN prefixes").
EIN_PREFIXES = frozenset(
    [f"{n:02d}" for n in (*range(1, 7), *range(10, 17), *range(20, 28), *range(30, 49), *range(50, 69))]
    + [f"{n:02d}" for n in (*range(71, 78), *range(80, 89), *range(90, 96), 98, 99)]
)
# SBR09: the claim filing indicator codes of the 837 (5010).
FILING_INDICATORS = frozenset("11 12 13 14 15 16 17 AM BL CH CI DS FI HM LM MA MB MC OF TV VA WC ZZ".split())
PO_BOX = re.compile(r"\b(P\.?\s*O\.?\s*BOX|POST\s+OFFICE\s+BOX|POB)\b", re.IGNORECASE)
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class _Errors:
    def __init__(self) -> None:
        self.found: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.found.append(FieldError(field, message))


def _digits(text: str) -> str:
    return re.sub(r"[\s().-]", "", text)


def _phone(text: str, field: str, errors: _Errors) -> str:
    digits = _digits(text)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if not re.fullmatch(r"[2-9]\d{9}", digits):
        errors.add(field, f"{text!r} is not a 10-digit US phone number")
    return digits


def _address(a: Address, field: str, errors: _Errors, *, street: bool) -> Address:
    """``street``: the 837 wants a street address with a 9-digit ZIP code here (2010AA, 2310C)."""
    state = a.state.strip().upper()
    if state not in US_STATES:
        errors.add(f"{field}.state", f"{a.state!r} is not a US state or territory code")
    postal = _digits(a.postal_code)
    if not re.fullmatch(r"\d{5}(\d{4})?", postal):
        errors.add(f"{field}.postal_code", f"{a.postal_code!r} is not a ZIP code (5 or 9 digits)")
    elif street and len(postal) != 9:
        errors.add(f"{field}.postal_code", "a 9-digit ZIP code (ZIP+4) is required here by the 837")
    if street and any(PO_BOX.search(line or "") for line in (a.line1, a.line2)):
        errors.add(f"{field}.line1", "a street address is required here, not a post office box (use pay_to)")
    return replace(a, state=state, postal_code=postal)


def _npi(npi: str, field: str, errors: _Errors) -> None:
    if not npi_is_valid(npi):
        errors.add(field, f"{npi!r} is not a valid NPI (10 digits, the last the Luhn check digit)")


def _taxonomy(taxonomy: str | None, field: str, errors: _Errors) -> str | None:
    if taxonomy is None or not taxonomy.strip():
        return None
    code = taxonomy.strip().upper()
    if not codesets.TAXONOMY.match(code):
        errors.add(field, f"{taxonomy!r} is not a provider taxonomy code (10 characters ending in X)")
    return code


def _tax_id(p: BillingProvider, field: str, errors: _Errors) -> str:
    digits = _digits(p.tax_id)
    kind = p.tax_id_type
    if not re.fullmatch(r"\d{9}", digits):
        errors.add(f"{field}.tax_id", "a tax id is 9 digits (EIN 12-3456789, SSN 123-45-6789)")
    elif kind == "EIN" and digits[:2] not in EIN_PREFIXES:
        errors.add(f"{field}.tax_id", f"{digits[:2]} is not a prefix the IRS assigns EINs under")
    elif kind == "SSN" and (
        digits[:3] in ("000", "666") or digits[0] == "9" or digits[3:5] == "00" or digits[5:] == "0000"
    ):
        errors.add(f"{field}.tax_id", "not a social security number the SSA issues")
    if kind == "SSN" and not p.is_person:
        errors.add(f"{field}.tax_id_type", "an organization bills under its EIN, not an SSN")
    return digits


def _dates(start: date, end: date | None, errors: _Errors) -> None:
    if end is not None and end < start:
        errors.add("effective_to", "effective_to is before effective_from")


def check_profile(p: Profile) -> Profile | list[FieldError]:
    """The profile normalized, or every problem in it."""
    errors = _Errors()
    providers = []
    for i, bp in enumerate(p.billing_providers):
        field = f"billing_providers.{i}"
        _npi(bp.npi, f"{field}.npi", errors)
        if not bp.is_person and bp.first_name:
            errors.add(f"{field}.first_name", "an organization has no first name (is_person is false)")
        providers.append(
            replace(
                bp,
                tax_id=_tax_id(bp, field, errors),
                taxonomy=_taxonomy(bp.taxonomy, f"{field}.taxonomy", errors),
                address=_address(bp.address, f"{field}.address", errors, street=True),
            )
        )
    if not providers:
        errors.add("billing_providers", "at least one billing provider is required")
    for i, bp in enumerate(p.billing_providers):
        if any(other.npi == bp.npi for other in p.billing_providers[:i]):
            errors.add(f"billing_providers.{i}.npi", f"{bp.npi} is listed twice")
    s = p.statement
    if s.pay_online and not URL.match(s.pay_online):
        errors.add("statement.pay_online", "a web address (https://...) is required")
    if not (s.pay_online or s.pay_by_mail):
        errors.add("statement.pay_by_mail", "a statement says how to pay: pay_online, pay_by_mail or both")
    statement = replace(
        s,
        address=_address(s.address, "statement.address", errors, street=False),
        phone=_phone(s.phone, "statement.phone", errors),
    )
    connections = []
    for i, c in enumerate(p.connections):
        field = f"connections.{i}"
        if any(other.name == c.name for other in p.connections[:i]):
            errors.add(f"{field}.name", f"another connection is named {c.name!r}")
        if any((o.submitter_id, o.receiver_id) == (c.submitter_id, c.receiver_id) for o in p.connections[:i]):
            errors.add(f"{field}.submitter_id", f"{c.submitter_id} -> {c.receiver_id} is listed twice")
        if c.submitter_id == c.receiver_id:
            errors.add(f"{field}.receiver_id", "the receiver id is the submitter id")
        connections.append(replace(c, contact_phone=_phone(c.contact_phone, f"{field}.contact_phone", errors)))
    pay_to = _address(p.pay_to, "pay_to", errors, street=False) if p.pay_to else None
    if errors.found:
        return errors.found
    return replace(
        p,
        billing_providers=tuple(providers),
        statement=statement,
        connections=tuple(connections),
        pay_to=pay_to,
    )


def check_provider(p: Provider) -> Provider | list[FieldError]:
    errors = _Errors()
    _npi(p.npi, "npi", errors)
    taxonomy = _taxonomy(p.taxonomy, "taxonomy", errors)
    _dates(p.effective_from, p.effective_to, errors)
    return errors.found or replace(p, taxonomy=taxonomy)


def check_facility(f: Facility) -> Facility | list[FieldError]:
    errors = _Errors()
    if f.npi is not None:
        _npi(f.npi, "npi", errors)
    if f.place_of_service not in codesets.places_of_service():
        errors.add("place_of_service", f"{f.place_of_service!r} is not a CMS place of service code")
    address = _address(f.address, "address", errors, street=True)
    _dates(f.effective_from, f.effective_to, errors)
    return errors.found or replace(f, address=address)


def check_enrollment(e: Enrollment, connections: Mapping[str, Connection]) -> Enrollment | list[FieldError]:
    """``connections``: the practice's connections by name (its latest profile's), which the payer's ids name."""
    errors = _Errors()
    indicator = e.claim_filing_indicator.strip().upper()
    if indicator not in FILING_INDICATORS:
        errors.add("claim_filing_indicator", f"{e.claim_filing_indicator!r} is not a claim filing indicator (SBR09)")
    for name in e.connection_payer_ids:
        if name not in connections:
            errors.add(
                f"connection_payer_ids.{name}",
                f"the practice profile has no clearinghouse connection named {name!r} (PUT /v1/practice)",
            )
    _dates(e.effective_from, e.effective_to, errors)
    return errors.found or replace(e, claim_filing_indicator=indicator)
