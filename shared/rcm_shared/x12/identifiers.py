"""Identifier checks the X12 guides rely on."""

from __future__ import annotations

import re


def npi_valid(npi: str) -> bool:
    """Luhn check digit over the prefix 80840 + the first nine digits (CMS NPI standard)."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])
