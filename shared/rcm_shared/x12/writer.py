"""X12 writer: envelopes with correct counts and control numbers that persist across runs."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from rcm_shared.x12.reader import Delimiters, parse_isa

DEFAULT = Delimiters("*", ":", "^", "~")


class ControlNumbers(Protocol):
    def next(self, kind: str) -> int:
        """The next control number of a kind ('ISA', 'GS', 'ST'), never reused."""
        ...


class FileControlNumbers:
    """Control numbers kept in a small JSON file, incremented under an exclusive file lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def next(self, kind: str) -> int:
        with open(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), "r+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            text = fh.read()
            state: dict[str, int] = json.loads(text) if text.strip() else {}
            value = state.get(kind, 0) % 999_999_999 + 1
            state[kind] = value
            # Overwritten in place, then cut at its end: truncating to zero first would free the file's block
            # and allocate it again on every call; the text only grows, or shrinks on wrap-around.
            fh.seek(0)
            fh.write(json.dumps(state))
            fh.truncate()
            fh.flush()
        return value


@dataclass
class MemoryControlNumbers:
    state: dict[str, int] = field(default_factory=dict)

    def next(self, kind: str) -> int:
        self.state[kind] = self.state.get(kind, 0) % 999_999_999 + 1
        return self.state[kind]


@dataclass(frozen=True)
class Party:
    qualifier: str  # ISA05/07, e.g. ZZ (mutually defined), 30 (tax id)
    id: str  # ISA06/08, padded to 15
    application_code: str  # GS02/03


class Composite(tuple[str, ...]):
    """An element made of components (joined with the component separator), e.g. ``Composite(("HC", "99213"))``."""

    __slots__ = ()


class Repeated(tuple[str, ...]):
    """An element that repeats (joined with the repetition separator), e.g. EQ01 service types."""

    __slots__ = ()


Element = str | None | Composite | Repeated


class DelimiterInData(ValueError):
    """A value contains one of the interchange's delimiters: writing it would corrupt the file."""


def format_segment(elements: Sequence[Element], d: Delimiters = DEFAULT) -> str:
    """Join elements, dropping trailing empty ones (X12 forbids trailing separators).

    Values are checked for delimiters: a name like ``O*BRIEN`` must be cleaned by the caller, never
    written as two elements.
    """
    el, term, comp, rep = d.element, d.segment, d.component, d.repetition
    values: list[str] = []
    for v in elements:
        if v is None:
            values.append("")
            continue
        kind = type(v)
        if kind is str:
            parts: Sequence[str] = (v,)  # type: ignore[assignment]
            sep = ""
        elif kind is Composite:
            parts, sep = _trim(v), comp
        elif kind is Repeated:
            parts, sep = v, rep
        else:
            raise TypeError(f"{values[0] if values else '?'}: element of type {kind.__name__}")
        for part in parts:
            if el in part or term in part or comp in part or rep in part:
                raise DelimiterInData(f"{values[0]}{len(values):02d}: value contains a delimiter ({part!r})")
        values.append(sep.join(parts) if sep else parts[0])
    while len(values) > 1 and not values[-1]:
        values.pop()
    return el.join(values) + term


def _trim(parts: Sequence[str | None]) -> list[str]:
    out = ["" if p is None else p for p in parts]
    while len(out) > 1 and not out[-1]:
        out.pop()
    return out


class TransactionSet:
    """The body segments of one transaction set, formatted as they are added; ST/SE come from the writer."""

    def __init__(
        self, set_id: str, implementation: str, delimiters: Delimiters = DEFAULT, *, st03: bool = True
    ) -> None:
        self.set_id = set_id
        self.implementation = implementation
        self.st03 = st03  # the 835 guide marks ST03 "not used"; GS08 still names the implementation
        self.delimiters = delimiters
        self.segments: list[str] = []

    def add(self, *elements: Element) -> None:
        self.segments.append(format_segment(elements, self.delimiters))


class InterchangeWriter:
    """Writes one interchange with one functional group holding any number of transaction sets."""

    def __init__(
        self,
        *,
        sender: Party,
        receiver: Party,
        functional_id: str,
        version: str,
        numbers: ControlNumbers,
        usage: str = "P",
        ack_requested: bool = False,
        delimiters: Delimiters = DEFAULT,
        now: datetime | None = None,
    ) -> None:
        self.sender = sender
        self.receiver = receiver
        self.functional_id = functional_id
        self.version = version
        self.numbers = numbers
        self.usage = usage
        self.ack_requested = ack_requested
        self.d = delimiters
        self.now = now or datetime.now()
        self.isa_control = numbers.next("ISA")
        self.gs_control = numbers.next("GS")
        self.st_controls: list[str] = []

    def render(self, sets: Iterable[TransactionSet]) -> str:
        return "".join(self.iter_render(sets))

    def iter_render(self, sets: Iterable[TransactionSet]) -> Iterable[str]:
        """The interchange as text: the envelope, then one string per transaction set."""
        d, now = self.d, self.now
        yield (
            d.element.join(
                [
                    "ISA",
                    "00",
                    " " * 10,
                    "00",
                    " " * 10,
                    self.sender.qualifier.ljust(2),
                    self.sender.id.ljust(15)[:15],
                    self.receiver.qualifier.ljust(2),
                    self.receiver.id.ljust(15)[:15],
                    now.strftime("%y%m%d"),
                    now.strftime("%H%M"),
                    d.repetition,
                    "00501",
                    f"{self.isa_control:09d}",
                    "1" if self.ack_requested else "0",
                    self.usage,
                    d.component,
                ]
            )
            + d.segment
        )
        yield format_segment(
            [
                "GS",
                self.functional_id,
                self.sender.application_code,
                self.receiver.application_code,
                now.strftime("%Y%m%d"),
                now.strftime("%H%M"),
                str(self.gs_control),
                "X",
                self.version,
            ],
            d,
        )
        count = 0
        for ts in sets:
            count += 1
            control = f"{self.numbers.next('ST') % 10000:04d}"
            self.st_controls.append(control)
            if ts.delimiters != d:
                raise ValueError("the transaction set was formatted with other delimiters than the interchange's")
            yield format_segment(("ST", ts.set_id, control, ts.implementation if ts.st03 else None), d)
            yield "".join(ts.segments)
            yield format_segment(("SE", str(len(ts.segments) + 2), control), d)
        yield format_segment(["GE", str(count), str(self.gs_control)], d)
        yield format_segment(["IEA", "1", f"{self.isa_control:09d}"], d)


# GS01: the functional group a transaction set travels in.
FUNCTIONAL_IDS = {"270": "HS", "271": "HB", "276": "HR", "277": "HN", "835": "HP", "837": "HC", "999": "FA"}


def _party(p: Party | str) -> Party:
    return p if isinstance(p, Party) else Party("ZZ", p, p)


def writer_for(
    ts: TransactionSet,
    *,
    sender: Party | str,
    receiver: Party | str,
    numbers: ControlNumbers | None = None,
    usage: str = "P",
    ack_requested: bool = False,
    now: datetime | None = None,
) -> InterchangeWriter:
    """The writer of an interchange carrying transaction sets like ``ts``: the functional group (GS01) and
    the version (GS08) follow from the set. A party given as a bare id is a mutually defined one (ZZ) whose
    application code is that id too, as trading partners set them up here."""
    return InterchangeWriter(
        sender=_party(sender),
        receiver=_party(receiver),
        functional_id=FUNCTIONAL_IDS[ts.set_id],
        version=ts.implementation,
        numbers=numbers if numbers is not None else MemoryControlNumbers(),
        usage=usage,
        ack_requested=ack_requested,
        now=now,
    )


def one_segment_per_line(text: str) -> str:
    """The interchange with a line break after every segment terminator, for a person to read.

    The segments are the same, byte for byte: whitespace between segments is not part of X12 and readers
    (ours, pyx12) skip it. The terminator is the one the ISA declares; an interchange whose terminator is
    itself a line break is returned as it is.
    """
    body = text.lstrip("\ufeff \t\r\n")
    term = parse_isa(body)[0].segment
    if term in "\r\n":
        return body
    pieces = (piece.lstrip(" \t\r\n") for piece in body.split(term))
    return "".join(f"{piece}{term}\n" for piece in pieces if piece)
