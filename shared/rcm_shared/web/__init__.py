"""FastAPI app factory shared by the services, by capability: the app (``app``), problem details
(``problems``), route dependencies (``dependencies``), authentication and the OpenAPI security scheme
(``security``), middleware (``middleware``) and the audit trail (``audit_trail``). The names below are the
package's public interface."""

from rcm_shared.db import MAX_OFFSET, MAX_ROW_ID  # the limits of list and path parameters
from rcm_shared.web.app import create_service_app
from rcm_shared.web.audit_trail import AUDITED, AuditTrail, audit_entry, audited
from rcm_shared.web.dependencies import (
    TENANT_HEADER,
    ActorDep,
    EngineDep,
    TenantDep,
    UnitsDep,
    actor_of,
    tenant_of,
)
from rcm_shared.web.middleware import CORRELATION_HEADER, BodyLimit, RequestContext
from rcm_shared.web.problems import DATABASE_UNREACHABLE, PROBLEM_JSON, ProblemError, problem
from rcm_shared.web.security import RateLimiter, authorize

__all__ = [
    "AUDITED",
    "CORRELATION_HEADER",
    "DATABASE_UNREACHABLE",
    "MAX_OFFSET",
    "MAX_ROW_ID",
    "PROBLEM_JSON",
    "TENANT_HEADER",
    "ActorDep",
    "AuditTrail",
    "BodyLimit",
    "EngineDep",
    "ProblemError",
    "RateLimiter",
    "RequestContext",
    "TenantDep",
    "UnitsDep",
    "actor_of",
    "audit_entry",
    "audited",
    "authorize",
    "create_service_app",
    "problem",
    "tenant_of",
]
