"""Patient statements: for every account with a balance due (on its cycle day), as of a date."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.ids import new_id
from rcm_shared.payloads.remittance import StatementIssuedV1
from rcm_shared.unit import Unit

from remittance.adapters.statement_pdf import render_pdf
from remittance.domain.patients import (
    AGING,
    Practice,
    aging_bucket,
    credit_off_youngest,
    cycle_day,
    end_of_day,
)
from remittance.domain.posting import PATIENT_TRANSFER, PATIENT_TYPES
from remittance.repository.billed import BilledRepository
from remittance.repository.ledger import LedgerRepository
from remittance.repository.patients import PatientRepository
from remittance.repository.statements import StatementRepository
from remittance.use_cases.crossovers import release_late


async def _chain(unit: Unit, claim_id: str) -> list[str]:
    """The claim and the claims before it (a secondary's primary): one visit, several payers."""
    out = [claim_id]
    billed = BilledRepository.of(unit)
    while len(out) < 5:
        prior = await billed.original_of(out[-1])
        if not prior or prior in out:
            break
        out.append(prior)
    return out


async def statement_document(unit: Unit, account: str, as_of: date, practice: Practice) -> dict[str, Any] | None:
    """The statement of one account as of a date, or None when the account owed nothing by then.

    Only what was posted by the end of ``as_of`` counts (patient entries, payers' payments and contractual
    adjustments): a statement as of an earlier date shows the account as it stood then, never a balance
    younger than its own date.
    """
    cutoff = end_of_day(as_of)
    patients, ledger = PatientRepository.of(unit), LedgerRepository.of(unit)
    entries = await patients.entries_before(account, cutoff)
    balance = sum(e.amount_cents for e in entries)
    if balance <= 0:
        return None
    name = await patients.name(account)
    by_claim: dict[str, list[Any]] = defaultdict(list)
    on_account = 0
    for e in entries:
        if e.claim_id is None:
            on_account += e.amount_cents
        else:
            by_claim[e.claim_id].append(e)
    visits = []
    aging = {label: 0 for _lo, _hi, label in AGING}
    for claim_id, rows in by_claim.items():
        owed = {t: sum(r.amount_cents for r in rows if r.entry_type == t) for t in sorted(PATIENT_TYPES)}
        transferred = sum(r.amount_cents for r in rows if r.entry_type == PATIENT_TRANSFER)
        if transferred:  # a denied amount billed to the patient: no longer the payer's adjustment, the patient's
            owed[PATIENT_TRANSFER] = transferred
        paid = -sum(r.amount_cents for r in rows if r.entry_type == "payment")
        visit_balance = sum(r.amount_cents for r in rows)
        if visit_balance == 0 and not any(owed.values()):
            continue
        chain = await _chain(unit, claim_id)
        payments = await ledger.paid_before(chain, cutoff)
        first = await BilledRepository.of(unit).charge_and_service_date(chain[-1])
        charge = first.charge_cents if first else 0
        insurance_paid = sum(x.paid_cents for x in payments)
        responsibility = sum(owed.values())
        # the 835 posted the denied amount as the payer's adjustment (CO: contractual); billed to the patient,
        # it is taken off the adjustments so that the line still adds up to its charge
        contractual = max(await ledger.contractual(chain[-1], [x.id for x in payments]) - transferred, 0)
        visits.append(
            {
                "claim_id": claim_id,
                "service_date": first.service_from.isoformat() if first and first.service_from else None,
                "charge_cents": charge,
                "insurance_paid_cents": insurance_paid,
                "contractual_adjustment_cents": contractual,
                # what is neither paid, written off by contract, nor owed by the patient: other payers'
                # adjustments (a secondary's write-off), so that the line adds up to its charge
                "other_adjustment_cents": charge - insurance_paid - contractual - responsibility,
                "patient_responsibility_cents": owed,
                "patient_paid_cents": paid,
                "balance_cents": visit_balance,
            }
        )
        if visit_balance > 0:
            since = min(r.created_at for r in rows).date()
            aging[aging_bucket((as_of - since).days)] += visit_balance
    if on_account < 0:
        credit_off_youngest(aging, on_account)
    return {
        "account_id": account,
        "patient": {"last_name": name.last_name, "first_name": name.first_name} if name else None,
        "practice": {"name": practice.name, "address": practice.address, "phone": practice.phone},
        "statement_date": as_of.isoformat(),
        "due_date": (as_of + timedelta(days=21)).isoformat(),
        "visits": visits,
        "on_account_cents": on_account,
        "aging_cents": aging,
        "amount_due_cents": balance,
        "how_to_pay": [practice.pay_online, practice.pay_by_mail, f"Call {practice.phone} to pay by card."],
    }


@dataclass
class Run:
    run_id: str
    as_of: date
    issued: list[dict[str, Any]]  # id, account_id, amount_due_cents of each statement


async def run_statements(
    unit: Unit, as_of: date, practice: Practice, cycle: int | None = None, crossover_wait_days: int | None = None
) -> Run:
    """Statements for every account with a balance due by the end of ``as_of`` (on its cycle day, when given).
    With ``crossover_wait_days``, the late crossovers' patient shares are released first (they are due)."""
    if crossover_wait_days is not None:
        await release_late(unit, as_of, crossover_wait_days, datetime.now(UTC))
    owing = [
        a
        for a, total in await PatientRepository.of(unit).owing_before(end_of_day(as_of))
        if total > 0 and (cycle is None or cycle_day(a) == cycle)
    ]
    statements = StatementRepository.of(unit)
    run_id = new_id()
    now = datetime.now(UTC)
    issued = []
    for account in sorted(owing):
        doc = await statement_document(unit, account, as_of, practice)
        if doc is None:
            continue
        statement_id = new_id()
        doc["statement_id"] = statement_id
        await statements.add(
            id=statement_id,
            run_id=run_id,
            account_id=account,
            statement_date=as_of,
            amount_due_cents=doc["amount_due_cents"],
            document=doc,
            pdf=render_pdf(doc),
            created_at=now,
        )
        event = StatementIssuedV1(
            statement_id=statement_id,
            run_id=run_id,
            account_id=account,
            statement_date=as_of,
            amount_due_cents=doc["amount_due_cents"],
            due_date=date.fromisoformat(doc["due_date"]),
            visits=len(doc["visits"]),
        )
        await unit.emit(event, key=account)
        issued.append({"id": statement_id, "account_id": account, "amount_due_cents": doc["amount_due_cents"]})
    await statements.add_run(
        id=run_id,
        as_of=as_of,
        cycle_day=cycle,
        statements=len(issued),
        amount_due_cents=sum(i["amount_due_cents"] for i in issued),
        created_at=now,
    )
    return Run(run_id, as_of, issued)


async def statements(unit: Unit, account_id: str | None, run_id: str | None, limit: int, offset: int) -> list[Any]:
    return await StatementRepository.of(unit).summaries(account_id, run_id, limit, offset)


async def statement(unit: Unit, statement_id: str) -> Any:
    row = await StatementRepository.of(unit).get(statement_id)
    if row is None:
        raise NotFound(f"no statement {statement_id}", title="Not Found")
    return row
