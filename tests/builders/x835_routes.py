"""835 interchanges between named parties: a clearinghouse (ISA06/GS02) sending to one of our submitter ids
(ISA08/GS03), which say whose the payment is. The sets are ``builders.x835``'s."""

from __future__ import annotations

from datetime import datetime

from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, ProviderAdjustment, build_835
from rcm_shared.x12.writer import InterchangeWriter, MemoryControlNumbers, Party


def sent(
    sender: str,
    receiver: str,
    *sets: tuple[PaymentHeader, list[ClaimPayment], list[ProviderAdjustment]],
    isa: int = 1,
    gs: tuple[str, str] | None = None,  # (GS02, GS03) when they differ from the ISA ids
) -> bytes:
    """One interchange from ``sender`` to ``receiver`` carrying ``sets``."""
    gs_sender, gs_receiver = gs or (sender, receiver)
    w = InterchangeWriter(
        sender=Party("ZZ", sender, gs_sender),
        receiver=Party("ZZ", receiver, gs_receiver),
        functional_id="HP",
        version="005010X221A1",
        numbers=MemoryControlNumbers({"ISA": isa - 1, "GS": isa - 1}),
        now=datetime(2026, 11, 20, 8, 0),
    )
    return w.render([build_835(h, c, p) for h, c, p in sets]).encode()
