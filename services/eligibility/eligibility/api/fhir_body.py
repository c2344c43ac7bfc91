"""A posted CoverageEligibilityRequest, contained or in a collection Bundle (or a Parameters' `resource`), and the
resources its references name: `#id` among the contained resources, any other among the Bundle's entries by
fullUrl. Each resource is known with its FHIRPath in the body as posted, for the errors to name. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rcm_shared.fhir import FhirError, Issue


@dataclass(frozen=True)
class Found:
    """A resource of the body and where it is: its FHIRPath, the fullUrl it came with (a Bundle entry), and the
    resource holding it when it is contained. ``logical``: made of a reference's identifier and display."""

    resource: dict[str, Any]
    path: str
    url: str | None = None
    container: Found | None = None
    logical: bool = False

    def at(self, element: str) -> str:
        """The FHIRPath of one of its elements (for a logical reference: the reference's own elements)."""
        if self.logical:
            return f"{self.path}.{'display' if element == 'name' else 'identifier'}"
        return f"{self.path}.{element}"


def refused(diagnostics: str, expression: str, code: str = "required", status: int = 422) -> FhirError:
    return FhirError(status, [Issue(diagnostics, code, expression=expression)])


@dataclass
class Body:
    """The posted request and the resources its references may name."""

    request: Found
    entries: list[Found] = field(default_factory=list)

    def resolve(self, ref: Any, where: str, holder: Found, types: tuple[str, ...], *, logical: bool = False) -> Found:
        """The resource a Reference at ``where`` (an element of ``holder``) names; a reference by identifier
        alone stands for itself when ``logical``. Else a 400 naming the reference."""
        if not isinstance(ref, dict) or not (ref.get("reference") or ref.get("identifier")):
            raise refused(f"{where} must reference a {' or '.join(types)}", where)
        text = ref.get("reference")
        if not text:
            if logical:
                kind = ref.get("type") or ("Organization" if "Organization" in types else types[0])
                made = {"resourceType": kind, "identifier": [ref["identifier"]], "name": ref.get("display")}
                return self._typed(Found(made, where, logical=True), where, types)
            raise refused(
                f"{where} names a resource by identifier only: contain it or send it in the Bundle", where, "invalid"
            )
        if text.startswith("#"):
            container = holder.container or holder
            for i, res in enumerate(container.resource.get("contained") or []):
                if res.get("id") == text[1:]:
                    return self._typed(
                        Found(res, f"{container.path}.contained[{i}]", container=container), where, types
                    )
            raise refused(f"{text} is not among the contained resources", f"{where}.reference", "invalid", 400)
        for entry in self.entries:
            if entry.url and (
                entry.url == text or (not text.startswith(("urn:", "http")) and entry.url.endswith(f"/{text}"))
            ):
                return self._typed(entry, where, types)
        raise refused(
            f"{text} is not in the request: contain it (#id) or send it as an entry of a Bundle",
            f"{where}.reference",
            "invalid",
            400,
        )

    @staticmethod
    def _typed(found: Found, where: str, types: tuple[str, ...]) -> Found:
        kind = found.resource.get("resourceType")
        if kind not in types:
            raise refused(f"{where} must reference a {' or '.join(types)} (got {kind})", where, "not-supported")
        return found


def unwrap(body: dict[str, Any], path: str = "") -> Body:
    """The request of a posted CoverageEligibilityRequest, collection Bundle (the request first) or Parameters
    (its `resource` parameter holding either)."""
    kind = body.get("resourceType")
    path = path or str(kind)
    if kind == "Parameters":
        for i, param in enumerate(body.get("parameter") or []):
            if param.get("name") == "resource" and isinstance(param.get("resource"), dict):
                inner = param["resource"]
                if inner.get("resourceType") not in ("CoverageEligibilityRequest", "Bundle"):
                    raise refused(
                        "the resource parameter must hold a CoverageEligibilityRequest or a Bundle",
                        f"{path}.parameter[{i}].resource",
                        "invalid",
                        400,
                    )
                return unwrap(inner, f"{path}.parameter[{i}].resource")
        raise refused("no `resource` parameter holding the CoverageEligibilityRequest", f"{path}.parameter", status=400)
    if kind == "Bundle":
        if body.get("type") != "collection":
            raise refused(
                f"the Bundle must be of type collection (got {body.get('type')})", f"{path}.type", "invalid", 400
            )
        entries = [
            Found(e.get("resource") or {}, f"{path}.entry[{i}].resource", e.get("fullUrl"))
            for i, e in enumerate(body.get("entry") or [])
        ]
        if not entries or entries[0].resource.get("resourceType") != "CoverageEligibilityRequest":
            raise refused(
                "the Bundle's first entry must be the CoverageEligibilityRequest", f"{path}.entry[0]", status=400
            )
        return Body(entries[0], entries[1:])
    return Body(Found(body, path))
