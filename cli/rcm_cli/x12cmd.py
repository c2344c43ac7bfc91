"""`rcm x12 parse|validate|ack`: the X12 engine from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Annotated, Any

import msgspec
import typer
from rcm_shared.x12.ack import build_999, build_ta1, check
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.sets.x270 import read_270, read_271
from rcm_shared.x12.sets.x276 import read_276, read_277
from rcm_shared.x12.sets.x835 import iter_835
from rcm_shared.x12.sets.x837 import read_837
from rcm_shared.x12.sets.x999 import read_999
from rcm_shared.x12.writer import FileControlNumbers, Party

app = typer.Typer(no_args_is_help=True, help="X12 5010: parse, validate, acknowledge.")
_TYPED: dict[str, Callable[[Path], Iterable[Any]]] = {
    "270": read_270,
    "271": read_271,
    "276": read_276,
    "277": read_277,
    "835": iter_835,
    "837": read_837,
    "999": read_999,
}
FileArg = Annotated[Path, typer.Argument(help="an X12 file")]
# msgspec writes a dataclass straight to JSON bytes (Decimal as its string, dates in ISO form), with no
# intermediate dict per object: building and encoding a dict per segment would cost more than reading the
# X12 does, so the command would run at the encoder's pace rather than the reader's.
_ENCODER = msgspec.json.Encoder(decimal_format="string")
_FLUSH_AT = 1 << 20  # bytes gathered before a write: few system calls, memory flat whatever the file's size


def _write_models(items: Iterable[Any], out: IO[bytes]) -> None:
    """One line per item: ``{"model": <class name>, <the dataclass's fields in order>}``."""
    heads: dict[type, bytes] = {}
    buf = bytearray()
    try:
        for item in items:
            cls = type(item)
            head = heads.get(cls)
            if head is None:
                head = heads[cls] = b'{"model":' + _ENCODER.encode(cls.__name__)
            buf += head
            at = len(buf)
            _ENCODER.encode_into(item, buf, at)
            if buf[at + 1] == ord("}"):  # a dataclass without fields: "{}"
                del buf[at:]
                buf += b"}"
            else:
                buf[at] = ord(",")  # the item's own "{" continues the object the model name opened
            buf += b"\n"
            if len(buf) >= _FLUSH_AT:
                out.write(buf)
                buf.clear()
    finally:  # the lines read before an error are written, as they were before it
        out.write(buf)
        out.flush()


def _write_segments(file: Path, out: IO[bytes]) -> None:
    buf = bytearray()
    try:
        for header, seg in X12Reader(file):
            row = {"set": header.set_id, "st": header.control_number, "pos": seg.position, "elements": seg.elements}
            buf += _ENCODER.encode(row)
            buf += b"\n"
            if len(buf) >= _FLUSH_AT:
                out.write(buf)
                buf.clear()
    finally:
        out.write(buf)
        out.flush()


def _readable(path: Path) -> None:
    if not path.is_file():
        typer.echo(f"error: cannot read {path}: no such file", err=True)
        raise typer.Exit(2)


def _set_id(path: Path) -> str:
    for header, _seg in X12Reader(path):
        return header.set_id
    return ""


@app.command()
def parse(file: FileArg) -> None:
    """JSON lines of the typed model on stdout (one claim, payment, response... a line), streaming."""
    _readable(file)
    sys.stdout.flush()
    out = sys.stdout.buffer
    try:
        typed = _TYPED.get(_set_id(file))
        if typed is not None:
            _write_models(typed(file), out)
        else:
            _write_segments(file, out)
    except X12Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def validate(file: FileArg, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Envelope and structure checks. Exit 0 clean, 1 invalid, 2 unreadable."""
    _readable(file)
    sets = segments = 0
    try:
        for _header, seg in X12Reader(file):
            segments += 1
            sets += seg.id == "ST"
        typed = _TYPED.get(_set_id(file))
        if typed is not None:  # the typed reader checks values (decimals, dates, codes) too
            for _item in typed(file):
                pass
    except X12Error as exc:
        if as_json:
            typer.echo(json.dumps({"valid": False, "error": exc.as_dict(), "text": str(exc)}))
        else:
            typer.echo(f"invalid: {exc}", err=True)
        raise typer.Exit(2 if exc.code in ("encoding", "empty") else 1) from None
    if as_json:
        typer.echo(json.dumps({"valid": True, "transaction_sets": sets, "segments": segments}))
    else:
        typer.echo(f"valid: {sets} transaction set(s), {segments} segment(s)")


@app.command()
def ack(
    file: FileArg,
    out: Annotated[Path | None, typer.Option(help="where to write (default: FILE.999 / FILE.ta1)")] = None,
    ta1: Annotated[bool, typer.Option(help="write a TA1 instead of a 999")] = False,
    sender_id: Annotated[str, typer.Option(help="our ISA06 / GS02")] = "RCMPLATFORM",
    numbers: Annotated[Path, typer.Option(help="control-number state file")] = Path("var/x12-control-numbers.json"),
) -> None:
    """Write the 999 (or TA1) acknowledging FILE."""
    _readable(file)
    try:
        result = check(file)
    except X12Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    us = Party("ZZ", sender_id, sender_id)
    store = FileControlNumbers(numbers)
    text = build_ta1(result, us=us, numbers=store) if ta1 else build_999(result, us=us, numbers=store)
    target = out or file.with_name(file.name + (".ta1" if ta1 else ".999"))
    target.write_text(text)
    typer.echo(f"wrote {target}")
