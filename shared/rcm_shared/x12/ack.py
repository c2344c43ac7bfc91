"""TA1 and 999 (005010X231A1) acknowledgments for inbound files.

The 999 reports every transaction set of every group: accepted (IK5*A) or rejected with the
implementation-guide error codes for what the envelope check found (IK5 *3 control number mismatch,
*4 count mismatch, *1 set not supported, IK3 for an invalid segment identifier).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import iter_raw_segments
from rcm_shared.x12.writer import ControlNumbers, InterchangeWriter, Party, TransactionSet

SUPPORTED_SETS = {"270", "271", "276", "277", "835", "837", "999", "834", "275"}


@dataclass
class _SetResult:
    set_id: str
    control: str
    implementation: str
    errors: list[tuple[str, ...]] = field(default_factory=list)  # IK3 rows
    code: str | None = None  # IK502 when rejected
    segments: int = 0


@dataclass
class _GroupResult:
    functional_id: str
    sender: str
    control: str
    version: str
    sets: list[_SetResult] = field(default_factory=list)


@dataclass
class AckResult:
    interchange_control: str
    sender: Party
    receiver: Party
    ta1_code: str  # 000 = no errors
    groups: list[_GroupResult]


def check(source: str | Path | bytes | BinaryIO) -> AckResult:
    """Walk the file's envelopes and collect what a TA1 and a 999 must say. Raises only when unreadable."""
    groups: list[_GroupResult] = []
    isa: list[str] | None = None
    ta1 = "000"
    group: _GroupResult | None = None
    current: _SetResult | None = None
    group_count = 0
    for _d, e in iter_raw_segments(source):
        sid = e[0].strip().upper()
        if sid == "ISA":
            isa = e
            group_count = 0
        elif sid == "GS":
            group = _GroupResult(_get(e, 1), _get(e, 2), _get(e, 6), _get(e, 8))
            groups.append(group)
            group_count += 1
        elif sid == "ST" and group is not None:
            current = _SetResult(_get(e, 1), _get(e, 2), _get(e, 3) or group.version, segments=1)
            if current.set_id not in SUPPORTED_SETS:
                current.code = "1"
            group.sets.append(current)
        elif sid == "SE" and current is not None:
            current.segments += 1
            if _get(e, 2) != current.control:
                current.code = current.code or "3"
            elif _int(_get(e, 1)) != current.segments:
                current.code = current.code or "4"
            current = None
        elif sid == "GE":
            group = None
        elif sid == "IEA":
            if isa is None or _get(e, 2) != isa[13].strip():
                ta1 = "001"  # ISA13 and IEA02 do not match
            elif _int(_get(e, 1)) != group_count:
                ta1 = "021"  # invalid number of included groups
        elif current is not None:
            current.segments += 1
            if not sid.isalnum() or not 2 <= len(sid) <= 3:
                current.errors.append((sid[:3] or "XX", str(current.segments), "", "1"))  # IK304 1: unrecognized
                current.code = current.code or "5"
    if isa is None:
        raise X12Error("the file has no ISA", code="no_isa")
    sender = Party(isa[5].strip(), isa[6].strip(), groups[0].sender if groups else isa[6].strip())
    receiver = Party(isa[7].strip(), isa[8].strip(), "")
    return AckResult(isa[13].strip(), sender, receiver, ta1, groups)


def build_999(result: AckResult, *, us: Party, numbers: ControlNumbers) -> str:
    """One 999 per inbound group, in one interchange addressed back to the sender."""
    sets = []
    for g in result.groups:
        ts = TransactionSet("999", "005010X231A1")
        ts.add("AK1", g.functional_id, g.control, g.version)
        accepted = 0
        for s in g.sets:
            ts.add("AK2", s.set_id, s.control, s.implementation)
            for ik3 in s.errors:
                ts.add("IK3", *ik3)
            if s.code is None and not s.errors:
                ts.add("IK5", "A")
                accepted += 1
            else:
                ts.add("IK5", "R", s.code or "5")
        status = "A" if accepted == len(g.sets) else "R" if accepted == 0 else "P"
        ts.add("AK9", status, str(len(g.sets)), str(len(g.sets)), str(accepted))
        sets.append(ts)
    their = Party(result.sender.qualifier, result.sender.id, result.sender.application_code or result.sender.id)
    writer = InterchangeWriter(sender=us, receiver=their, functional_id="FA", version="005010X231A1", numbers=numbers)
    return writer.render(sets)


def build_ta1(result: AckResult, *, us: Party, numbers: ControlNumbers) -> str:
    their = Party(result.sender.qualifier, result.sender.id, result.sender.id)
    writer = InterchangeWriter(sender=us, receiver=their, functional_id="FA", version="005010X231A1", numbers=numbers)
    d = writer.d
    text = writer.render([])
    isa_end = text.index(d.segment) + 1
    now = writer.now
    ta1 = (
        d.element.join(
            [
                "TA1",
                result.interchange_control,
                now.strftime("%y%m%d"),
                now.strftime("%H%M"),
                "A" if result.ta1_code == "000" else "R",
                result.ta1_code,
            ]
        )
        + d.segment
    )
    # A TA1-only interchange has no functional group: ISA, TA1, IEA with IEA01 = 0.
    return text[:isa_end] + ta1 + d.element.join(["IEA", "0", f"{writer.isa_control:09d}"]) + d.segment


def _get(e: list[str], i: int) -> str:
    return e[i].strip() if i < len(e) else ""


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
