"""The X12 this service keeps: a held 835 transaction set, cut out of the file it came in, and what it carries.
(Whose a file is, by its envelope ids: ``rcm_shared.x12.routing``.)"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from rcm_shared.x12.reader import iter_raw_segments
from rcm_shared.x12.sets.x835 import ClaimPayment, ProviderAdjustment, iter_835

from remittance.domain.held import HeldClaim, HeldContents, HeldPlb


def held_set_x12(source: Path, sender_id: str, interchange: str, transaction: str) -> bytes:
    """The transaction set ``transaction`` (ST02) of interchange ``interchange`` (ISA13) from ``sender_id``
    (ISA06) as an interchange of its own (its ISA and GS, ST..SE, GE and IEA counting one), zlib-compressed.

    Nothing of a held set is posted, so the set itself is what a release posts later; other sets of the
    same file (posted, or held on their own) are left out. One pass over the file, memory bounded by the
    compressed set."""
    packer = zlib.compressobj(6)
    parts = [packer.compress(piece.encode()) for piece in _cut(source, sender_id, interchange, transaction)]
    if not parts:
        raise LookupError(f"no transaction set {transaction} in interchange {interchange} from {sender_id}")
    return b"".join(parts) + packer.flush()


def _cut(source: Path, sender_id: str, interchange: str, transaction: str) -> Iterator[str]:
    isa: list[str] | None = None
    gs: list[str] | None = None
    inside = False
    for delims, elements in iter_raw_segments(source):
        tag = elements[0].upper()
        term = delims.segment
        if tag == "ISA":
            isa = elements
        elif tag == "GS":
            gs = elements
        elif tag == "ST" and isa is not None and gs is not None:
            inside = (
                isa[13].strip() == interchange
                and isa[6].strip() == sender_id
                and (elements[2] if len(elements) > 2 else "") == transaction
            )
            if inside:
                yield delims.element.join(isa) + term
                yield delims.element.join(gs) + term
        if inside:
            yield delims.element.join(elements) + term
            if tag == "SE":
                assert isa is not None and gs is not None
                yield delims.element.join(("GE", "1", gs[6])) + term
                yield delims.element.join(("IEA", "1", isa[13])) + term
                return


def held_set_bytes(stored: bytes) -> bytes:
    return zlib.decompress(stored)


def held_contents(stored: bytes) -> HeldContents:
    """What a stored held set carries, claim by claim and PLB by PLB, as the payer sent it."""
    claims, plbs = [], []
    for item in iter_835(held_set_bytes(stored)):
        if isinstance(item, ClaimPayment):
            adjusted = item.adjustment_total()
            claims.append(
                HeldClaim(
                    item.patient_control_number,
                    item.payer_claim_control_number,
                    item.status,
                    _cents(item.charge),
                    _cents(item.paid),
                    _cents(adjusted),
                    _cents(item.charge - item.paid - adjusted),
                )
            )
        elif isinstance(item, ProviderAdjustment):
            plbs.append(HeldPlb(item.provider_id, item.reason, item.reference, _cents(item.amount)))
    return HeldContents(claims, plbs)


def _cents(amount: Decimal) -> int:
    """Cents of an amount as the payer sent it (a held set may carry one finer than a cent: rounded here,
    for the reviewer's eyes only)."""
    return int((amount * 100).to_integral_value())
