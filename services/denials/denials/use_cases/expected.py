"""Expected payment: each claim's billed lines priced under its payer's contract in effect on their service
dates when claims sends them, and again when the payer adjudicates; each adjudicated line matched to the
billed line it answers (its REF*6R, else the same code at the same position) and held against its expected
amount once, a variance beyond the tolerance opening an item of the underpayment/overpayment worklist; a
payer's reversal cancelling the items of the posting it takes back. The lines and the 835 may come in either
order (two topics), even at once in two workers: each locks the claim's row before it writes and reads, so
whichever comes second sees the other's rows and does the comparison."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.events import Envelope
from rcm_shared.ids import new_id
from rcm_shared.payloads.claims import ClaimStatusChangedV1
from rcm_shared.payloads.remittance import ClaimAdjudicatedV1, ClaimReversedV1
from rcm_shared.unit import Unit

from denials.config import DenialsSettings
from denials.domain import variance as vd
from denials.domain.contracts import in_effect
from denials.domain.line_match import AnswerRef, BilledRef, match_lines
from denials.domain.medicare import MedicareSchedule
from denials.domain.pricing import LineToPrice
from denials.repository import ExpectedRepository, VarianceRepository
from denials.use_cases.pricing import Pricer, Pricing, billed_line, pricing_columns, stored_columns, to_price

PRIMARY = ("1", "19")  # processed as primary (19: and forwarded to a crossover payer)
LIVE = ("open", "appealed")  # the items still at stake


async def on_claim_lines(
    unit: Unit,
    items: Sequence[tuple[ClaimStatusChangedV1, Envelope]],
    medicare: MedicareSchedule | None,
    settings: DenialsSettings,
) -> None:
    """Claims' billed lines (at entry or submission): priced and stored, replacing an earlier billing's; an
    adjudication seen before them is compared now. A line without a date of service takes the event's day.
    Lines already stored as they are (a claim submitted as it was entered) are left as priced: the payer's
    answer prices them again anyway."""
    latest = {event.claim_id: event for event, _envelope in items if event.lines and event.payer_id}
    if not latest:
        return
    claims = {
        claim_id: (str(e.payer_id), [billed_line(ln, e.changed_at.date()) for ln in e.lines])
        for claim_id, e in latest.items()
    }
    control = {(cid, ln.line_number): ln.line_control_number for cid, e in latest.items() for ln in e.lines}
    stored = await ExpectedRepository(unit).lines(set(latest))
    for claim_id in [cid for cid in latest if cid in stored]:
        payer_id, lines = claims[claim_id]
        billed = [stored_columns(ln, control[(claim_id, ln.line_number)]) for ln in lines]
        if _unchanged(payer_id, billed, stored[claim_id]):
            del latest[claim_id], claims[claim_id]
    if not latest:
        return
    pricer = Pricer(unit, medicare)
    await pricer.load(claims)
    now = datetime.now(UTC)
    rows = []
    for claim_id, (payer_id, lines) in claims.items():
        priced = pricer.price(payer_id, lines)
        for line in lines:
            rows.append(
                {
                    "claim_id": claim_id,
                    "payer_id": payer_id,
                    **stored_columns(line, control[(claim_id, line.line_number)]),
                    **pricing_columns(priced[line.line_number], now),
                }
            )
    repo = ExpectedRepository(unit)
    await repo.lock_claims(latest)
    await repo.replace_lines(latest, rows)
    await _compare(unit, set(latest), medicare, settings, f"event:{ClaimStatusChangedV1.event_type}")


def _unchanged(payer_id: str, billed: Sequence[Mapping[str, Any]], rows: Sequence[Any]) -> bool:
    """Whether the stored lines of a claim are these, for this payer, in this order."""
    return len(rows) == len(billed) and all(
        row.payer_id == payer_id and all(getattr(row, k) == v for k, v in columns.items())
        for row, columns in zip(rows, billed, strict=True)
    )


async def on_adjudications(
    unit: Unit,
    items: Sequence[tuple[ClaimAdjudicatedV1, Envelope]],
    medicare: MedicareSchedule | None,
    settings: DenialsSettings,
) -> None:
    """The lines of primary adjudications kept and held against the claims' expected amounts. A secondary
    payer's answer, a crossover payer's, and a payment its payer had reversed already are not the contract's."""
    now = datetime.now(UTC)
    rows = []
    for event, _envelope in items:
        if event.status_code not in PRIMARY or event.crossover_answer or event.reversed_already:
            continue
        for line, answer in zip(event.lines, vd.answers(event.lines, event.adjustments), strict=True):
            lcn = line.line_control_number
            rows.append(
                {
                    "claim_id": event.claim_id,
                    "remittance_id": event.remittance_id,
                    "payer_claim_control_number": event.payer_claim_control_number[:80],
                    "line_number": answer.line_number,
                    "payer_id": event.payer_id,
                    "line_control_number": lcn if lcn and len(lcn) <= 80 else None,
                    "procedure_code": line.procedure_code[:48],
                    "allowed_cents": answer.allowed_cents,
                    "paid_cents": answer.paid_cents,
                    "patient_cents": answer.patient_cents,
                    "deductible_cents": answer.deductible_cents,
                    "copay_cents": answer.copay_cents,
                    "payment_date": event.payment_date,
                    "compared": 0,
                    "expected_allowed_cents": None,
                    "billed_line_number": None,
                    "match": None,
                    "note": None,
                    "reversed": 0,
                    "seen_at": now,
                }
            )
    if rows:
        repo = ExpectedRepository(unit)
        await repo.lock_claims({str(r["claim_id"]) for r in rows})
        await repo.add_answers(rows)
        claim_ids = {str(r["claim_id"]) for r in rows}
        await _compare(unit, claim_ids, medicare, settings, f"event:{ClaimAdjudicatedV1.event_type}")


async def _compare(
    unit: Unit, claim_ids: Collection[str], medicare: MedicareSchedule | None, settings: DenialsSettings, actor: str
) -> None:
    """The adjudicated lines of these claims not compared yet, each matched to the billed line it answers
    (``domain.line_match``) and held against that line priced again under the contract now in effect on its
    date; the lines' expected amounts are updated to that pricing. The caller holds the claims' locks."""
    expected = ExpectedRepository(unit)
    answers = await expected.uncompared(claim_ids)
    billed = await expected.lines({a.claim_id for a in answers}) if answers else {}
    if not billed:
        return
    claims = {cid: (rows[0].payer_id, [to_price(r) for r in rows]) for cid, rows in billed.items()}
    pricer = Pricer(unit, medicare)
    await pricer.load(claims)
    now = datetime.now(UTC)
    priced = {cid: pricer.price(payer, lines) for cid, (payer, lines) in claims.items()}
    await expected.reprice(
        [
            {"id": row.id, **pricing_columns(priced[cid][row.line_number], now)}
            for cid, rows in billed.items()
            for row in rows
        ]
    )
    compared = []
    items = VarianceRepository(unit)
    for (claim_id, _remittance, _clp07), payment in _payments(answers).items():
        rows = {r.line_number: r for r in billed.get(claim_id, [])}
        if not rows:
            continue  # the claim's lines have not come: they compare it when they do
        refs = [BilledRef(r.line_number, r.line_control_number, r.code) for r in rows.values()]
        found = match_lines(refs, [AnswerRef(a.line_number, a.line_control_number, a.procedure_code) for a in payment])
        for answer in payment:
            match = found[answer.line_number]
            done = {"id": answer.id, "billed_line_number": match.billed_line_number, "match": match.how}
            row = rows.get(match.billed_line_number) if match.billed_line_number is not None else None
            if row is None:
                compared.append({**done, "expected_allowed_cents": None, "note": match.reason})
                continue
            if row.payer_id != answer.payer_id:
                why = f"answered by payer {answer.payer_id}, billed to {row.payer_id}: not this contract's"
                compared.append({**done, "expected_allowed_cents": None, "note": why})
                continue
            pricing = priced[claim_id][row.line_number]
            amount = pricing.priced.expected_allowed_cents
            compared.append({**done, "expected_allowed_cents": amount, "note": None})
            if amount is None or pricing.version is None:
                continue  # no contract, or one that sets no rate for the line
            line = vd.LineAnswer(
                row.line_number,
                answer.allowed_cents,
                answer.paid_cents,
                answer.patient_cents,
                answer.deductible_cents,
                answer.copay_cents,
            )
            variance = vd.variance(amount, line, settings.underpayment_tolerance_cents)
            if variance is None:
                continue
            why = _cause(pricer, claims[claim_id][1], priced[claim_id], row, pricing, medicare, answer.allowed_cents)
            await _open(items, row, answer, pricing, variance, why, actor, now)
    await expected.mark_compared(compared)


def _payments(answers: Sequence[Any]) -> dict[tuple[str, str, str], list[Any]]:
    """The answers by claim payment (claim, remittance, the payer's claim control number: a claim the payer
    split is two claim payments in one 835, their lines each numbered from 1), each in the 835's line order."""
    out: dict[tuple[str, str, str], list[Any]] = {}
    for answer in answers:
        out.setdefault((answer.claim_id, answer.remittance_id, answer.payer_claim_control_number), []).append(answer)
    return out


def _cause(
    pricer: Pricer,
    lines: Sequence[LineToPrice],
    priced: dict[int, Pricing],
    row: Any,
    pricing: Pricing,
    medicare: MedicareSchedule | None,
    allowed_cents: int,
) -> str:
    """The variance's cause, found among the claim's lines priced by the same version (the multiple procedure
    ranking sees them all); an error line, priced by none, is left out."""
    assert pricing.version is not None
    versions = pricer.versions[row.payer_id]
    group = [
        ln
        for ln in lines
        if in_effect(versions, ln.service_date) == pricing.version and priced[ln.line_number].priced.rule != "error"
    ]
    terms = pricer.terms[pricing.version.id]
    return vd.cause(group, terms, medicare, row.line_number, allowed_cents, pricing.priced.rule)


async def _open(
    items: VarianceRepository,
    row: Any,
    answer: Any,
    pricing: Pricing,
    found: vd.Variance,
    why: str,
    actor: str,
    now: datetime,
) -> None:
    assert pricing.version is not None and pricing.priced.expected_allowed_cents is not None
    fee = pricing.priced.fee_line
    variance_id = new_id()
    opened = await items.open(
        {
            "id": variance_id,
            "claim_id": row.claim_id,
            "line_number": row.line_number,
            "remittance_id": answer.remittance_id,
            "payer_id": row.payer_id,
            "contract_id": pricing.version.contract_id,
            "version_id": pricing.version.id,
            "contract_version": pricing.version.version,
            "code": row.code,
            "modifiers": row.modifiers,
            "units": row.units,
            "service_date": row.service_date,
            "kind": found.kind,
            "cause": why,
            "expected_allowed_cents": pricing.priced.expected_allowed_cents,
            "allowed_cents": answer.allowed_cents,
            "expected_paid_cents": found.expected_paid_cents,
            "paid_cents": answer.paid_cents,
            "deductible_cents": answer.deductible_cents,
            "copay_cents": answer.copay_cents,
            "amount_cents": found.amount_cents,
            "rule": pricing.priced.rule,
            "steps": list(pricing.priced.steps),
            "fee_line": {"code": fee.code, "modifier": fee.modifier, "rate_cents": fee.rate_cents} if fee else None,
            "status": "open",
            "opened_at": now,
            "updated_at": now,
        }
    )
    if opened:
        note = (
            f"{found.kind}paid by {found.amount_cents / 100:.2f}: allowed {answer.allowed_cents / 100:.2f} against "
            f"the contract's {pricing.priced.expected_allowed_cents / 100:.2f} (cause: {why})"
        )
        await items.log(variance_id, "opened", actor, note)


async def on_reversed(unit: Unit, event: ClaimReversedV1, envelope: Envelope) -> int:
    """The payer took back a posting: its lines no longer count, and the items it opened are cancelled.
    Returns the items cancelled."""
    if event.original_remittance_id is None:  # the reversed posting was never found: nothing here came of it
        return 0
    await ExpectedRepository(unit).reverse(event.claim_id, event.original_remittance_id)
    items = VarianceRepository(unit)
    cancelled = 0
    note = f"the payer reversed the posting (remittance {event.remittance_id}) this item came from"
    for row in await items.of_posting(event.claim_id, event.original_remittance_id, (*LIVE, "accepted")):
        if await items.move(row, status="cancelled"):
            await items.log(row.id, "cancelled", f"event:{envelope.type}", note)
            cancelled += 1
    return cancelled


@dataclass(frozen=True)
class LineView:
    """A billed line, its expected amount, and the latest adjudication of it still standing (not reversed)."""

    row: Any
    answer: Any | None
    expected_paid_cents: int | None  # what the payer pays at the expected allowed amount (``vd.expected_paid``)
    variance_cents: int | None  # allowed - expected allowed, as compared


@dataclass(frozen=True)
class ExpectedPayment:
    claim_id: str
    payer_id: str
    lines: list[LineView]
    items: list[Any]
    not_compared: list[Any]  # lines of the 835 (not reversed) that answer no billed line, with the reason


async def expected_payment(unit: Unit, claim_id: str) -> ExpectedPayment:
    repo = ExpectedRepository(unit)
    lines = (await repo.lines([claim_id])).get(claim_id)
    if not lines:
        raise NotFound(f"no billed lines of claim {claim_id} have been seen")
    standing = [a for a in await repo.answers_of(claim_id) if not a.reversed]
    latest = {a.billed_line_number: a for a in standing if a.billed_line_number is not None}
    views = []
    for row in lines:
        answer = latest.get(row.line_number)
        if answer is None or not answer.compared or answer.expected_allowed_cents is None:
            views.append(LineView(row, answer, None, None))
            continue
        expected = answer.expected_allowed_cents
        paid = vd.expected_paid(
            expected, answer.allowed_cents, answer.paid_cents, answer.deductible_cents, answer.copay_cents
        )
        views.append(LineView(row, answer, paid, answer.allowed_cents - expected))
    items = await VarianceRepository(unit).of_claim(claim_id)
    unmatched = [a for a in standing if a.compared and a.billed_line_number is None]
    return ExpectedPayment(claim_id, lines[0].payer_id, views, items, unmatched)
