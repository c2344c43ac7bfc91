"""The X12 this service keeps: a held 835 transaction set, cut out of the file it came in."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

from rcm_shared.x12.reader import iter_raw_segments


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
