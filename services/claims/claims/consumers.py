"""Event type -> handler table of the claims worker."""

from __future__ import annotations

from rcm_shared.bus.consumer import HandlerRegistry

registry = HandlerRegistry()
