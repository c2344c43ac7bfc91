"""276/277 Claim Status Request and Response (005010X212) and the 277CA claim acknowledgment (005010X214).

``build_276`` / ``read_276`` for inquiries; ``read_277`` reads both a 277 status response and a 277CA,
yielding one :class:`ClaimStatus` per claim (patient-level loop) with its STC statuses, ids and lines.
"""

from rcm_shared.x12.sets.x276.model import (
    ACK_IMPLEMENTATION,
    REQUEST_IMPLEMENTATION,
    ClaimAck,
    ClaimStatus,
    LineStatus,
    ProviderAcks,
    Status,
    StatusAnswer,
    StatusInquiry,
)
from rcm_shared.x12.sets.x276.reader import read_276, read_277
from rcm_shared.x12.sets.x276.writer import build_276, build_277, build_277ca

__all__ = [
    "ACK_IMPLEMENTATION",
    "REQUEST_IMPLEMENTATION",
    "ClaimAck",
    "ClaimStatus",
    "LineStatus",
    "ProviderAcks",
    "Status",
    "StatusAnswer",
    "StatusInquiry",
    "build_276",
    "build_277",
    "build_277ca",
    "read_276",
    "read_277",
]
