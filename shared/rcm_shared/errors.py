"""The errors a use case raises for its caller, whatever the caller is: a route, a consumer, the CLI.

Handlers raise them without knowing about HTTP; the app factory (``rcm_shared.web``) answers them as
problem details once for every service: NotFound is a 404, Conflict a 409.
"""

from __future__ import annotations


class NotFound(LookupError):
    """The thing asked for does not exist (in this tenant)."""


class Conflict(ValueError):
    """The request does not fit the thing's current state (already resolved, changed meanwhile, ...)."""
