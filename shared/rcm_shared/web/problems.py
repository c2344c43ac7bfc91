"""RFC 9457 problem details: the error a caller can act on, and the handlers that answer every error as one."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from rcm_shared.db import database_unreachable
from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.fhir.outcome import FhirError, operation_outcome, outcome_of_problem
from rcm_shared.fhir.resources import FHIR_JSON, FhirResponse
from rcm_shared.fhir.web import is_fhir_path
from rcm_shared.logging import correlation_id

log = logging.getLogger(__package__)  # the web package's one logger


PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """An error the caller can act on, rendered as an RFC 9457 problem detail."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.headers = headers or {}
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.extra = extra


def where(scope: Scope) -> dict[str, Any]:
    """The request's method and route template for a log line: the template, not the path, so that what a
    caller put in the path or the query never reaches the log."""
    route = scope.get("route")
    return {"method": scope.get("method"), "route": getattr(route, "path", None) or "unmatched"}


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    cid = correlation_id.get()
    if cid:
        body["correlation_id"] = cid
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def answer(path: str, status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> JSONResponse:
    """The error in the form the caller's API speaks: an OperationOutcome under the FHIR base, else a problem."""
    if is_fhir_path(path):
        outcome = outcome_of_problem(status, detail, extra)
        cid = correlation_id.get()
        if cid:
            outcome["id"] = cid
        return FhirResponse(outcome, status_code=status)
    return problem(status, title, detail, type_, **extra)


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
    "additionalProperties": True,
}
OUTCOME_SCHEMA = {
    "type": "object",
    "description": "a FHIR R4 OperationOutcome",
    "required": ["resourceType", "issue"],
    "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]}, "issue": {"type": "array"}},
    "additionalProperties": True,
}


def document_problems(app: FastAPI) -> None:
    """The OpenAPI document says what the errors it documents look like: a problem detail, or under the FHIR
    base an OperationOutcome. FastAPI's own 422 (a JSON ``HTTPValidationError``) is documented as the problem
    detail it is answered with."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"], schemas["OperationOutcome"] = PROBLEM_SCHEMA, OUTCOME_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            media, ref = (FHIR_JSON, "OperationOutcome") if is_fhir_path(path) else (PROBLEM_JSON, "Problem")
            content = {media: {"schema": {"$ref": f"#/components/schemas/{ref}"}}}
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, response in responses.items():
                    if code[0] in "45":
                        response["content"] = content
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(req: Request, exc: ProblemError) -> JSONResponse:
        response = answer(req.url.path, exc.status, exc.title, exc.detail, exc.type, **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(FhirError)
    async def _fhir(_req: Request, exc: FhirError) -> JSONResponse:
        response = FhirResponse(operation_outcome(exc.issues, correlation_id.get() or None), status_code=exc.status)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(NotFound)
    async def _not_found(req: Request, exc: NotFound) -> JSONResponse:
        return answer(req.url.path, 404, exc.title, str(exc), **exc.extra)

    @app.exception_handler(Conflict)
    async def _conflict(req: Request, exc: Conflict) -> JSONResponse:
        return answer(req.url.path, 409, exc.title, str(exc), **exc.extra)

    @app.exception_handler(Invalid)
    async def _invalid(req: Request, exc: Invalid) -> JSONResponse:
        return answer(req.url.path, 422, exc.title, str(exc), **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return answer(req.url.path, 422, "Invalid request", "the request did not validate; see errors", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return answer(req.url.path, exc.status_code, _reason(exc.status_code), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unhandled(req: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback of places (rcm_shared.logging: no message, no values); the caller gets no internals.
        if database_unreachable(exc):  # a restart, a failover, a cut connection: the caller may retry
            log.warning("database unreachable", extra=where(req.scope), exc_info=exc)
            response = answer(req.url.path, 503, "Service Unavailable", DATABASE_UNREACHABLE)
            response.headers["Retry-After"] = "2"
            return response
        log.error("unhandled error", extra=where(req.scope), exc_info=exc)
        return answer(req.url.path, 500, "Internal Server Error", "an unexpected error occurred; it has been logged")


DATABASE_UNREACHABLE = (
    "the service could not reach its database, or lost its connection to it, while answering; retry shortly. "
    "A write whose connection was lost as it committed may have been applied: look it up before sending it "
    "again, or send it again with the same Idempotency-Key where the route takes one"
)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
