"""Streaming X12 reader: segments with their envelope context.

Segments come from ``rcm_shared.x12.lexer`` (delimiters from the ISA: element separator at byte 4,
repetition separator ISA11, component separator ISA16, segment terminator right after ISA16); lower-case
segment ids are tolerated. Envelopes are checked as the stream goes by: ISA/IEA and GS/GE control
numbers and counts, ST/SE control numbers and segment counts, and the version (5010 only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import UnsupportedVersion, X12Error
from rcm_shared.x12.lexer import Delimiters, iter_raw_chunks, iter_raw_segments, parse_isa

__all__ = [
    "Delimiters",
    "FunctionalGroup",
    "Interchange",
    "Segment",
    "TransactionHeader",
    "X12Reader",
    "iter_raw_chunks",
    "iter_raw_segments",
    "parse_isa",
]


class Segment:
    """One segment: ``id`` and its elements (``seg[1]`` is the first element, '' when absent)."""

    __slots__ = ("elements", "id", "position")

    def __init__(self, id_: str, elements: list[str], position: int) -> None:
        self.id = id_
        self.elements = elements  # elements[0] is the id itself
        self.position = position  # 1-based position within its transaction set (ST = 1); 0 outside

    def __getitem__(self, index: int) -> str:
        return self.elements[index] if index < len(self.elements) else ""

    def __len__(self) -> int:
        return len(self.elements) - 1

    def __repr__(self) -> str:
        return f"Segment({'*'.join(self.elements)!r}, pos={self.position})"


@dataclass
class Interchange:
    control_number: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str
    time: str
    version: str
    usage: str  # P production, T test
    ack_requested: str
    delimiters: Delimiters


@dataclass
class FunctionalGroup:
    functional_id: str
    sender: str
    receiver: str
    date: str
    time: str
    control_number: str
    version: str


@dataclass
class TransactionHeader:
    """Where a transaction set sits: its interchange, group, ST control number and implementation guide."""

    interchange: Interchange
    group: FunctionalGroup
    set_id: str
    control_number: str
    implementation: str  # ST03 (or GS08 when ST03 is absent)
    segments: int = 0


@dataclass
class _State:
    interchange: Interchange | None = None
    group: FunctionalGroup | None = None
    transaction: TransactionHeader | None = None
    groups_in_interchange: int = 0
    sets_in_group: int = 0
    position: int = 0
    closed: list[str] = field(default_factory=list)


class X12Reader:
    """Segments with their envelope context, checking envelopes as they close.

    ``strict_version`` refuses anything but 5010. Iterate it to get ``(header, segment)`` pairs for the
    segments inside transaction sets (ST..SE included); envelope segments are consumed here.
    """

    def __init__(
        self, source: str | Path | bytes | BinaryIO, *, strict_version: bool = True, lenient_envelope: bool = False
    ) -> None:
        self._source = source
        self._strict = strict_version
        # Lenient: trailer mismatches (SE/GE/IEA counts and control numbers, a missing GE/IEA at the end)
        # are collected in ``warnings`` instead of raised, so a response's content can still be read.
        self._lenient = lenient_envelope
        self.interchanges: list[Interchange] = []
        self.delimiters: Delimiters | None = None
        self.warnings: list[X12Error] = []

    def _trailer_problem(self, error: X12Error) -> None:
        if not self._lenient:
            raise error
        self.warnings.append(error)

    def __iter__(self) -> Iterator[tuple[TransactionHeader, Segment]]:
        for header, elements, position in self.iter_elements():
            yield header, Segment(elements[0], elements, position)

    def iter_elements(self) -> Iterator[tuple[TransactionHeader, list[str], int]]:
        """The fast form of iteration: (transaction, elements, position) without Segment objects."""
        st = _State()
        known: set[str] = set()  # body segment ids already checked: the hot path skips the checks
        # st.transaction and st.position, kept in locals on the hot path and synced around the slow one
        transaction: TransactionHeader | None = None
        position = 0
        for delims, parts in iter_raw_chunks(self._source):
            el = delims.element
            for raw in parts:
                if not raw:
                    continue
                elements = raw.split(el)
                seg_id = elements[0]
                if transaction is not None and seg_id in known:
                    position += 1
                    yield transaction, elements, position
                    continue
                st.position = position
                self.delimiters = delims
                raw_id = seg_id
                seg_id = seg_id.strip().upper()
                elements[0] = seg_id
                if seg_id == "ISA":
                    self._open_interchange(st, delims, elements)
                elif seg_id == "IEA":
                    self._close_interchange(st, elements)
                elif seg_id == "GS":
                    self._open_group(st, elements)
                elif seg_id == "GE":
                    self._close_group(st, elements)
                elif seg_id == "ST":
                    header = self._open_transaction(st, elements)
                    yield header, elements, 1
                elif seg_id == "SE":
                    closing = st.transaction
                    if closing is None:
                        raise self._error(st, "SE without a matching ST", seg_id, code="envelope")
                    st.position += 1
                    position = st.position
                    self._close_transaction(st, elements)
                    yield closing, elements, position
                else:
                    if st.transaction is None:
                        raise self._error(
                            st, f"segment {seg_id} outside a transaction set (no ST before it)", seg_id, code="envelope"
                        )
                    if not seg_id.isalnum() or not 2 <= len(seg_id) <= 3:
                        st.position += 1
                        raise self._error(st, f"invalid segment identifier {seg_id[:10]!r}", seg_id[:10], code="syntax")
                    if raw_id == seg_id:
                        known.add(seg_id)
                    st.position += 1
                    yield st.transaction, elements, st.position
                transaction, position = st.transaction, st.position
        if st.transaction is not None:
            raise self._error(st, "file ends inside a transaction set (no SE)", None, code="envelope")
        if st.group is not None:
            self._trailer_problem(self._error(st, "file ends inside a functional group (no GE)", None, code="envelope"))
        elif st.interchange is not None:
            self._trailer_problem(self._error(st, "file ends inside an interchange (no IEA)", None, code="envelope"))
        if not self.interchanges:
            raise X12Error("no interchange in the file", code="no_isa")

    # -- envelope bookkeeping -------------------------------------------------------------------
    def _error(
        self, st: _State, message: str, seg_id: str | None, *, element: int | None = None, code: str = "invalid"
    ) -> X12Error:
        return X12Error(
            message,
            interchange=st.interchange.control_number if st.interchange else None,
            transaction=st.transaction.control_number if st.transaction else None,
            position=st.position if st.transaction else None,
            segment_id=seg_id,
            element=element,
            code=code,
        )

    def _open_interchange(self, st: _State, delims: Delimiters, e: list[str]) -> None:
        if st.interchange is not None:
            raise self._error(st, "ISA inside an open interchange (missing IEA)", "ISA", code="envelope")
        if len(e) != 17:
            raise X12Error(f"ISA has {len(e) - 1} elements, 16 expected", segment_id="ISA", code="bad_isa")
        version = e[12].strip()
        if self._strict and version != "00501":
            raise UnsupportedVersion(version, interchange=e[13].strip(), segment_id="ISA", element=12)
        st.interchange = Interchange(
            control_number=e[13].strip(),
            sender_qualifier=e[5].strip(),
            sender_id=e[6].strip(),
            receiver_qualifier=e[7].strip(),
            receiver_id=e[8].strip(),
            date=e[9],
            time=e[10],
            version=version,
            usage=e[15].strip(),
            ack_requested=e[14].strip(),
            delimiters=delims,
        )
        if not st.interchange.control_number.isdigit() or len(st.interchange.control_number) != 9:
            raise self._error(st, "ISA13 control number must be 9 digits", "ISA", element=13, code="bad_isa")
        st.groups_in_interchange = 0
        self.interchanges.append(st.interchange)

    def _close_interchange(self, st: _State, e: list[str]) -> None:
        if st.interchange is None:
            raise self._error(st, "IEA without a matching ISA", "IEA", code="envelope")
        if st.group is not None:
            raise self._error(st, "IEA inside an open functional group (missing GE)", "IEA", code="envelope")
        isa13 = st.interchange.control_number
        if _at(e, 2) != isa13:
            message = f"IEA02 {_at(e, 2)!r} does not match ISA13 {isa13!r}"
            self._trailer_problem(self._error(st, message, "IEA", element=2, code="control_number"))
        if _int(_at(e, 1)) != st.groups_in_interchange:
            message = f"IEA01 says {_at(e, 1)} group(s), the interchange has {st.groups_in_interchange}"
            self._trailer_problem(self._error(st, message, "IEA", element=1, code="count"))
        st.interchange = None

    def _open_group(self, st: _State, e: list[str]) -> None:
        if st.interchange is None:
            raise self._error(st, "GS outside an interchange", "GS", code="envelope")
        if st.group is not None:
            raise self._error(st, "GS inside an open group (missing GE)", "GS", code="envelope")
        version = _at(e, 8)
        if self._strict and not version.startswith("00501"):
            raise UnsupportedVersion(version, interchange=st.interchange.control_number, segment_id="GS", element=8)
        st.group = FunctionalGroup(_at(e, 1), _at(e, 2), _at(e, 3), _at(e, 4), _at(e, 5), _at(e, 6), version)
        st.sets_in_group = 0
        st.groups_in_interchange += 1

    def _close_group(self, st: _State, e: list[str]) -> None:
        if st.group is None:
            raise self._error(st, "GE without a matching GS", "GE", code="envelope")
        if st.transaction is not None:
            raise self._error(st, "GE inside an open transaction set (missing SE)", "GE", code="envelope")
        if _at(e, 2) != st.group.control_number:
            message = f"GE02 {_at(e, 2)!r} does not match GS06 {st.group.control_number!r}"
            self._trailer_problem(self._error(st, message, "GE", element=2, code="control_number"))
        if _int(_at(e, 1)) != st.sets_in_group:
            message = f"GE01 says {_at(e, 1)} transaction set(s), the group has {st.sets_in_group}"
            self._trailer_problem(self._error(st, message, "GE", element=1, code="count"))
        st.group = None

    def _open_transaction(self, st: _State, e: list[str]) -> TransactionHeader:
        if st.group is None or st.interchange is None:
            raise self._error(st, "ST outside a functional group", "ST", code="envelope")
        if st.transaction is not None:
            raise self._error(st, "ST inside an open transaction set (missing SE)", "ST", code="envelope")
        implementation = _at(e, 3) or st.group.version
        if self._strict and not implementation.startswith("00501"):
            st.position = 1
            raise UnsupportedVersion(
                implementation,
                interchange=st.interchange.control_number,
                transaction=_at(e, 2),
                position=1,
                segment_id="ST",
                element=3,
            )
        st.transaction = TransactionHeader(st.interchange, st.group, _at(e, 1), _at(e, 2), implementation)
        st.position = 1
        st.sets_in_group += 1
        return st.transaction

    def _close_transaction(self, st: _State, e: list[str]) -> None:
        assert st.transaction is not None
        if _at(e, 2) != st.transaction.control_number:
            message = f"SE02 {_at(e, 2)!r} does not match ST02 {st.transaction.control_number!r}"
            self._trailer_problem(self._error(st, message, "SE", element=2, code="control_number"))
        if _int(_at(e, 1)) != st.position:
            message = f"SE01 says {_at(e, 1)} segment(s), the transaction set has {st.position}"
            self._trailer_problem(self._error(st, message, "SE", element=1, code="count"))
        st.transaction.segments = st.position
        st.transaction = None
        st.position = 0


def _at(elements: list[str], index: int) -> str:
    return elements[index].strip() if index < len(elements) else ""


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
