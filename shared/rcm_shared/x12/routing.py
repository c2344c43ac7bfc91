"""Whose an inbound X12 file is (999, 277CA, 277, 835): the organization (tenant) whose clearinghouse connection
its interchanges came over, decided from their envelope ids alone. Both the claims and the remittance service
route with ``route``; ``interchange_parties`` reads the ids.

A practice sends as a connection's submitter id (ISA06/GS02) to its receiver id (ISA08/GS03); the clearinghouse
answers with them swapped. So an inbound interchange names the connection ``(submitter_id, receiver_id)`` =
(ISA08, ISA06), and each of its functional groups one as (GS03, GS02). The rules:

1. An interchange's owners are the tenants of its ISA pair and of each of its groups' pairs. When no one owns
   the ISA pair (a clearinghouse that uses one ISA id for all its customers), every group must name an owner:
   a group no one owns leaves the interchange no one's. When the ISA pair has an owner, a group no one owns
   is the ISA owner's (the clearinghouse's GS ids for the same connection). One owner or the interchange is
   several's: an ISA of one tenant with a group of another is never settled by the ISA alone.
2. The deployment's own pair (its settings' submitter and receiver ids) is the default tenant's connection,
   registered or not, whatever connections other tenants have: it is what a single-practice deployment
   sends under. Should another tenant have registered that same pair, an interchange addressed by it is
   several's (never guessed).
3. A file's tenant is the one owner of all its interchanges. An interchange no one owns, or interchanges of
   different owners, refuse the file, with a reason naming the ids (envelope ids only: no patient data).
4. An upload names its tenant: an interchange whose pairs (ISA or group) no one owns is the uploader's; one
   where any pair is another tenant's refuses the upload, even when another of its pairs is no one's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.lexer import iter_raw_chunks

Pair = tuple[str, str]  # a connection's (submitter_id, receiver_id): the ids as the practice sends them
Lookup = Callable[[Pair], str | None]  # the tenant that registered a pair, None when none did

NO_CONNECTION = "no_connection"  # an interchange no connection claims
SEVERAL_TENANTS = "several_organizations"  # the file's interchanges (or one's groups) belong to several tenants
ANOTHER_TENANT = "another_organization"  # an upload whose interchanges belong to another tenant


@dataclass(frozen=True)
class Parties:
    """One interchange's envelope ids, padding stripped: ISA13, ISA06 (sender), ISA08 (receiver), and the
    (GS02, GS03) of each of its functional groups."""

    control_number: str
    sender: str
    receiver: str
    groups: tuple[tuple[str, str], ...] = ()

    @property
    def pair(self) -> Pair:
        """The connection the ISA names: ours (ISA08) as submitter id, the clearinghouse's (ISA06) as receiver."""
        return (self.receiver, self.sender)

    def group_pairs(self) -> list[Pair]:
        return [(receiver, sender) for sender, receiver in dict.fromkeys(self.groups)]

    def describe(self) -> str:
        groups = "; ".join(f"GS02 {s!r} GS03 {r!r}" for s, r in dict.fromkeys(self.groups))
        return f"interchange {self.control_number}: ISA06 {self.sender!r} ISA08 {self.receiver!r}" + (
            f" ({groups})" if groups else ""
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "control_number": self.control_number,
            "sender_id": self.sender,
            "receiver_id": self.receiver,
            "groups": [{"sender_id": s, "receiver_id": r} for s, r in self.groups],
        }


@dataclass(frozen=True)
class Route:
    """The tenant a file belongs to, or (``tenant`` None) why it belongs to none: ``cause`` (NO_CONNECTION,
    SEVERAL_TENANTS, ANOTHER_TENANT), ``reason`` in words naming the ids, and the interchanges at fault."""

    tenant: str | None
    cause: str | None = None
    reason: str = ""
    interchanges: tuple[Parties, ...] = ()


def pairs(interchanges: Iterable[Parties]) -> set[Pair]:
    """Every pair the interchanges name (ISA and GS): the ones ``route``'s lookup is asked about."""
    return {pair for p in interchanges for pair in (p.pair, *p.group_pairs())}


def _of(pair: Pair, lookup: Lookup, home: Pair, default_tenant: str) -> set[str]:
    """The tenants one pair is registered to (rule 2: the deployment's own pair is the default tenant's)."""
    found = {default_tenant} if pair == home else set()
    registered = lookup(pair)
    return found | {registered} if registered is not None else found


def owners(parties: Parties, lookup: Lookup, home: Pair, default_tenant: str) -> set[str]:
    """The tenants one interchange belongs to (rules 1 and 2): none, one, or several (a conflict)."""
    by_isa = _of(parties.pair, lookup, home, default_tenant)
    by_group = [_of(pair, lookup, home, default_tenant) for pair in parties.group_pairs()]
    if not by_isa and (not by_group or not all(by_group)):
        return set()
    return by_isa.union(*by_group)


def claimants(parties: Parties, lookup: Lookup, home: Pair, default_tenant: str) -> set[str]:
    """Every tenant any of the interchange's pairs (ISA or group) is registered to, whether or not that makes
    it theirs: an upload is refused when one of them is not the uploader (rule 4)."""
    return set().union(*(_of(pair, lookup, home, default_tenant) for pair in (parties.pair, *parties.group_pairs())))


def route(
    interchanges: Sequence[Parties],
    lookup: Lookup,
    home: Pair,
    default_tenant: str,
    *,
    uploader: str | None = None,
) -> Route:
    """The tenant all of a file's interchanges belong to (rules 1-3), or why none; with ``uploader`` (an
    upload by that tenant) the uploader or why not (rule 4). ``home`` is the deployment's own pair."""
    if not interchanges:
        return Route(None, NO_CONNECTION, "the file has no interchange (no ISA segment)")
    if uploader is not None:
        found = [(p, claimants(p, lookup, home, default_tenant) or {uploader}) for p in interchanges]
    else:
        found = [(p, owners(p, lookup, home, default_tenant)) for p in interchanges]
    nobodys = tuple(p for p, who in found if not who)
    if nobodys:
        return Route(
            None,
            NO_CONNECTION,
            "no organization's clearinghouse connection has "
            + "; ".join(p.describe() for p in nobodys)
            + f" (an answer is sent to a connection's submitter id, ISA08/GS03, by its receiver id, ISA06/GS02; "
            f"the deployment's own ids, submitter {home[0]!r} and receiver {home[1]!r}, are the default "
            "organization's)",
            nobodys,
        )
    tenants = set().union(*(who for _p, who in found))
    if uploader is not None and tenants != {uploader}:
        theirs = tuple(p for p, who in found if who != {uploader})
        return Route(
            None,
            ANOTHER_TENANT,
            "the file was sent on another organization's clearinghouse connection: "
            + "; ".join(p.describe() for p in theirs),
            theirs,
        )
    if len(tenants) > 1:
        return Route(
            None,
            SEVERAL_TENANTS,
            f"the ids belong to {len(tenants)} organizations' connections: "
            + "; ".join(p.describe() for p in interchanges)
            + " (split the file per organization)",
            tuple(interchanges),
        )
    (tenant,) = tenants
    return Route(tenant)


def interchange_parties(source: Path | bytes) -> list[Parties]:
    """Each interchange's ISA13, ISA06, ISA08 and the (GS02, GS03) of its groups, in file order.

    One pass over the file's segments as text, looking only at ISA and GS (the transaction sets' readers
    check the envelopes when the file is applied); memory bounded by a chunk. Not X12 at all, or no
    interchange in it: X12Error."""
    found: list[Parties] = []
    groups: list[tuple[str, str]] = []
    for delims, parts in iter_raw_chunks(source):
        isa, gs = "ISA" + delims.element, "GS" + delims.element
        for raw in parts:
            if raw[:4].upper() == isa:
                e = raw.split(delims.element)
                if len(e) < 14:
                    raise X12Error(f"ISA has {len(e) - 1} elements, 16 expected", segment_id="ISA", code="bad_isa")
                if found:
                    found[-1] = _with_groups(found[-1], groups)
                found.append(Parties(e[13].strip(), e[6].strip(), e[8].strip()))
                groups = []
            elif raw[:3].upper() == gs:
                e = raw.split(delims.element)
                groups.append((e[2].strip() if len(e) > 2 else "", e[3].strip() if len(e) > 3 else ""))
    if not found:
        raise X12Error("no interchange (ISA segment) in the file", code="empty")
    found[-1] = _with_groups(found[-1], groups)
    return found


def _with_groups(parties: Parties, groups: list[tuple[str, str]]) -> Parties:
    return Parties(parties.control_number, parties.sender, parties.receiver, tuple(groups))
