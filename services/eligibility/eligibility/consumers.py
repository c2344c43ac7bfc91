"""Event type -> use case table of the eligibility worker: eligibility consumes no event (it announces checks)."""

from __future__ import annotations

from rcm_shared.bus.consumer import HandlerRegistry

registry = HandlerRegistry()
