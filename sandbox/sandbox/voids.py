"""Voids (claim frequency 8) and replacements (7): which earlier claim each one names, and the 835s that
answer them."""

from __future__ import annotations

from datetime import date

from rcm_shared.x12.sets.x276 import ClaimAck, Status
from rcm_shared.x12.sets.x835 import ClaimPayment
from rcm_shared.x12.sets.x837 import Claim

from sandbox.addressing import ReplyTo
from sandbox.adjudication import DuplicateIndex, adjudicate, carries_money, reversal, standing_record
from sandbox.claim_log import ClaimLog
from sandbox.documents import Documents
from sandbox.payers import PlanBook
from sandbox.spool import Spool


class VoidsAndReplacements:
    def __init__(
        self,
        book: PlanBook,
        seed: int,
        duplicates: DuplicateIndex,
        claims: ClaimLog,
        documents: Documents,
        spool: Spool,
    ) -> None:
        self.book = book
        self.seed = seed
        self.duplicates = duplicates
        self.claims = claims
        self.documents = documents
        self.spool = spool

    def originals(self, payer_id: str, claims: list[Claim], acks: list[ClaimAck], submitter: str) -> dict[str, str]:
        """Voids and replacements among these claims: each must name (REF*F8) a claim this payer numbered for
        this submitter and has not yet seen voided or replaced, else it is rejected (A7:464, the payer claim
        control number).
        Returns the original of each one accepted, which is superseded from now on."""
        if not any(c.frequency in ("7", "8") for c in claims):
            return {}
        known = self.claims.known()
        by_icn = {
            str(v["icn"]): k
            for k, v in known.items()
            if v.get("icn") and v.get("payer_id") == payer_id and self.claims.sent_by(k, submitter) is not None
        }
        out: dict[str, str] = {}
        for c, a in zip(claims, acks, strict=True):
            if c.frequency not in ("7", "8") or not a.accepted:
                continue
            original = by_icn.get(c.payer_claim_control_number or "")
            if original is None or known[original].get("superseded_by") or original in out.values():
                a.status, a.payer_claim_control_number = Status("A7", "464", action="U"), None
                continue
            out[c.claim_id] = original
        self.claims.remember([{"claim_id": original, "superseded_by": request} for request, original in out.items()])
        return out

    def answer(
        self,
        payer_id: str,
        requests: list[Claim],
        originals: dict[str, str],
        start: float,
        adj_delay: float,
        key: str,
        file: str,
        today: date,
        payees: dict[str, str],
        to: ReplyTo,
    ) -> None:
        """The 835s for accepted voids and replacements: the original's standing adjudication reversed
        (CLP02 = 22) when it carried money, and a replacement adjudicated as the claim that now stands. They
        come after every 835 already due for the original, so a reversal never overtakes what it reverses."""
        known = self.claims.known()
        start = max([start, *(float(str(known[originals[c.claim_id]].get("last_due", 0))) for c in requests)])
        rounds: list[dict[str, list[ClaimPayment]]] = [{}, {}]
        remember: list[dict[str, object]] = []
        for c in requests:
            npi = c.billing_provider.npi or ""
            record = known[originals[c.claim_id]].get("standing")
            if isinstance(record, dict) and carries_money(record):
                rounds[0].setdefault(npi, []).append(reversal(record, c))
            if c.frequency == "7":
                o = adjudicate(self.book, c, today, self.seed, self.duplicates)
                rounds[0].setdefault(npi, []).append(o.payment)
                rounds[1].setdefault(npi, []).extend(o.later)
                remember.append(
                    {
                        "claim_id": c.claim_id,
                        "paid": str(o.payment.paid),
                        "due": start + adj_delay,
                        "standing": standing_record(o.later[-1] if o.later else o.payment),
                        "last_due": start + adj_delay * (1 + bool(o.later)),
                        "variances": [v.record() for v in o.variances],
                    }
                )
        self.claims.remember(remember)
        for round_, items in enumerate(r for r in rounds if any(r.values())):
            for npi, payments in sorted(items.items()):
                text = self.documents.remittance_835(
                    payer_id, npi, payees[npi], payments, f"{key}:{npi}:request:{round_}", today, to
                )
                self.spool.schedule(start + adj_delay * (round_ + 1), "835", f"{file}-{npi}-request-{round_}.835", text)
