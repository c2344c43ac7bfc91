"""Claim adjustment reason codes (CARC, X12 external code list 139) that the services read alike.

A code list, not a rule engine: which adjustments reduce a charge to the contracted amount. Claims takes
them out of insurance A/R as contractual; denials never opens a denial on them. Kept here, once, so that
the two never disagree (a denial opened on money already out of A/R would be moved out of it twice).
"""

from __future__ import annotations

# fee schedule / maximum allowable (45), sequestration (253), multiple or concurrent procedure rules (59),
# processed in excess of charges (94), claim-specific negotiated discount (131)
CONTRACTUAL_CARCS = frozenset({"45", "253", "59", "94", "131"})
# the groups these codes are contractual in: the provider's (CO) and the payer-initiated reductions (PI)
CONTRACTUAL_GROUPS = frozenset({"CO", "PI"})


def is_contractual(group: str, reason: str) -> bool:
    return group in CONTRACTUAL_GROUPS and reason in CONTRACTUAL_CARCS
