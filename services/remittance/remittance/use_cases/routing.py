"""Whose an inbound 835 is (``rcm_shared.x12.routing``, the rules claims applies to its acknowledgments too):
the tenant whose clearinghouse connection it was sent on.

A file from the inbound folder carries no tenant: its interchanges' ISA/GS ids name the connection, and so the
tenant; the deployment's own ids (``REMITTANCE_SUBMITTER_ID``/``RECEIVER_ID``, claims' own) are the default
tenant's. A file that is not all one tenant's is quarantined: moved aside by the caller, with a review item in
the default tenant's list (the deployment's operator), never posted under any tenant. An upload names its
tenant itself; one whose ids belong to another tenant's connection is refused.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from rcm_shared.errors import Conflict
from rcm_shared.unit import Actor, Units
from rcm_shared.x12.routing import Pair, Parties, Route, interchange_parties, pairs, route

from remittance.repository.practice import Connections
from remittance.repository.reviews import ReviewRepository

QUARANTINED = "quarantined_file"  # the review item's kind
ACTOR = Actor("inbound")


async def _route(units: Units, path: Path, home: Pair, default_tenant: str, uploader: str | None) -> Route:
    interchanges: list[Parties] = await asyncio.to_thread(interchange_parties, path)
    async with units.read(default_tenant) as unit:
        owners = await Connections(unit.conn).owners(pairs(interchanges))
    return route(interchanges, owners.get, home, default_tenant, uploader=uploader)


async def route_file(units: Units, path: Path, home: Pair, default_tenant: str) -> Route:
    """The tenant the file's interchanges all belong to, or why it belongs to none (``Route.tenant`` None).
    ``home``: the deployment's own (submitter_id, receiver_id). Not X12: X12Error, as the reader says it."""
    return await _route(units, path, home, default_tenant, None)


async def quarantine(units: Units, default_tenant: str, name: str, decided: Route, moved_to: str) -> None:
    """The review item that tells the operator a file was set aside, why, and how to post it."""
    detail = (
        f"835 file {name} was not posted: {decided.reason}. It is in {moved_to}. Add the connection to the "
        "practice profile of the organization it belongs to (claims, PUT /v1/practice), then move the file back "
        "into the inbound folder to post it there."
    )
    async with units.write(default_tenant, ACTOR) as unit:
        await ReviewRepository.of(unit).add(None, QUARANTINED, None, detail, datetime.now(UTC))


async def refuse_foreign(units: Units, path: Path, tenant: str, home: Pair, default_tenant: str) -> None:
    """An upload by ``tenant`` with an interchange sent on another tenant's connection (the deployment's own
    ids are the default tenant's) is refused (Conflict, naming the ids), before anything of it is posted; one
    no connection claims is the uploader's."""
    decided = await _route(units, path, home, default_tenant, tenant)
    if decided.tenant is None:
        raise Conflict(
            decided.reason,
            title="Another organization's 835",
            interchanges=[p.as_dict() for p in decided.interchanges],
        )
