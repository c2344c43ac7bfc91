"""Test data for the claims API: a clean professional encounter (scrubs with no edit), helpers to break it one
rule at a time, and the dates around it."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

TODAY = datetime.now(UTC).date()
DOS = (TODAY - timedelta(days=10)).isoformat()

CLEAN: dict[str, Any] = {
    "kind": "professional",
    "billing_provider": {
        "npi": "1234567893",
        "name": "Valley Family Clinic",
        "taxonomy": "207Q00000X",
        "tax_id": "123456789",
        "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "627011234"},
    },
    "rendering_provider": {
        "npi": "1679576722",
        "name": "Smith",
        "first_name": "John",
        "is_person": True,
        "taxonomy": "207R00000X",
    },
    "facility_code": "11",
    "subscriber": {
        "last_name": "Doe",
        "first_name": "Jane",
        "birth_date": "1980-02-29",
        "sex": "F",
        "member_id": "W123456789",
        "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
    },
    "payer": {"payer_id": "MCRB1", "name": "Medicare Part B", "filing_indicator": "MB"},
    "diagnoses": ["E11.9", "I10"],
    "lines": [
        {
            "procedure_code": "99214",
            "modifiers": ["25"],
            "charge": "200.00",
            "units": "1",
            "service_date": DOS,
            "diagnosis_pointers": [1, 2],
        },
        {"procedure_code": "83036", "charge": "45.50", "units": "1", "service_date": DOS, "diagnosis_pointers": [1]},
    ],
}


def encounter(**changes: Any) -> dict[str, Any]:
    """CLEAN with changes; a key like 'lines.0.units' reaches into nested values."""
    doc = copy.deepcopy(CLEAN)
    for path, value in changes.items():
        target: Any = doc
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is ...:
            target.pop(last, None)
        else:
            target[last] = value
    return doc


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def on(d: str) -> date:
    return date.fromisoformat(d)
