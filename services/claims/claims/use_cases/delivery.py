"""Delivery: a recorded interchange handed to the clearinghouse, the attempt recorded, and the immediate
answer (a 999, from the http and sandbox adapters) applied to the claims at once. One path for the API,
which delivers what a request prepared right after its commit, and for the worker, which retries what is
still pending after the grace the API has.

The attempt and the answer commit apart: an answer that cannot be applied never undoes the record of a
delivery (which would send the interchange again). The answer is kept in the acknowledgment folder either
way - in ``failed/`` with why, when it could not be applied, to be sent again with ``POST
/v1/acknowledgments``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rcm_shared.db import read_connection
from rcm_shared.errors import Invalid
from rcm_shared.unit import Actor, Units

from claims.adapters.ack_folder import keep
from claims.adapters.clearinghouse import Adapter, DeliveryError
from claims.config import get_settings
from claims.repository import SubmissionsRepository
from claims.repository.submissions import pending_submissions
from claims.use_cases.acknowledgments import acknowledge

CLEARINGHOUSE = Actor("clearinghouse")  # who acts on what the clearinghouse answers
log = logging.getLogger(__name__)


@dataclass
class Delivery:
    delivered: bool
    destination: str | None = None
    error: str | None = None
    acknowledgment: dict[str, Any] | None = None  # the answer applied, or {"error": ...} when unreadable


async def deliver(units: Units, tenant: str, adapter: Adapter, submission_id: str, x12: str) -> Delivery:
    """Hand one interchange to the clearinghouse (outside any transaction), then record the attempt and apply
    its immediate answer in one transaction. A failure leaves the submission pending for the worker."""
    try:
        destination, response = await adapter.deliver(submission_id, x12)
        done = Delivery(True, destination)
    except DeliveryError as exc:
        destination, response, done = None, None, Delivery(False, error=str(exc))
    async with units.write(tenant, CLEARINGHOUSE) as unit:
        await SubmissionsRepository(unit).mark_delivery(submission_id, destination, done.error)
    if response:
        done.acknowledgment = await take_answer(units, tenant, submission_id, response.encode())
    return done


async def take_answer(units: Units, tenant: str, submission_id: str, data: bytes) -> dict[str, Any]:
    """Apply the answer a delivery got back, in the submission's tenant, and keep it in the folder."""
    folder, name = get_settings().inbound_ack_path(), f"{submission_id}.999"
    try:
        async with units.write(tenant, CLEARINGHOUSE) as unit:
            result = await acknowledge(unit, data)
    except Invalid as exc:
        await asyncio.to_thread(keep, folder, name, data, str(exc))
        log.warning("acknowledgment refused", extra={"file": name, "error": exc})
        return {"error": str(exc)}
    except Exception as exc:  # the delivery stands; the answer waits in failed/ to be sent again
        await asyncio.to_thread(keep, folder, name, data, f"not applied ({type(exc).__name__}); send it again")
        log.error("acknowledgment not applied", extra={"file": name}, exc_info=exc)
        return {"error": "the answer could not be applied; it is kept to be sent again"}
    await asyncio.to_thread(keep, folder, name, data)
    return dict(result.__dict__)


async def pending_deliveries(units: Units, *, now: datetime | None = None) -> list[Any]:
    """The submissions no API request is delivering (the API's grace is over): ones the worker prepared itself
    (resubmissions), ones whose request failed, or whose API process died. Every tenant's: id, tenant, X12."""
    async with read_connection(units.engine) as conn:
        return await pending_submissions(conn, now=now)
