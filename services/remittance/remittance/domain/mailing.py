"""Where a statement is mailed: the patient's (or the responsible subscriber's) postal address as the claims
service has it on the account's claims. Events carry no names or addresses, so a statement run asks claims
for them (``adapters.claims_api``); a statement whose address is unknown is produced all the same, flagged
not mailable with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remittance.domain.practice import address_lines


@dataclass(frozen=True)
class MailingAddress:
    recipient: str
    lines: tuple[str, ...]  # street line(s), then "City, ST 12345"


@dataclass(frozen=True)
class Mailing:
    """The address a statement is mailed to, or why there is none."""

    address: MailingAddress | None
    problem: str | None = None

    @property
    def mailable(self) -> bool:
        return self.address is not None


def _name(person: dict[str, Any]) -> str:
    return " ".join(p for p in (person.get("first_name"), person.get("middle_name"), person.get("last_name")) if p)


def mailing_of(document: dict[str, Any]) -> MailingAddress | None:
    """The address on a claim document (claims' encounter): the patient's own when it has one; else the
    subscriber's, addressed to the subscriber (for a dependent without an address of its own, the insured
    parent or spouse is the one who answers for the bill). None when neither has an address."""
    for person in (document.get("patient"), document.get("subscriber")):
        address = (person or {}).get("address")
        if person and address and address.get("line1") and address.get("city") and address.get("postal_code"):
            a = address
            lines = address_lines(a["line1"], a.get("line2"), a["city"], a.get("state") or "", a["postal_code"])
            return MailingAddress(_name(person), lines)
    return None
