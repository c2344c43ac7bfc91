"""The underpayment/overpayment worklist: items listed with group totals, one item with its history, and the
billing office's actions: appeal (a letter citing the contract line), accept (with a reason), adjust the
contract to the payer's rate. Each action is in the item's history; repeating the one it is in answers the
item as it is."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.errors import Conflict, NotFound
from rcm_shared.unit import Unit

from denials.adapters.letters import letter_pdf, underpayment_letter_text
from denials.config import DenialsSettings
from denials.domain.contracts import contract_terms, covers
from denials.domain.medicare import MedicareSchedule
from denials.domain.variance import LineAnswer, cause, rate_reproducing
from denials.domain.variance import variance as vd_variance
from denials.repository import ContractRepository, ExpectedRepository, VarianceRepository
from denials.use_cases.contracts import Adjusted, adjust_rate
from denials.use_cases.expected import LIVE
from denials.use_cases.letterhead import letterhead
from denials.use_cases.pricing import Pricer, to_price

STATUSES = ("open", "appealed", "accepted", "contract_adjusted", "cancelled")


@dataclass(frozen=True)
class Total:
    key: str
    kind: str
    count: int
    amount_cents: int


@dataclass(frozen=True)
class Worklist:
    items: list[Any]
    groups: list[Total]  # by the grouping asked for (none: empty)
    totals: list[Total]  # by kind


async def worklist(
    unit: Unit,
    *,
    group_by: str | None,
    kind: str | None,
    statuses: Sequence[str],
    payer_id: str | None,
    limit: int,
    offset: int,
) -> Worklist:
    repo = VarianceRepository(unit)
    items = await repo.matching(kind, statuses, payer_id, limit, offset)
    groups = [Total(*t) for t in await repo.totals(group_by, kind, statuses, payer_id)] if group_by else []
    totals = [Total(*t) for t in await repo.totals(None, kind, statuses, payer_id)]
    return Worklist(items, groups, totals)


@dataclass(frozen=True)
class Detail:
    row: Any
    history: list[Any]


async def detail(unit: Unit, variance_id: str) -> Detail:
    repo = VarianceRepository(unit)
    return Detail(await repo.get(variance_id), await repo.history(variance_id))


async def appeal_pdf(unit: Unit, variance_id: str) -> bytes:
    row = await VarianceRepository(unit).get(variance_id)
    if not row.letter_text:
        raise NotFound(f"item {variance_id} has no appeal letter")
    return base64.b64decode(letter_pdf(row.letter_text))


async def _moved(repo: VarianceRepository, row: Any, **values: Any) -> None:
    if not await repo.move(row, **values):
        raise Conflict(f"item {row.id} changed meanwhile: read it again")


def _refuse(row: Any, action: str) -> None:
    raise Conflict(f"item {row.id} is {row.status}: it cannot be {action}")


async def appeal(unit: Unit, settings: DenialsSettings, variance_id: str, note: str | None) -> Detail:
    """An underpaid item appealed with a letter citing its contract line and pricing steps."""
    repo = VarianceRepository(unit)
    row = await repo.get(variance_id)
    if row.status == "appealed":
        return await detail(unit, variance_id)
    if row.kind != "under":
        raise Conflict(f"item {row.id} is an overpayment: there is nothing to appeal; accept it or adjust the contract")
    if row.status != "open":
        _refuse(row, "appealed")
    contracts = ContractRepository(unit)
    contract = await contracts.get(row.contract_id)
    version = await contracts.version(row.contract_id, row.contract_version)
    today = datetime.now(UTC).date()
    head = await letterhead(unit, today, settings.practice_name)
    text = underpayment_letter_text(row, contract, version, head, today)
    await _moved(repo, row, status="appealed", letter_text=text)
    await repo.log(row.id, "appealed", unit.actor.name, note)
    return await detail(unit, variance_id)


async def accept(unit: Unit, variance_id: str, reason: str) -> Detail:
    """The variance stands (the payer's amount is right, or not worth pursuing): the reason is kept."""
    repo = VarianceRepository(unit)
    row = await repo.get(variance_id)
    if row.status == "accepted":
        return await detail(unit, variance_id)
    if row.status not in LIVE:
        _refuse(row, "accepted")
    await _moved(repo, row, status="accepted")
    await repo.log(row.id, "accepted", unit.actor.name, reason)
    return await detail(unit, variance_id)


async def adjust_contract(
    unit: Unit,
    settings: DenialsSettings,
    variance_id: str,
    effective_from: date,
    note: str | None,
    medicare: MedicareSchedule | None,
) -> Detail:
    """The payer's amount is the agreed one: a new version of the contract from ``effective_from`` (its window:
    ``use_cases.contracts.adjust_rate``) whose rate for the line's code (its fee line, else the code without
    modifier) prices the line at the payer's allowed amount, every other rule and rate of the version the line
    was priced by applied as before. The other items still at stake of the same contract and fee line within
    the new version's window are evaluated again under it (``_reevaluate``)."""
    repo = VarianceRepository(unit)
    row = await repo.get(variance_id)
    if row.status == "contract_adjusted":
        return await detail(unit, variance_id)
    if row.status not in (*LIVE, "accepted"):
        _refuse(row, "adjusted")
    billed = (await ExpectedRepository(unit).lines([row.claim_id])).get(row.claim_id, [])
    contracts = ContractRepository(unit)
    version = (await contracts.stored_versions([row.version_id])).get(row.version_id)
    if version is None or not any(r.line_number == row.line_number for r in billed):
        raise Conflict(f"item {row.id}: the claim's lines or the contract version it was priced by are gone")
    # the claim's lines this version prices (the multiple procedure ranking sees them all); error lines price by none
    group = [to_price(r) for r in billed if covers(version, r.service_date) and r.rule != "error"]
    fees = (await contracts.fee_lines([version.id], {ln.code.upper() for ln in group}))[version.id]
    terms = contract_terms(version.terms, fees)
    key = _key(row)
    rate = rate_reproducing(group, terms, medicare, row.line_number, key, row.allowed_cents)
    if rate is None:
        raise Conflict(
            f"no rate for {key[0]} prices line {row.line_number} at the payer's {row.allowed_cents / 100:.2f} under "
            "this contract's rules (the lesser of the charge caps it)"
        )
    label = f"{key[0]}-{key[1]}" if key[1] else key[0]
    why = f"{label} at {rate / 100:.2f} per unit, the payer's rate on claim {row.claim_id} line {row.line_number}"
    new = await adjust_rate(unit, row.contract_id, version.version, key, rate, effective_from, note or why)
    await _moved(repo, row, status="contract_adjusted", adjusted_version_id=new.row.id)
    ends = new.effective_to.isoformat() if new.effective_to else "open"
    window = f"version {new.row.version} from {effective_from} to {ends}"
    await repo.log(row.id, "contract_adjusted", unit.actor.name, f"{window}: {why}")
    await _reevaluate(unit, settings, row, key, new, medicare, f"{window}, adjusted from item {row.id}")
    return await detail(unit, variance_id)


def _key(row: Any) -> tuple[str, str]:
    """The fee line an item was priced by, else its code without modifier (a default rule priced it)."""
    fee = row.fee_line
    return (fee["code"], fee["modifier"]) if fee else (row.code, "")


async def _reevaluate(
    unit: Unit,
    settings: DenialsSettings,
    adjusted: Any,
    key: tuple[str, str],
    new: Adjusted,
    medicare: MedicareSchedule | None,
    why: str,
) -> None:
    """The items still at stake of the adjusted item's contract and fee line dated in the new version's window,
    priced again under it: one the new rate settles (within the tolerance) is contract_adjusted as well; any
    other takes the new version's figures (kind, amounts, cause), its status kept, with a note in its history."""
    repo = VarianceRepository(unit)
    found = await repo.of_contract_code(adjusted.contract_id, key[0], new.effective_from, new.effective_to, LIVE)
    siblings = [s for s in found if s.id != adjusted.id and _key(s) == key]
    if not siblings:
        return
    billed = await ExpectedRepository(unit).lines({s.claim_id for s in siblings})
    claims = {cid: (rows[0].payer_id, [to_price(r) for r in rows]) for cid, rows in billed.items()}
    pricer = Pricer(unit, medicare)
    await pricer.load(claims)
    priced = {cid: pricer.price(payer, lines) for cid, (payer, lines) in claims.items()}
    for item in siblings:
        pricing = priced.get(item.claim_id, {}).get(item.line_number)
        amount = pricing.priced.expected_allowed_cents if pricing else None
        if pricing is None or pricing.version is None or pricing.version.id != new.row.id or amount is None:
            continue  # the claim's lines changed since: the new version does not price this line
        answer = LineAnswer(
            item.line_number, item.allowed_cents, item.paid_cents, 0, item.deductible_cents, item.copay_cents
        )
        variance = vd_variance(amount, answer, settings.underpayment_tolerance_cents)
        if variance is None:
            if await repo.move(item, status="contract_adjusted", adjusted_version_id=new.row.id):
                await repo.log(item.id, "contract_adjusted", unit.actor.name, f"{why}: the payer's amount now")
            continue
        mine = priced[item.claim_id]
        lines = [
            ln
            for ln in claims[item.claim_id][1]
            if mine[ln.line_number].version == pricing.version and mine[ln.line_number].priced.rule != "error"
        ]
        terms = pricer.terms[new.row.id]
        fee = pricing.priced.fee_line
        values = {
            "version_id": new.row.id,
            "contract_version": new.row.version,
            "kind": variance.kind,
            "cause": cause(lines, terms, medicare, item.line_number, item.allowed_cents, pricing.priced.rule),
            "expected_allowed_cents": amount,
            "expected_paid_cents": variance.expected_paid_cents,
            "amount_cents": variance.amount_cents,
            "rule": pricing.priced.rule,
            "steps": list(pricing.priced.steps),
            "fee_line": {"code": fee.code, "modifier": fee.modifier, "rate_cents": fee.rate_cents} if fee else None,
        }
        if await repo.move(item, **values):
            note = (
                f"{why}: {variance.kind}paid by {variance.amount_cents / 100:.2f}, allowed "
                f"{item.allowed_cents / 100:.2f} against {amount / 100:.2f}"
            )
            await repo.log(item.id, "reevaluated", unit.actor.name, note)
