"""X12 text as segments: the delimiters the ISA declares, and a byte stream split into segments chunk by
chunk, so memory stays flat whatever the file size. A byte-order mark and CR/LF or other whitespace
between segments are tolerated."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import X12Error

CHUNK = 1 << 20
ISA_LENGTH = 106
_WS = " \t\r\n"


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


def _open(source: str | Path | bytes | BinaryIO) -> BinaryIO:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, str | Path):
        return Path(source).open("rb")
    return source


def parse_isa(text: str) -> tuple[Delimiters, list[str]]:
    """Read delimiters and elements from the 106-character ISA."""
    if len(text) < ISA_LENGTH or text[:3].upper() != "ISA":
        raise X12Error("the file does not start with an ISA segment", segment_id="ISA", code="no_isa")
    element = text[3]
    if element.isalnum() or element in _WS:
        raise X12Error(f"invalid element separator {element!r}", segment_id="ISA", code="bad_isa")
    fields = text[:ISA_LENGTH].split(element)
    if len(fields) != 17:
        raise X12Error(
            f"ISA has {len(fields) - 1} elements, 16 expected (is it 106 characters?)", segment_id="ISA", code="bad_isa"
        )
    component = fields[16][:1]
    segment = text[ISA_LENGTH - 1]
    repetition = fields[11] if fields[12] >= "00501" and not fields[11].isalnum() else "^"
    if segment.isalnum() or component.isalnum() or len({element, component, segment}) < 3:
        raise X12Error("ISA delimiters are not distinct non-alphanumeric characters", segment_id="ISA", code="bad_isa")
    return Delimiters(element, component, repetition, segment), fields


def iter_raw_segments(source: str | Path | bytes | BinaryIO) -> Iterator[tuple[Delimiters, list[str]]]:
    """Yield (delimiters, elements) for every segment, reading the stream in chunks."""
    for delims, parts in iter_raw_chunks(source):
        el = delims.element
        for raw in parts:
            if raw:
                yield delims, raw.split(el)


def iter_raw_chunks(source: str | Path | bytes | BinaryIO) -> Iterator[tuple[Delimiters, list[str]]]:
    """The segments of each chunk read, as text (some may be empty): one yield per chunk of the stream."""
    stream = _open(source)
    close = not (isinstance(source, io.IOBase) or hasattr(source, "read"))
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        head = ""
        while len(head.lstrip("\ufeff" + _WS)) < ISA_LENGTH:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            head += _decode(decoder, chunk, final=False)
        head = head.lstrip("\ufeff" + _WS)
        if not head:
            raise X12Error("the file is empty", code="empty")
        delims, _ = parse_isa(head)
        term = delims.segment
        buffer = head
        final = False
        while True:
            if final:
                buffer += _decode(decoder, b"", final=True)
            parts = buffer.split(term)
            carry = "" if final else parts.pop()
            # Whitespace between segments (CR/LF, indentation) is rare in bulk files: strip only when present.
            if (
                "\n" in buffer
                or "\r" in buffer
                or "\t" in buffer
                or " " + term in buffer
                or term + " " in buffer
                or (buffer[:1] == " ")
            ):
                parts = [p.strip(_WS) for p in parts]
            yield delims, parts
            if final:
                break
            chunk = stream.read(CHUNK)
            if chunk:
                buffer = carry + _decode(decoder, chunk, final=False)
            else:
                buffer, final = carry, True
    finally:
        if close:
            stream.close()


def _decode(decoder: codecs.IncrementalDecoder, data: bytes, final: bool) -> str:
    try:
        return str(decoder.decode(data, final))
    except UnicodeDecodeError as exc:
        raise X12Error(f"the file is not valid text (byte {exc.start} of a chunk)", code="encoding") from exc
