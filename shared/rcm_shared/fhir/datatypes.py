"""FHIR R4 datatypes the services write the same way: Money (from integer cents, or from dollars as Decimal),
Coding and CodeableConcept. Pure.

Money's value is a JSON number (FHIR JSON has no decimal type): the float nearest an amount in cents prints as
that amount (123.45), so nothing is lost below 2**53 cents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CURRENCY = "USD"
_CENT = Decimal("0.01")


def money_from_cents(cents: int, currency: str = CURRENCY) -> dict[str, Any]:
    """FHIR Money of an amount held as integer cents (12345 -> 123.45)."""
    if isinstance(cents, bool) or not isinstance(cents, int):  # a Decimal of dollars here would be off by 100
        raise TypeError(f"money_from_cents takes integer cents, not {type(cents).__name__}")
    return {"value": float(Decimal(cents) / 100), "currency": currency}


def money(amount: Decimal, currency: str = CURRENCY) -> dict[str, Any]:
    """FHIR Money of an amount held in dollars as Decimal, to the cent (half to even, as Decimal rounds)."""
    if not isinstance(amount, Decimal):  # an int here would be read as dollars, not cents
        raise TypeError(f"money takes a Decimal of dollars, not {type(amount).__name__}")
    return {"value": float(amount.quantize(_CENT)), "currency": currency}


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    """A FHIR Coding; ``display`` left out when empty (FHIR JSON has no empty strings)."""
    return {"system": system, "code": code} | ({"display": display} if display else {})


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    """A FHIR CodeableConcept of one Coding (and its ``text`` when given)."""
    return {"coding": [coding(system, code, display)]} | ({"text": text} if text else {})
