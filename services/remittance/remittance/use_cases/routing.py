"""Whose an inbound 835 is (``domain.routing``): the tenant whose clearinghouse connection it was sent on.

A file from the inbound folder carries no tenant: its interchanges' ISA/GS ids name the connection, and so the
tenant. A file no connection claims (once any tenant has one) is quarantined: moved aside by the caller, with
a review item in the default tenant's list (the deployment's operator), never posted under any tenant. An
upload names its tenant itself; one whose ids belong to another tenant's connection is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rcm_shared.errors import Conflict
from rcm_shared.unit import Actor, Units

from remittance.adapters.x12 import interchange_parties
from remittance.domain.routing import Connection, Parties, Route, foreign, route
from remittance.repository.practice import Connections
from remittance.repository.reviews import ReviewRepository

QUARANTINED = "quarantined_file"  # the review item's kind
ACTOR = Actor("inbound")


async def _connections(units: Units, tenant: str, interchanges: Sequence[Parties]) -> tuple[bool, list[Connection]]:
    """Whether any connection is stored at all, and those on which we send as an id these interchanges name."""
    ours = {p.receiver for p in interchanges} | {receiver for p in interchanges for _sender, receiver in p.groups}
    async with units.read(tenant) as unit:
        directory = Connections(unit.conn)
        if not await directory.any_stored():
            return False, []
        return True, await directory.to(ours)


async def route_file(units: Units, path: Path, default_tenant: str) -> Route:
    """The tenant the file's interchanges all belong to, or why it belongs to none (``Route.tenant`` None).
    Not X12: X12Error, as the 835 reader says it."""
    interchanges = await asyncio.to_thread(interchange_parties, path)
    any_stored, connections = await _connections(units, default_tenant, interchanges)
    return route(interchanges, connections, any_stored, default_tenant)


async def quarantine(units: Units, default_tenant: str, name: str, decided: Route, moved_to: str) -> None:
    """The review item that tells the operator a file was set aside, why, and how to post it."""
    detail = (
        f"835 file {name} was not posted: {decided.detail}. It is in {moved_to}. Add the connection to the "
        "practice profile of the organization it belongs to (claims), then move the file back into the inbound "
        "folder to post it there."
    )
    async with units.write(default_tenant, ACTOR) as unit:
        await ReviewRepository.of(unit).add(None, QUARANTINED, None, detail, datetime.now(UTC))


async def refuse_foreign(units: Units, path: Path, tenant: str) -> None:
    """An upload by ``tenant`` whose interchanges were sent on another tenant's connection (and on none of its
    own) is refused (Conflict, naming the ids), before anything of it is posted."""
    interchanges = await asyncio.to_thread(interchange_parties, path)
    _any, connections = await _connections(units, tenant, interchanges)
    theirs = foreign(interchanges, connections, tenant)
    if theirs:
        raise Conflict(
            "the 835 was sent on another organization's clearinghouse connection: "
            + "; ".join(p.describe() for p in theirs),
            title="Another organization's 835",
            interchanges=[
                {
                    "control_number": p.control_number,
                    "sender_id": p.sender,
                    "receiver_id": p.receiver,
                    "groups": [{"sender_id": s, "receiver_id": r} for s, r in p.groups],
                }
                for p in theirs
            ],
        )
