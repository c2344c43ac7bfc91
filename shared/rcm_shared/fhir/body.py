"""A posted FHIR operation body and what its references name, read the one way every service reads it.

The body is the resource the operation acts on (its `focus`): alone, first in a `collection` Bundle, or in the
one `resource` parameter of a Parameters holding either. A Reference names a contained resource of the resource
holding it (`#id`), a Bundle entry (by its exact fullUrl, or `Type/id` against the end of the entries' fullUrls)
or, with no `reference` at all, nothing the body holds: it stands for itself (a logical reference, made of its
type, identifier and display). Every resource is known with the FHIRPath of where it sits in the body as posted,
so that a problem found in it later names that element.

Two kinds of refusal: a body that is not self-consistent (an unknown parameter, a reference naming nothing the
body holds, or more than one thing) is a 400, as is any other malformed request; a reference the operation
cannot take as it is (absent, of another type, a resource with a modifier) is a 422. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rcm_shared.fhir.outcome import FhirError, Issue

PARAMETER = "resource"  # the one parameter an operation on a posted resource takes (Claim/$submit, ...)
_PROFILE = "http://hl7.org/fhir/StructureDefinition/"  # Reference.type may be the type's canonical URL
_RELATIVE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")  # Type/id: a RESTful relative reference
_MODIFIERS = ("modifierExtension", "implicitRules")  # what may change the meaning of a resource read blind


@dataclass(frozen=True)
class Found:
    """A resource of the body and where it sits: its FHIRPath (`Claim.contained[2]`, `Bundle.entry[1].resource`),
    the fullUrl it came with (a Bundle entry), and the resource containing it (a contained one). `logical`: made
    of a Reference's type, identifier (as `identifier[0]`) and display (as `name`); its path is the Reference's."""

    resource: dict[str, Any]
    path: str
    url: str | None = None
    container: Found | None = None
    logical: bool = False

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    def get(self, name: str, default: Any = None) -> Any:
        return self.resource.get(name, default)

    def at(self, element: str) -> str:
        """The FHIRPath of one of its elements. A logical reference's are the Reference's own: `identifier[0]...`
        is its `identifier...`, `name` its `display`, and anything else the Reference as a whole."""
        if not self.logical:
            return f"{self.path}.{element}"
        head, dot, rest = element.partition(".")
        name = head.partition("[")[0]
        if name == "identifier":
            return f"{self.path}.identifier{dot}{rest}"
        if name == "name":
            return f"{self.path}.display"
        return self.path


def _invalid(diagnostics: str, expression: str, code: str = "invalid") -> FhirError:
    return FhirError(400, [Issue(diagnostics, code, expression=expression)])


def _refused(diagnostics: str, expression: str, code: str) -> FhirError:
    return FhirError(422, [Issue(diagnostics, code, expression=expression)])


@dataclass(frozen=True)
class Body:
    """A posted body: its focus and the Bundle's entries (none when the focus came alone)."""

    focus: Found
    entries: tuple[Found, ...] = ()

    def resolve(self, ref: Any, at: str, holder: Found, types: Iterable[str]) -> Found:
        """The resource the Reference `ref` names, of one of `types` (a logical reference without a type is taken
        as the first). `at` is the Reference's FHIRPath, `holder` the resource it is an element of (whose
        container's contained resources `#id` names)."""
        kinds = tuple(types)
        wanted = " or ".join(kinds)
        if not isinstance(ref, dict) or not any(ref.get(k) for k in ("reference", "identifier", "display")):
            raise _refused(f"a reference to a {wanted} is required", at, "required")
        target = ref.get("reference")
        found = self._literal(str(target), at, holder) if target else _logical(ref, at, kinds[0])
        if found.type not in kinds:
            raise _refused(f"must reference a {wanted}, not a {found.type or 'resource of no type'}", at, "invalid")
        for name in _MODIFIERS:
            if found.get(name):
                raise _refused(
                    f"{name} is not supported here: it may change what the resource means",
                    found.at(name),
                    "not-supported",
                )
        return found

    def _literal(self, target: str, at: str, holder: Found) -> Found:
        container = holder.container or holder
        if target == "#":  # the container itself, as a contained resource names it
            return container
        if target.startswith("#"):
            matches = [
                Found(r, f"{container.path}.contained[{i}]", container=container)
                for i, r in enumerate(container.get("contained") or [])
                if isinstance(r, dict) and r.get("id") == target[1:]
            ]
            nowhere = f"{target} is not among the contained resources of {container.path}"
        else:
            relative = _RELATIVE.fullmatch(target) is not None
            matches = [
                e for e in self.entries if e.url and (e.url == target or (relative and e.url.endswith(f"/{target}")))
            ]
            nowhere = f"{target} is not in the request: contain it (#id) or send it as an entry of a collection Bundle"
        if not matches:
            raise _invalid(nowhere, f"{at}.reference")
        if len(matches) > 1:
            raise _invalid(
                f"{target} names {len(matches)} resources: {', '.join(m.path for m in matches)}", f"{at}.reference"
            )
        return matches[0]


def _logical(ref: dict[str, Any], at: str, default: str) -> Found:
    resource: dict[str, Any] = {"resourceType": str(ref.get("type") or default).removeprefix(_PROFILE)}
    if ref.get("identifier"):
        resource["identifier"] = [ref["identifier"]]
    if ref.get("display"):
        resource["name"] = ref["display"]
    return Found(resource, at, logical=True)


def unwrap(body: dict[str, Any], kind: str) -> Body:
    """The body of an operation on a `kind`: the `kind` alone, a collection Bundle whose first entry is it, or a
    Parameters with one parameter, `resource`, holding either. Any other parameter is a 400 naming it: an
    operation's parameters are not dropped unread."""
    if body.get("resourceType") != "Parameters":
        return _focus(body, kind, str(body.get("resourceType")), "resourceType")
    params = body.get("parameter") or []
    unknown = [
        Issue(
            f"unknown parameter {p.get('name')!r}: the operation takes one parameter, {PARAMETER}",
            "not-supported",
            expression=f"Parameters.parameter[{i}].name",
        )
        for i, p in enumerate(params)
        if p.get("name") != PARAMETER
    ]
    if unknown:
        raise FhirError(400, unknown)
    if not params:
        raise _invalid(
            f"send one parameter, {PARAMETER}, holding the {kind} or a Bundle of it", "Parameters.parameter", "required"
        )
    if len(params) > 1:
        raise _invalid(f"one {PARAMETER} parameter only", "Parameters.parameter[1]")
    if not isinstance(params[0].get("resource"), dict):
        raise _invalid(
            f"the {PARAMETER} parameter holds a resource: the {kind} or a Bundle of it",
            "Parameters.parameter[0].resource",
            "required",
        )
    path = "Parameters.parameter[0].resource"
    return _focus(params[0]["resource"], kind, path, path)


def _focus(resource: dict[str, Any], kind: str, path: str, where: str) -> Body:
    found = resource.get("resourceType")
    if found == kind:
        return Body(Found(resource, path))
    if found != "Bundle":
        raise _invalid(f"send a {kind} or a collection Bundle of it (not a {found})", where)
    if resource.get("type") != "collection":
        raise _invalid(
            f"send a Bundle of type collection (not {resource.get('type')!r}) whose first entry is the {kind}",
            f"{path}.type",
            "not-supported",
        )
    raw = resource.get("entry") or []
    if not raw:
        raise _invalid(f"the Bundle's first entry is the {kind}", f"{path}.entry", "required")
    entries = tuple(
        Found(e["resource"], f"{path}.entry[{i}].resource", e.get("fullUrl"))
        for i, e in enumerate(raw)
        if isinstance(e.get("resource"), dict)
    )
    if not entries or entries[0].path != f"{path}.entry[0].resource" or entries[0].type != kind:
        raise _invalid(f"the Bundle's first entry is the {kind}", f"{path}.entry[0].resource")
    return Body(entries[0], entries)
