"""The resources of a posted `Claim/$submit` body: the Claim inside a Parameters or a collection Bundle (or
alone), and what its references name: a contained resource (`#id`), a Bundle entry (by its fullUrl, or
`Type/id` against the entries' fullUrls) or a logical reference (an identifier, e.g. an NPI). Each resource
keeps the FHIRPath of where it sits in the request, so that a problem names the element it is in. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rcm_shared.fhir import FhirError, Issue

Loc = tuple[str | int, ...]  # a location in the charge-entry command (a pydantic error's loc)
MAX_IDENTIFIER = 255  # the identifier tables' system and value columns (claim_identifier, patient_identifier)


def refuse(expression: str, diagnostics: str, code: str = "not-supported") -> FhirError:
    """A 422: the request is FHIR, but carries what charge entry cannot take as it is."""
    return FhirError(422, [Issue(diagnostics, code, expression=expression)])


@dataclass(frozen=True)
class Found:
    """A resource of the request and where it sits: `Claim.contained[2]`, `Bundle.entry[1].resource`; a
    logical reference is a resource made of the Reference's type, identifier and display (`logical`)."""

    resource: dict[str, Any]
    path: str
    logical: bool = False

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    def get(self, name: str, default: Any = None) -> Any:
        return self.resource.get(name, default)

    def at(self, element: str) -> str:
        if self.logical:  # the Reference's own elements: identifier, display
            element = element.replace("identifier[0]", "identifier").replace("name", "display")
        return f"{self.path}.{element}"


def unwrap(body: dict[str, Any], path: str | None = None) -> tuple[Found, dict[str, Found]]:
    """The Claim of a `$submit` body and the Bundle entries by fullUrl (none when the Claim came alone or in a
    Parameters)."""
    path = path or str(body["resourceType"])
    kind = body["resourceType"]
    if kind == "Parameters":
        params = body.get("parameter") or []
        for i, param in enumerate(params):
            if param.get("name") != "resource":
                raise refuse(
                    f"{path}.parameter[{i}].name", f"$submit takes one parameter, resource; not {param.get('name')!r}"
                )
        if len(params) != 1 or "resource" not in params[0]:
            raise refuse(
                f"{path}.parameter", "send one parameter named resource holding the Claim or a Bundle", "required"
            )
        inner = params[0]["resource"]
        if inner.get("resourceType") not in ("Claim", "Bundle"):
            raise refuse(f"{path}.parameter[0].resource", "the resource parameter holds a Claim or a Bundle", "invalid")
        return unwrap(inner, f"{path}.parameter[0].resource")
    if kind == "Bundle":
        if body.get("type") != "collection":
            raise refuse(
                f"{path}.type",
                f"send a Bundle of type collection (not {body.get('type')!r}) whose first entry is the Claim",
            )
        entries = body.get("entry") or []
        first = entries[0].get("resource") if entries else None
        if not first or first.get("resourceType") != "Claim":
            raise refuse(f"{path}.entry[0].resource", "the Bundle's first entry must be the Claim", "invalid")
        found = {
            str(e["fullUrl"]): Found(e["resource"], f"{path}.entry[{i}].resource")
            for i, e in enumerate(entries)
            if i and e.get("fullUrl") and e.get("resource")
        }
        return Found(first, f"{path}.entry[0].resource"), found
    return Found(body, path), {}


@dataclass
class Resolver:
    """What the Claim's references name."""

    claim: Found
    entries: dict[str, Found] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.contained = {
            str(r["id"]): Found(r, self.claim.at(f"contained[{i}]"))
            for i, r in enumerate(self.claim.get("contained") or [])
            if r.get("id")
        }

    def resolve(self, ref: dict[str, Any] | None, at: str, types: Iterable[str]) -> Found:
        """The resource `ref` (the Reference at `at`) names, of one of `types`; refused when it names
        nothing the request holds."""
        kinds = tuple(types)
        if not ref:
            raise refuse(at, f"a reference to a {' or '.join(kinds)} is required", "required")
        target = ref.get("reference")
        if target:
            found = self._literal(str(target))
            if found is None:
                raise refuse(
                    f"{at}.reference",
                    f"{target!r} names no contained resource (#id) and no entry of the Bundle: send the "
                    "resource with the claim",
                    "not-found",
                )
        elif ref.get("identifier"):
            kind = ref.get("type") or kinds[0]
            resource = {"resourceType": kind, "identifier": [ref["identifier"]]}
            found = Found(resource | ({"name": ref["display"]} if ref.get("display") else {}), at, logical=True)
        else:
            raise refuse(at, "the reference has neither a reference nor an identifier", "required")
        if found.type not in kinds:
            raise refuse(at, f"must reference a {' or '.join(kinds)}, not a {found.type}", "invalid")
        for name in ("modifierExtension", "implicitRules"):  # they may change what the resource means
            if found.get(name):
                raise refuse(found.at(name), f"{name} is not supported here")
        return found

    def _literal(self, target: str) -> Found | None:
        if target.startswith("#"):
            return self.contained.get(target[1:])
        if target in self.entries:
            return self.entries[target]
        if target.count("/") == 1:  # Type/id, relative to the Bundle's entries
            return next((f for url, f in self.entries.items() if url.endswith("/" + target)), None)
        return None


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
