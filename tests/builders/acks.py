"""The clearinghouse's answers to an 837: the 999 (the file's syntax) and the 277CA (each claim accepted or not)."""

from __future__ import annotations

from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.writer import Composite, TransactionSet, writer_for


def controls(x12: str) -> tuple[str, str]:
    """The (GS06, ST02) control numbers of an 837's first transaction set: what its 999 answers."""
    header = next(h for h, _s in X12Reader(x12.encode()))
    return header.group.control_number, header.control_number


def ack_999(gs06: str, st02: str, accepted: bool) -> str:
    ts = TransactionSet("999", "005010X231A1")
    ts.add("AK1", "HC", gs06, "005010X222A1")
    ts.add("AK2", "837", st02, "005010X222A1")
    if not accepted:
        ts.add("IK3", "NM1", "8", "2010", "8")
        ts.add("IK4", "9", None, "7", "XX")
    ts.add("IK5", "A" if accepted else "R", None if accepted else "5")
    ts.add("AK9", "A" if accepted else "R", "1", "1", "1" if accepted else "0")
    return writer_for(ts, sender="CLEARINGHOUSE", receiver="RCMCLINIC").render([ts])


def ack_277ca(claim_id: str, accepted: bool, pccn: str = "PAYERICN1", also: tuple[tuple[str, bool], ...] = ()) -> str:
    ts = TransactionSet("277", "005010X214")
    ts.add("BHT", "0085", "08", "ACK1", "20261120", "1200", "TH")
    ts.add("HL", "1", None, "20", "1")
    ts.add("NM1", "PR", "2", "MEDICARE PART B", None, None, None, None, "PI", "MCRB1")
    ts.add("TRN", "1", "1")
    ts.add("DTP", "050", "D8", "20261120")
    ts.add("DTP", "009", "D8", "20261120")
    ts.add("HL", "2", "1", "21", "1")
    ts.add("NM1", "41", "2", "CLINIC", None, None, None, None, "46", "RCMCLINIC")
    ts.add("TRN", "2", "BATCH1")
    ts.add("STC", Composite(("A1", "19", "PR")), "20261120", "WQ", "245.5")
    ts.add("HL", "3", "2", "19", "1")
    ts.add("NM1", "85", "2", "CLINIC", None, None, None, None, "XX", "1234567893")
    ts.add("TRN", "1", "PROV")
    for n, (patient_claim, ok) in enumerate(((claim_id, accepted), *also)):
        ts.add("HL", str(4 + n), "3", "PT")
        ts.add("NM1", "QC", "1", "DOE", "JANE", None, None, None, "MI", "W123456789")
        ts.add("TRN", "2", patient_claim)
        if ok:
            ts.add("STC", Composite(("A2", "20", "PR")), "20261120", "WQ", "245.5")
            ts.add("REF", "1K", pccn)
        else:
            ts.add("STC", Composite(("A7", "562", "85")), "20261120", "U", "245.5")
    return writer_for(ts, sender="CLEARINGHOUSE", receiver="RCMCLINIC").render([ts])
