"""The errors a use case raises for its caller, whatever the caller is: a route, a consumer, the CLI.

Use cases raise them without knowing about HTTP; the app factory (``rcm_shared.web``) answers them as
problem details once for every service: NotFound is a 404, Conflict a 409, Invalid a 422. Each may carry a
title (the problem's kind, e.g. "Illegal transition") and extra members for the problem document.
"""

from __future__ import annotations

from typing import Any


class _UseCaseError(Exception):
    default_title = "Error"

    def __init__(self, detail: str, *, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.title = title or self.default_title
        self.extra = extra


class NotFound(_UseCaseError, LookupError):
    """The thing asked for does not exist (in this tenant)."""

    default_title = "Not found"


class Conflict(_UseCaseError, ValueError):
    """The request does not fit the thing's current state (already resolved, changed meanwhile, ...)."""

    default_title = "Conflict"


class Invalid(_UseCaseError, ValueError):
    """The request is well-formed but its content breaks a rule of the domain (a bad correction, an unknown
    code, an amount out of range)."""

    default_title = "Invalid request"
