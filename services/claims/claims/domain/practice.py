"""The practice master data of one organization: its profile (legal name, billing providers, pay-to address,
statement header, clearinghouse connections), its rendering/referring/attending providers, service
facilities and payer enrollments. Each is versioned like the payer contracts of the denials service: a
version's window runs from ``effective_from`` to ``effective_to`` (its last day; open when None), and on a
date the version in effect is the newest one (highest ``version``) whose window holds it. A new version may
start on any date, so a practice set up today can bill yesterday's visits (backdated) and a typo is fixed
the same day (a version from the same date); the versions before it stay as they were, and nothing changes
in place.

Pure data and rules; the field checks are in ``practice_checks``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Protocol, TypeVar

from rcm_shared.x12.identifiers import npi_valid


def npi_is_valid(npi: str) -> bool:
    """Ten digits whose last is the Luhn check digit over the prefix 80840 and the first nine (the NPI
    standard): 1234567893 is valid, 1234567890 is not."""
    return bool(npi_valid(npi))


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str  # USPS code
    postal_code: str  # 5 or 9 digits, no dash
    line2: str | None = None


@dataclass(frozen=True)
class BillingProvider:
    """A billing provider (the 837's 2010AA): the organization, or a person billing in their own name."""

    npi: str
    name: str  # organization or last name
    tax_id: str  # 9 digits
    address: Address  # a street address with a 9-digit ZIP code
    tax_id_type: str = "EIN"  # EIN (REF*EI) or SSN (REF*SY, a person only)
    is_person: bool = False
    first_name: str | None = None
    taxonomy: str | None = None


@dataclass(frozen=True)
class StatementHeader:
    """What patient statements print in the practice's name."""

    name: str
    address: Address
    phone: str  # 10 digits
    pay_online: str | None = None  # a URL
    pay_by_mail: str | None = None  # whom to make checks out to, where to send them

    @property
    def phone_display(self) -> str:
        return phone_display(self.phone)


@dataclass(frozen=True)
class Connection:
    """One clearinghouse account: outbound interchanges go from ``submitter_id`` (ISA06, GS02 and the 837's
    1000A NM109) to ``receiver_id`` (ISA08, GS03); inbound ones carry the two swapped."""

    name: str
    submitter_id: str
    receiver_id: str
    submitter_name: str  # 1000A NM103
    contact_phone: str  # 1000A PER, 10 digits
    contact_name: str | None = None
    receiver_name: str | None = None  # 1000B NM103; the connection's name when None

    @property
    def receiver(self) -> str:
        return self.receiver_name or self.name


@dataclass(frozen=True)
class Profile:
    """One version of an organization's profile. ``version`` counts up per tenant (0 before it is stored)."""

    version: int
    effective_from: date
    legal_name: str
    billing_providers: tuple[BillingProvider, ...]
    statement: StatementHeader
    connections: tuple[Connection, ...] = ()
    pay_to: Address | None = None  # the 837's 2010AB, when payments go elsewhere than the billing address
    effective_to: date | None = None

    @property
    def billing_provider(self) -> BillingProvider:
        """The primary billing provider: the first."""
        return self.billing_providers[0]

    def billing_provider_for(self, npi: str) -> BillingProvider | None:
        return next((p for p in self.billing_providers if p.npi == npi), None)

    def connection(self, name: str) -> Connection | None:
        return next((c for c in self.connections if c.name == name), None)


@dataclass(frozen=True)
class Provider:
    """A rendering, referring or attending provider (a person): the claim names the role."""

    npi: str
    name: str  # last name
    effective_from: date
    first_name: str | None = None
    taxonomy: str | None = None
    effective_to: date | None = None
    id: str = ""  # the stored version's id
    version: int = 0  # counts up per NPI (0 before it is stored)


@dataclass(frozen=True)
class Facility:
    """A service facility (the 837's 2310C): where the services are rendered."""

    facility_id: str  # the practice's code for it, or one assigned
    name: str
    address: Address  # a street address with a 9-digit ZIP code
    place_of_service: str  # CMS code, 2 digits
    effective_from: date
    npi: str | None = None
    effective_to: date | None = None
    id: str = ""
    version: int = 0  # counts up per facility_id


@dataclass(frozen=True)
class Enrollment:
    """A payer the practice bills, and how."""

    payer_id: str
    name: str
    claim_filing_indicator: str  # SBR09
    effective_from: date
    connection_payer_ids: Mapping[str, str] = field(default_factory=dict)  # connection name -> its payer id
    era_enrolled: bool = False
    eft_enrolled: bool = False
    effective_to: date | None = None
    id: str = ""
    version: int = 0  # counts up per payer_id

    def payer_id_at(self, connection: str) -> str:
        """The payer's id at a clearinghouse connection (its own ``payer_id`` where none is set)."""
        return self.connection_payer_ids.get(connection, self.payer_id)


def phone_display(digits: str) -> str:
    """10 digits as printed for people: (800) 555-0100."""
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else digits


class Dated(Protocol):
    @property
    def version(self) -> int: ...

    @property
    def effective_from(self) -> date: ...

    @property
    def effective_to(self) -> date | None: ...


D = TypeVar("D", bound=Dated)


def covers(v: Dated, on: date) -> bool:
    """Whether a version's window holds the date."""
    return v.effective_from <= on and (v.effective_to is None or v.effective_to >= on)


def in_effect(versions: Iterable[D], on: date) -> D | None:
    """The version in effect on a date: the newest (highest number) whose window holds it, or None."""
    return max((v for v in versions if covers(v, on)), key=lambda v: v.version, default=None)


def to_document(profile: Profile) -> dict[str, Any]:
    """The profile's parts as stored (JSON): everything but its version and dates."""
    return {
        "billing_providers": [asdict(p) for p in profile.billing_providers],
        "pay_to": asdict(profile.pay_to) if profile.pay_to else None,
        "statement": asdict(profile.statement),
        "connections": [asdict(c) for c in profile.connections],
    }


def _address(doc: Mapping[str, Any]) -> Address:
    return Address(**doc)


def from_document(
    version: int, effective_from: date, effective_to: date | None, legal_name: str, doc: Mapping[str, Any]
) -> Profile:
    """A stored profile version (``to_document``'s output and its row's columns)."""
    statement = doc["statement"]
    return Profile(
        version=version,
        effective_from=effective_from,
        effective_to=effective_to,
        legal_name=legal_name,
        billing_providers=tuple(
            BillingProvider(**{**p, "address": _address(p["address"])}) for p in doc["billing_providers"]
        ),
        pay_to=_address(doc["pay_to"]) if doc.get("pay_to") else None,
        statement=StatementHeader(**{**statement, "address": _address(statement["address"])}),
        connections=tuple(Connection(**c) for c in doc.get("connections", ())),
    )
