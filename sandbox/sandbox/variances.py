"""The variances the plan book's rules introduced, claim line by claim line, as the claim log keeps them: what
a platform's underpayment worklist must find, to the cent, once it holds the payers' contracts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


@dataclass
class _Total:
    lines: int = 0
    claims: set[str] = field(default_factory=set)
    amount: Decimal = Decimal(0)

    def add(self, claim_id: str, amount: Decimal) -> None:
        self.lines += 1
        self.claims.add(claim_id)
        self.amount += amount

    def json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "claims": len(self.claims),
            "amount": str(self.amount.quantize(Decimal("0.01"))),
            "amount_cents": _cents(self.amount),
        }


def variance_report(
    known: dict[str, dict[str, object]], now: float, *, payer_id: str | None = None, submitter: str | None = None
) -> dict[str, Any]:
    """Every line allowed off the contract (optionally of one payer, or of one submitter's claims), and the
    totals of those that stand: a claim voided or replaced since is listed, its payment taken back, and left
    out of the totals."""
    items: list[dict[str, Any]] = []
    totals = {"under": _Total(), "over": _Total()}
    for claim_id, entry in sorted(known.items()):
        records = entry.get("variances")
        if not isinstance(records, list) or not records:
            continue
        if payer_id is not None and entry.get("payer_id") != payer_id:
            continue
        if submitter is not None and entry.get("submitter") != submitter:
            continue
        standing = not entry.get("superseded_by")
        for r in records:
            contract, allowed = Decimal(r["contract_allowed"]), Decimal(r["allowed"])
            kind = "under" if allowed < contract else "over"
            amount = abs(contract - allowed)
            items.append(
                {
                    "claim_id": claim_id,
                    "payer_id": entry.get("payer_id"),
                    "submitter_id": entry.get("submitter"),
                    "payer_claim_control_number": entry.get("icn"),
                    **r,
                    "kind": kind,
                    "variance": str(amount),
                    "variance_cents": _cents(amount),
                    "standing": standing,
                    "superseded_by": entry.get("superseded_by"),
                    # the 835 that carries the line has gone out (the standing payment's, after any reversal)
                    "sent": float(str(entry.get("last_due", "inf"))) <= now,
                }
            )
            if standing:
                totals[kind].add(claim_id, amount)
    return {"items": items, "totals": {kind: t.json() for kind, t in totals.items()}}
