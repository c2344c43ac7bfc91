"""What charge entry asks of the resources of a posted `Claim/$submit` body (read and resolved by
`rcm_shared.fhir.body`): its refusals (422, naming the element), identifiers by system and within the identifier
tables' bounds, codes by system, and the elements it reads. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rcm_shared.fhir import FhirError, Found, Issue

Loc = tuple[str | int, ...]  # a location in the charge-entry command (a pydantic error's loc)
MAX_IDENTIFIER = 255  # the identifier tables' system and value columns (claim_identifier, patient_identifier)


def refuse(expression: str, diagnostics: str, code: str = "not-supported") -> FhirError:
    """A 422: the request is FHIR, but carries what charge entry cannot take as it is."""
    return FhirError(422, [Issue(diagnostics, code, expression=expression)])


def identifier_of(found: Found, system: str) -> tuple[str, str] | None:
    """The value of the resource's identifier in `system`, and its path."""
    for i, ident in enumerate(found.get("identifier") or []):
        if ident.get("system") == system and ident.get("value"):
            return str(ident["value"]), found.at(f"identifier[{i}].value")
    return None


def held(system: str, value: str, at: str) -> tuple[str, str]:
    """An identifier's system and value, refused (naming the one at `at`) when longer than the identifier
    tables hold."""
    for name, text in (("system", system), ("value", value)):
        if len(text) > MAX_IDENTIFIER:
            raise refuse(f"{at}.{name}", f"an identifier's {name} has at most {MAX_IDENTIFIER} characters", "too-long")
    return system, value


def coded(concept: dict[str, Any] | None, systems: Iterable[str]) -> str | None:
    """The code of the concept's first coding in one of `systems`."""
    wanted = tuple(systems)
    for coding in (concept or {}).get("coding") or []:
        if coding.get("system") in wanted and coding.get("code"):
            return str(coding["code"])
    return None


def check_keys(values: dict[str, Any], at: str, read: set[str], refused: dict[str, str]) -> None:
    """Refuse the elements at `at` charge entry cannot carry: those `refused` says why, and any not `read`
    (which lists the elements accepted and not kept too: those that do not change the bill)."""
    for name in values:
        if name not in read:
            why = refused.get(name, f"{name} is not supported here: charge entry cannot carry it")
            raise refuse(f"{at}.{name}", why)
