"""Who a submission came from and whom it was sent to, so that every answer goes back to its submitter.

A clearinghouse serves many submitters: the 999, 277CA, 277 and 835 that answer an interchange carry its
receiver as their sender (ISA05/06, GS02 = the submission's ISA07/08, GS03) and its sender as their receiver
(ISA07/08, GS03 = the submission's ISA05/06, GS02). Two practices sharing the sandbox each get their own files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import iter_raw_segments
from rcm_shared.x12.writer import Party


@dataclass(frozen=True)
class ReplyTo:
    us: Party  # the clearinghouse, as the submitter addressed it: the answers' sender
    them: Party  # the submitter: the answers' receiver
    usage: str = "T"  # ISA15, echoed: a test submission gets test answers
    submitter_name: str = ""  # 1000A NM103 of an 837 (the 277CA's information receiver), when there is one
    submitter_id: str = ""  # 1000A NM109

    @property
    def tag(self) -> str:
        """The submitter in the names of the files answering it (letters and digits of its id)."""
        return re.sub(r"[^A-Za-z0-9]", "", self.them.id) or "X12"

    @property
    def receiver_name(self) -> str:
        return self.submitter_name or self.them.id

    @property
    def receiver_id(self) -> str:
        return self.submitter_id or self.them.id


def reply_to(data: bytes) -> ReplyTo:
    """The parties of an interchange's first ISA and GS, reversed for the answer (without a GS, the ISA ids
    stand for the application codes too). Raises X12Error when the file has no ISA."""
    isa: list[str] | None = None
    gs: list[str] | None = None
    name = ident = ""
    for _d, e in iter_raw_segments(data):
        sid = e[0].strip().upper()
        if sid == "ISA" and isa is None:
            isa = [x.strip() for x in e]
        elif sid == "GS" and gs is None:
            gs = [x.strip() for x in e]
        elif sid == "NM1" and len(e) > 9 and e[1] == "41":  # 1000A submitter name (837 and 276)
            name, ident = e[3].strip(), e[9].strip()
            break
        elif sid in ("HL", "SE"):  # past the header: no 1000A in this set
            break
    if isa is None or len(isa) < 16:
        raise X12Error("the file has no complete ISA", code="no_isa")
    gs = gs if gs is not None and len(gs) > 3 else ["GS", "", isa[6], isa[8]]
    return ReplyTo(
        us=Party(isa[7], isa[8], gs[3] or isa[8]),
        them=Party(isa[5], isa[6], gs[2] or isa[6]),
        usage=isa[15] or "T",
        submitter_name=name,
        submitter_id=ident,
    )
