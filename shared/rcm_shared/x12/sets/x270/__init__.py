"""270/271 Eligibility, Coverage or Benefit Inquiry and Information (005010X279A1).

``build_270`` writes an inquiry, ``read_270`` reads one back (for round trips and for the sandbox payer),
``read_271`` yields one :class:`EligibilityResponse` per subscriber or dependent, with AAA errors at
every level, EB benefit loops (with their DTP/REF/MSG/III and LS/LE related entities) kept losslessly.
"""

from rcm_shared.x12.sets.x270.model import (
    IMPLEMENTATION,
    Benefit,
    EligibilityResponse,
    Inquiry,
    Member,
    RelatedEntity,
    RequestError,
)
from rcm_shared.x12.sets.x270.reader import read_270, read_271
from rcm_shared.x12.sets.x270.writer import build_270, build_271

__all__ = [
    "IMPLEMENTATION",
    "Benefit",
    "EligibilityResponse",
    "Inquiry",
    "Member",
    "RelatedEntity",
    "RequestError",
    "build_270",
    "build_271",
    "read_270",
    "read_271",
]
