"""FHIR R4 resources in and out: the media type, reading a request's resource, validating with the models.

The models are fhir.resources' R4B package: fhir.resources dropped plain R4 (4.0.1) in 7.0, and R4B's
models agree with R4's element for element in every resource we serve (docs/fhir.md says how that was
checked). What R4B cannot tell apart from R4 the services never send: they declare fhirVersion 4.0.1.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from rcm_shared.fhir.outcome import FhirError, Issue

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
_ACCEPTED_BODY = (FHIR_JSON, "application/json", "application/json+fhir")


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def validation_issues(resource: dict[str, Any]) -> list[Issue]:
    """What the FHIR models find wrong with a resource, each with its element path; [] when it validates."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        return [Issue("resourceType is required", "structure", expression="resourceType")]
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError):
        return [Issue(f"{kind!r} is not a FHIR R4 resource type", "structure", expression="resourceType")]
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return [
            Issue(err["msg"], "structure", expression=_path(kind, err["loc"])) for err in exc.errors(include_url=False)
        ]
    return []


def _path(kind: str, loc: tuple[int | str, ...]) -> str:
    path = kind
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith("function-") and part not in ("__root__",):
            path += f".{part}"
    return path


async def read_resource(request: Request, *types: str) -> dict[str, Any]:
    """The request's body as a resource of one of `types`, validated; else a 400/415 OperationOutcome."""
    content_type = request.headers.get("content-type", FHIR_JSON).split(";")[0].strip().lower()
    if content_type not in _ACCEPTED_BODY:
        raise FhirError.of(415, f"send the resource as {FHIR_JSON} (got {content_type}); XML is not supported")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise FhirError.of(400, "the body is not JSON", code="structure") from None
    except RecursionError:  # arrays or objects nested deeper than the parser recurses (a few hundred KB do it)
        raise FhirError.of(400, "the body's JSON is nested too deeply", code="structure") from None
    if not isinstance(body, dict):
        raise FhirError.of(400, "the body must be one FHIR resource (a JSON object)", code="structure")
    if types and body.get("resourceType") not in types:
        raise FhirError.of(
            400,
            f"expected a {' or '.join(types)} resource, got {body.get('resourceType')!r}",
            expression="resourceType",
            code="structure",
        )
    issues = validation_issues(body)
    if issues:
        raise FhirError(400, issues)
    return body


def check_format(request: Request) -> None:
    """`_format` and Accept: JSON only; asking for XML or Turtle is a 406, not a JSON answer unasked for."""
    wanted = request.query_params.get("_format")
    # a '+' sent unencoded in a query string arrives as a space: application/fhir json is application/fhir+json
    if wanted and wanted.replace(" ", "+") not in ("json", FHIR_JSON, "application/json"):
        raise FhirError.of(406, f"_format={wanted} is not supported: this server speaks FHIR JSON only")
    accept = request.headers.get("accept", "")
    if accept and not any(
        part.split(";")[0].strip() in (*_ACCEPTED_BODY, "*/*", "application/*") for part in accept.split(",")
    ):
        raise FhirError.of(406, f"cannot answer in {accept}: this server speaks {FHIR_JSON} only")
