"""Delivery: a recorded interchange handed to the clearinghouse, the attempt recorded, and the immediate
answer (a 999, from the http and sandbox adapters) applied to the claims at once. One path for the API,
which delivers what a request prepared right after its commit, and for the worker, which retries what is
still pending after the grace the API has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rcm_shared.db import read_connection
from rcm_shared.errors import Invalid
from rcm_shared.unit import Actor, Units

from claims.adapters.clearinghouse import Adapter, DeliveryError
from claims.repository import SubmissionsRepository
from claims.repository.submissions import pending_submissions
from claims.use_cases.acknowledgments import acknowledge

CLEARINGHOUSE = Actor("clearinghouse")  # who acts on what the clearinghouse answers


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
            try:
                done.acknowledgment = (await acknowledge(unit, response.encode())).__dict__
            except Invalid as exc:
                done.acknowledgment = {"error": str(exc)}
    return done


async def pending_deliveries(units: Units, *, now: datetime | None = None) -> list[Any]:
    """The submissions no API request is delivering (the API's grace is over): ones the worker prepared itself
    (resubmissions), ones whose request failed, or whose API process died. Every tenant's: id, tenant, X12."""
    async with read_connection(units.engine) as conn:
        return await pending_submissions(conn, now=now)
