"""Which organization an inbound interchange belongs to: the one whose clearinghouse connection it was sent on.

We send as a connection's ``submitter_id`` (ISA06/GS02) to its ``receiver_id`` (ISA08/GS03); the clearinghouse
answers with them swapped, so an inbound interchange whose ISA08 is a connection's submitter id and whose
ISA06 is that connection's receiver id is that connection's tenant's. When the ISA pair names no connection,
the functional groups' GS03/GS02 pairs may (a clearinghouse that keeps one ISA id for all its customers and
tells them apart in the GS). A file is routed as a whole: every interchange in it must belong to the same
tenant, or the file is quarantined. No connection stored at all is a single-practice deployment: every file is
the default tenant's, as before connections existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NO_CONNECTION = "no_connection"  # an interchange whose ids no tenant's connection carries
SEVERAL_TENANTS = "several_organizations"  # the file's interchanges (or one's ids) belong to several tenants


@dataclass(frozen=True)
class Parties:
    """One interchange's envelope ids: ISA13, ISA06 (sender), ISA08 (receiver), and (GS02, GS03) per group."""

    control_number: str
    sender: str
    receiver: str
    groups: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        groups = "; ".join(f"GS02 {s!r} GS03 {r!r}" for s, r in dict.fromkeys(self.groups))
        return f"interchange {self.control_number}: ISA06 {self.sender!r} ISA08 {self.receiver!r}" + (
            f" ({groups})" if groups else ""
        )


@dataclass(frozen=True)
class Connection:
    tenant: str
    submitter_id: str
    receiver_id: str


@dataclass(frozen=True)
class Route:
    tenant: str | None  # None: quarantined
    cause: str | None = None  # why it is quarantined (NO_CONNECTION, SEVERAL_TENANTS)
    detail: str = ""  # the ids that decided it, for the operator (no patient data: envelope ids only)


def owners(parties: Parties, connections: Sequence[Connection]) -> set[str]:
    """The tenants whose connections this interchange was sent on: by the ISA ids, else by every group's GS ids."""
    by_isa = {c.tenant for c in connections if (c.submitter_id, c.receiver_id) == (parties.receiver, parties.sender)}
    if by_isa or not parties.groups:
        return by_isa
    by_group = [
        {c.tenant for c in connections if (c.submitter_id, c.receiver_id) == (receiver, sender)}
        for sender, receiver in parties.groups
    ]
    return set().union(*by_group) if all(by_group) else set()


def route(interchanges: Sequence[Parties], connections: Sequence[Connection], any_stored: bool, default: str) -> Route:
    """The tenant a file's interchanges all belong to; the default tenant when no connection is stored at all."""
    if not any_stored:
        return Route(default)
    tenants: set[str] = set()
    for parties in interchanges:
        found = owners(parties, connections)
        if not found:
            return Route(None, NO_CONNECTION, f"no organization's clearinghouse connection has {parties.describe()}")
        tenants |= found
    if len(tenants) > 1:
        ids = "; ".join(p.describe() for p in interchanges)
        return Route(None, SEVERAL_TENANTS, f"the ids belong to {len(tenants)} organizations' connections: {ids}")
    if not tenants:  # a file without an interchange: the reader refuses it, under the default tenant as before
        return Route(default)
    return Route(tenants.pop())


def foreign(interchanges: Sequence[Parties], connections: Sequence[Connection], tenant: str) -> list[Parties]:
    """The interchanges sent on another tenant's connection and on none of ``tenant``'s: an upload by
    ``tenant`` must not post them."""
    out = []
    for parties in interchanges:
        found = owners(parties, connections)
        if found and tenant not in found:
            out.append(parties)
    return out
