"""999 Implementation Acknowledgment (005010X231A1): what the receiver said about each transaction set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.values import located


@dataclass
class SegmentError:
    segment_id: str  # IK301
    position: int | None  # IK302: position in the acknowledged transaction set
    loop: str | None  # IK303
    code: str  # IK304: 1 unrecognized, 2 unexpected, 3 required missing, 8 data element errors ...
    element_errors: list[tuple[str, str, str | None]] = field(default_factory=list)  # IK4: (position, code, bad value)


@dataclass
class SetAck:
    set_id: str  # AK201
    control_number: str  # AK202: the ST02 we sent
    implementation: str | None
    status: str  # IK501: A accepted, E accepted with errors, R rejected, M, W, X
    codes: list[str] = field(default_factory=list)  # IK502..
    errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass
class GroupAck:
    functional_id: str  # AK101
    group_control_number: str  # AK102: the GS06 we sent
    version: str | None
    status: str = ""  # AK901: A, E, P partially accepted, R
    sets: list[SetAck] = field(default_factory=list)


def read_999(
    source: str | Path | bytes | BinaryIO, *, lenient_envelope: bool = False, warnings: list[X12Error] | None = None
) -> Iterator[GroupAck]:
    reader = X12Reader(source, lenient_envelope=lenient_envelope)
    group: GroupAck | None = None
    current: SetAck | None = None
    error: SegmentError | None = None
    for th, seg in reader:
        sid = seg.id
        if sid == "ST" and seg[1] != "999":
            raise located(th, seg, 1, f"transaction set {seg[1]!r} is not a 999", "wrong_set")
        if sid == "AK1":
            group = GroupAck(seg[1], seg[2], seg[3] or None)
        elif group is None and sid not in ("ST", "SE"):
            raise located(th, seg, 0, "999 without AK1", "structure")
        elif sid == "AK2" and group is not None:
            current = SetAck(seg[1], seg[2], seg[3] or None, "")
            group.sets.append(current)
            error = None
        elif sid == "IK3" and current is not None:
            error = SegmentError(seg[1], int(seg[2]) if seg[2].isdigit() else None, seg[3] or None, seg[4])
            current.errors.append(error)
        elif sid == "IK4" and error is not None:
            error.element_errors.append((seg[1], seg[3], seg[4] or None))
        elif sid == "IK5" and current is not None:
            current.status = seg[1]
            current.codes = [seg[i] for i in range(2, 7) if seg[i]]
        elif sid == "AK9" and group is not None:
            group.status = seg[1]
            yield group
            group, current, error = None, None, None
    if warnings is not None:
        warnings.extend(reader.warnings)
