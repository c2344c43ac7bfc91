"""OperationOutcome: how every FHIR error is answered (the FHIR counterpart of an RFC 9457 problem)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# HTTP status -> the issue type (http://hl7.org/fhir/R4/valueset-issue-type.html) a client can act on.
_ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    503: "transient",
    504: "timeout",
}


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue: what went wrong, and where (a FHIRPath expression) when it is in the input."""

    diagnostics: str
    code: str = "invalid"
    severity: str = "error"
    expression: str | None = None
    details: str | None = None  # a short code of ours, e.g. a scrubber rule id

    def as_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.details:
            issue["details"] = {"coding": [{"system": DETAILS_SYSTEM, "code": self.details}], "text": self.details}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


DETAILS_SYSTEM = "https://rcm.example.org/fhir/CodeSystem/issue"


@dataclass
class FhirError(Exception):
    """An error answered as an OperationOutcome with this HTTP status."""

    status: int
    issues: list[Issue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues)

    @classmethod
    def of(cls, status: int, diagnostics: str, *, expression: str | None = None, code: str | None = None) -> FhirError:
        return cls(status, [Issue(diagnostics, code or issue_code(status), expression=expression)])


def issue_code(status: int) -> str:
    return _ISSUE_CODE.get(status, "exception" if status >= 500 else "invalid")


def operation_outcome(issues: list[Issue], correlation_id: str | None = None) -> dict[str, Any]:
    outcome: dict[str, Any] = {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in issues]}
    if correlation_id:
        outcome["id"] = correlation_id  # the id support staff find the request's log lines by
    return outcome


def outcome_of_problem(status: int, detail: str, extra: dict[str, Any]) -> dict[str, Any]:
    """A problem detail (status, detail, and a request validation's `errors`) as an OperationOutcome."""
    issues = [
        Issue(str(e.get("message", "")), "invalid", expression=str(e["field"]) if e.get("field") else None)
        for e in extra.get("errors", ())
        if isinstance(e, dict)
    ]
    return operation_outcome([Issue(detail, issue_code(status)), *issues])
