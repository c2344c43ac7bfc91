"""Test data for the practice master data (claims ``/v1/practice``, ``/v1/providers``, ``/v1/facilities``,
``/v1/payer-enrollments``): valid request bodies, each changed with keys like ``encounter``'s
('billing_providers.0.npi'; ``...`` removes a key), and the same profile as the domain's ``Profile``.

The NPIs pass the Luhn check of the NPI standard; 1234567890 does not (``BAD_NPI``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from builders import changed
from builders.encounters import TODAY

BAD_NPI = "1234567890"
ORG_NPI = "1234567893"  # the billing provider of CLEAN (builders.encounters) too
PERSON_NPI = "1679576722"
OTHER_NPI = "1245319599"

ADDRESS = {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701-1234"}

PROFILE: dict[str, Any] = {
    "legal_name": "Valley Family Clinic LLC",
    "billing_providers": [
        {
            "npi": ORG_NPI,
            "name": "Valley Family Clinic",
            "tax_id": "12-3456789",
            "taxonomy": "207Q00000X",
            "address": dict(ADDRESS),
        }
    ],
    "pay_to": {"line1": "PO Box 100", "city": "Springfield", "state": "IL", "postal_code": "62701"},
    "statement": {
        "name": "Valley Family Clinic",
        "address": dict(ADDRESS),  # a copy of its own: a change to one address leaves the other
        "phone": "800-555-0100",
        "pay_online": "https://pay.valleyclinic.example",
        "pay_by_mail": "Valley Family Clinic, PO Box 100, Springfield, IL 62701",
    },
    "connections": [
        {
            "name": "sandbox",
            "submitter_id": "VALLEY01",
            "receiver_id": "CLEARINGHOUSE",
            "submitter_name": "Valley Family Clinic",
            "contact_name": "Billing Office",
            "contact_phone": "(800) 555-0100",
        }
    ],
}

PROVIDER: dict[str, Any] = {"npi": PERSON_NPI, "name": "Smith", "first_name": "John", "taxonomy": "207R00000X"}

FACILITY: dict[str, Any] = {
    "facility_id": "NORTH",
    "name": "Valley North Clinic",
    "npi": OTHER_NPI,
    "address": {"line1": "200 North Ave", "city": "Springfield", "state": "IL", "postal_code": "627021111"},
    "place_of_service": "11",
}

ENROLLMENT: dict[str, Any] = {
    "payer_id": "MCRB1",
    "name": "Medicare Part B",
    "connection_payer_ids": {"sandbox": "00952"},
    "claim_filing_indicator": "MB",
    "era_enrolled": True,
    "eft_enrolled": False,
}


def _dated(base: dict[str, Any], since: date | None, changes: dict[str, Any]) -> dict[str, Any]:
    return changed({**base, "effective_from": (since or TODAY).isoformat()}, changes)


def profile_body(since: date | None = None, /, **changes: Any) -> dict[str, Any]:
    """The body of ``PUT /v1/practice``: a version effective from ``since`` (today when None)."""
    return _dated(PROFILE, since, changes)


def provider_body(since: date | None = None, /, **changes: Any) -> dict[str, Any]:
    return _dated(PROVIDER, since, changes)


def facility_body(since: date | None = None, /, **changes: Any) -> dict[str, Any]:
    return _dated(FACILITY, since, changes)


def enrollment_body(since: date | None = None, /, **changes: Any) -> dict[str, Any]:
    return _dated(ENROLLMENT, since, changes)


def connection(name: str, submitter_id: str, receiver_id: str = "CLEARINGHOUSE") -> dict[str, Any]:
    """A connection for ``profile_body(connections=[...])``."""
    return {**PROFILE["connections"][0], "name": name, "submitter_id": submitter_id, "receiver_id": receiver_id}
