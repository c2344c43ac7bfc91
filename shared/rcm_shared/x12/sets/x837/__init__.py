"""837 Health Care Claim: Professional (005010X222A1) and Institutional (005010X223A2).

Typed models of one claim with everything needed to send it (billing provider, subscriber, patient,
payer, other payers' adjudication for COB), a writer that groups claims into the HL hierarchy
(2000A billing provider > 2000B subscriber > 2000C patient), and a reader that turns an 837 back into
the same models, so write -> read gives equal models.
"""

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.sets.common import Adjustment
from rcm_shared.x12.sets.x837.model import (
    INSTITUTIONAL,
    PROFESSIONAL,
    Address,
    Claim,
    Kind,
    LineAdjudication,
    OtherPayer,
    Payer,
    Person,
    Provider,
    Receiver,
    ServiceLine,
    Submitter,
)
from rcm_shared.x12.sets.x837.reader import read_837
from rcm_shared.x12.sets.x837.writer import build_837

__all__ = [
    "INSTITUTIONAL",
    "PROFESSIONAL",
    "Address",
    "Adjustment",
    "Claim",
    "Kind",
    "LineAdjudication",
    "OtherPayer",
    "Payer",
    "Person",
    "Provider",
    "Receiver",
    "ServiceLine",
    "Submitter",
    "X12Error",
    "build_837",
    "read_837",
]
