"""835 Health Care Claim Payment/Advice (005010X221A1): a streaming reader to typed models.

``iter_835`` yields a :class:`PaymentHeader` per transaction set, then each :class:`ClaimPayment` as
soon as its loop (2100 + 2110s) ends, then the transaction's :class:`ProviderAdjustment` (PLB) items and
a :class:`PaymentTrailer`. Memory stays bounded by one claim, whatever the file size. Money is Decimal,
dates are dates.
"""

from rcm_shared.x12.sets.common import Adjustment
from rcm_shared.x12.sets.x835.model import (
    FORWARDED,
    IMPLEMENTATION,
    ClaimPayment,
    Item835,
    PaymentHeader,
    PaymentTrailer,
    Procedure,
    ProviderAdjustment,
    ServicePayment,
)
from rcm_shared.x12.sets.x835.reader import iter_835
from rcm_shared.x12.sets.x835.writer import PayerContact, build_835

__all__ = [
    "FORWARDED",
    "IMPLEMENTATION",
    "Adjustment",
    "ClaimPayment",
    "Item835",
    "PayerContact",
    "PaymentHeader",
    "PaymentTrailer",
    "Procedure",
    "ProviderAdjustment",
    "ServicePayment",
    "build_835",
    "iter_835",
]
