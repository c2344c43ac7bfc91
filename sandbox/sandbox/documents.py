"""The interchanges the clearinghouse sends the platform: the 277CA for a payer's claims, the 835 for a payee's
payments, and the envelope around those and the 277 status answers, addressed to the submitter they answer
(``sandbox.addressing``)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

from rcm_shared.x12.sets.x276 import ClaimAck, ProviderAcks, build_277ca
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, ProviderAdjustment, build_835
from rcm_shared.x12.sets.x837 import Claim
from rcm_shared.x12.writer import ControlNumbers, TransactionSet, writer_for

from sandbox.addressing import ReplyTo
from sandbox.adjudication import Outcome, fraction
from sandbox.payers import PlanBook


class Documents:
    def __init__(self, book: PlanBook, numbers: ControlNumbers, seed: int) -> None:
        self.book = book
        self.numbers = numbers
        self.seed = seed

    def render(self, ts: TransactionSet, to: ReplyTo) -> str:
        return writer_for(ts, sender=to.us, receiver=to.them, numbers=self.numbers, usage=to.usage).render([ts])

    def ack_277ca(
        self, payer_id: str, claims: list[Claim], acks: list[ClaimAck], ref: str, today: date, to: ReplyTo
    ) -> str:
        providers: dict[str, ProviderAcks] = {}
        for c, a in zip(claims, acks, strict=True):
            bp = c.billing_provider
            providers.setdefault(bp.npi or "", ProviderAcks(bp.last_or_org, bp.npi or "", [])).claims.append(a)
        payer = self.book.payers.get(payer_id)
        ts = build_277ca(
            list(providers.values()),
            payer_name=payer.name if payer else claims[0].payer.name,
            payer_id=payer_id,
            receiver_name=to.receiver_name,
            receiver_id=to.receiver_id,
            batch_reference=ref,
            received=today,
            processed=today,
        )
        return self.render(ts, to)

    def remittance_835(
        self,
        payer_id: str,
        npi: str,
        payee: str,
        payments: list[ClaimPayment],
        key: str,
        today: date,
        to: ReplyTo,
        *,
        recouped: bool = False,
    ) -> str:
        """``recouped``: the check is short by a recoupment of an earlier overpayment whose PLB the payer's
        system leaves out of the file (BPR02 then is not the claims' payments minus the PLBs)."""
        payer = self.book.payers[payer_id]
        trace = f"{int(hashlib.sha256(f'{self.seed}:{key}'.encode()).hexdigest()[:15], 16) % 10**15:015d}"
        plbs: list[ProviderAdjustment] = []
        if not recouped and fraction(self.seed, key, "plb") * 100 < float(payer.setting("plb_percent", "0")):
            interest = Decimal(1 + int(fraction(self.seed, key, "interest") * 900)) / 100
            plbs.append(ProviderAdjustment("", npi, date(today.year, 12, 31), "L6", trace, -interest))
        total = sum((p.paid for p in payments), Decimal(0)) - sum((p.amount for p in plbs), Decimal(0))
        if recouped and total > 0:
            total -= min(total / 2, Decimal(100 + int(fraction(self.seed, key, "recoup") * 4900)) / 100).quantize(
                Decimal("0.01")
            )
        method = str(payer.setting("payment_method", "ACH")) if total > 0 else "NON"
        header = PaymentHeader(
            transaction="",
            handling_code="I" if total > 0 else "H",
            total_paid=total,
            credit_debit="C",
            payment_method=method,
            # BPR16, the day the money moves: the payer's usual lag after it received the claims
            payment_date=today + timedelta(days=int(payer.setting("payment_days", 14))),
            trace_number=trace,
            trace_originator=f"1{int(hashlib.sha256(payer_id.encode()).hexdigest()[:8], 16) % 10**9:09d}",
            payer_name=payer.name,
            payer_id=payer_id,
            payee_name=payee,
            payee_id_qualifier="XX",
            payee_id=npi,
            production_date=today,
        )
        ts = build_835(header, payments, plbs)
        return self.render(ts, to)


def crossovers(outcomes: list[tuple[Claim, Outcome]]) -> dict[tuple[str, str], list[ClaimPayment]]:
    """The crossover payers' payments, grouped per (crossover payer, billing provider NPI)."""
    out: dict[tuple[str, str], list[ClaimPayment]] = {}
    for claim, outcome in outcomes:
        for payer_id, payment in outcome.crossover:
            out.setdefault((payer_id, claim.billing_provider.npi or ""), []).append(payment)
    return out


def rounds(outcomes: list[tuple[Claim, Outcome]]) -> list[dict[str, list[ClaimPayment]]]:
    """Payments grouped per round (0: first 835; 1: reversals and corrections) and billing provider NPI."""
    out: list[dict[str, list[ClaimPayment]]] = [{}, {}]
    for claim, outcome in outcomes:
        npi = claim.billing_provider.npi or ""
        out[0].setdefault(npi, []).append(outcome.payment)
        if outcome.later:
            out[1].setdefault(npi, []).extend(outcome.later)
    return [r for r in out if r]
