"""Test data for every test and bench, one definition each: `from builders.x835 import standard_file`.

- ``encounters``: the clean professional encounter the claims API takes (JSON), and the dates around it
- ``x837``: 837P/837I model claims, with their providers, payers and patients
- ``x835``: 835 payments (header, claim, line) written as real X12, and the payer's answers to an encounter
- ``acks``: the clearinghouse's 999 and 277CA
- ``events``: event payloads (ClaimAdjudicatedV1, ClaimReversedV1, ClaimStatusChangedV1)
- ``x271``: 271 answers, a fake payer answering 270s over HTTP, an eligibility check's request

What drives a service (post this, consume that) is not data: it stays with that service's tests (``*_steps.py``).
"""

from __future__ import annotations

import copy
from typing import Any

T = {"X-Tenant-ID": "org-1"}  # the test tenant's header


def changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with changes: a key like 'lines.0.units' reaches into nested values; ``...`` removes a
    key."""
    doc = copy.deepcopy(base)
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
