"""Patient statements: for every account with a balance due (on its cycle day), as of a date, each with the
tenant's own header and mailed to the address claims has for the patient (``statement_document``).

A run over the API (``produce_statements``) goes in three steps: the late crossovers' patient shares are
released (due from this run on), the accounts that owe are read and their mailing addresses asked of claims
outside any transaction (a slow claims API holds no database lock), then the statements are written in one
transaction. A statement whose address is unknown is produced all the same, flagged not mailable, and the
run lists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.ids import new_id
from rcm_shared.payloads.remittance import StatementIssuedV1
from rcm_shared.unit import Actor, Unit, Units

from remittance.adapters.claims_api import AddressBook
from remittance.adapters.statement_pdf import render_pdf
from remittance.domain.mailing import Mailing
from remittance.domain.patients import cycle_day, end_of_day
from remittance.domain.practice import Practice
from remittance.repository.billed import BilledRepository
from remittance.repository.patients import PatientRepository
from remittance.repository.statements import StatementRepository
from remittance.use_cases.crossovers import release_late
from remittance.use_cases.practice import practice_of
from remittance.use_cases.statement_document import statement_document

CLAIMS_PER_ACCOUNT = 3  # an account's newest claims asked for its address, in turn, until one has it
NOT_LOOKED_UP = "the mailing address was not looked up (the account came to owe during the run)"


@dataclass
class Run:
    run_id: str
    as_of: date
    issued: list[dict[str, Any]]  # id, account_id, amount_due_cents of each statement
    not_mailable: list[dict[str, Any]] = field(default_factory=list)  # statement_id, account_id, reason


async def owing(unit: Unit, as_of: date, cycle: int | None) -> list[str]:
    """The accounts with a balance due by the end of ``as_of`` (on their cycle day, when given)."""
    return sorted(
        a
        for a, total in await PatientRepository.of(unit).owing_before(end_of_day(as_of))
        if total > 0 and (cycle is None or cycle_day(a) == cycle)
    )


async def run_statements(
    unit: Unit,
    as_of: date,
    practice: Practice,
    cycle: int | None = None,
    crossover_wait_days: int | None = None,
    mailings: Mapping[str, Mailing] | None = None,
) -> Run:
    """Statements for every account with a balance due by the end of ``as_of`` (on its cycle day, when given),
    headed with the tenant's practice (``practice``: the settings', for a tenant without a profile) and
    mailed to ``mailings`` (an account not in it: not mailable). With ``crossover_wait_days``, the late
    crossovers' patient shares are released first (they are due)."""
    if crossover_wait_days is not None:
        await release_late(unit, as_of, crossover_wait_days, datetime.now(UTC))
    header = await practice_of(unit, practice, as_of)
    statements = StatementRepository.of(unit)
    run = Run(new_id(), as_of, [])
    now = datetime.now(UTC)
    for account in await owing(unit, as_of, cycle):
        mailing = (mailings or {}).get(account) or Mailing(None, NOT_LOOKED_UP)
        doc = await statement_document(unit, account, as_of, header, mailing)
        if doc is None:
            continue
        statement_id = new_id()
        doc["statement_id"] = statement_id
        await statements.add(
            id=statement_id,
            run_id=run.run_id,
            account_id=account,
            statement_date=as_of,
            amount_due_cents=doc["amount_due_cents"],
            document=doc,
            pdf=render_pdf(doc),
            created_at=now,
        )
        event = StatementIssuedV1(
            statement_id=statement_id,
            run_id=run.run_id,
            account_id=account,
            statement_date=as_of,
            amount_due_cents=doc["amount_due_cents"],
            due_date=date.fromisoformat(doc["due_date"]),
            visits=len(doc["visits"]),
        )
        await unit.emit(event, key=account)
        run.issued.append({"id": statement_id, "account_id": account, "amount_due_cents": doc["amount_due_cents"]})
        if not mailing.mailable:
            run.not_mailable.append({"statement_id": statement_id, "account_id": account, "reason": mailing.problem})
    await statements.add_run(
        id=run.run_id,
        as_of=as_of,
        cycle_day=cycle,
        statements=len(run.issued),
        amount_due_cents=sum(i["amount_due_cents"] for i in run.issued),
        created_at=now,
    )
    return run


async def produce_statements(
    units: Units,
    tenant: str,
    actor: Actor,
    as_of: date,
    practice: Practice,
    addresses: AddressBook,
    cycle: int | None = None,
    crossover_wait_days: int | None = None,
) -> Run:
    """A statement run with the patients' mailing addresses asked of claims (the module's three steps)."""
    if crossover_wait_days is not None:
        async with units.write(tenant, actor) as unit:
            await release_late(unit, as_of, crossover_wait_days, datetime.now(UTC))
    async with units.read(tenant) as unit:
        accounts = await owing(unit, as_of, cycle)
        claims = await BilledRepository.of(unit).newest_claims(accounts, CLAIMS_PER_ACCOUNT) if accounts else {}
    mailings = await addresses.mailings(tenant, claims) if claims else {}
    async with units.write(tenant, actor) as unit:
        return await run_statements(unit, as_of, practice, cycle, mailings=mailings)


async def statements(unit: Unit, account_id: str | None, run_id: str | None, limit: int, offset: int) -> list[Any]:
    return await StatementRepository.of(unit).summaries(account_id, run_id, limit, offset)


async def statement(unit: Unit, statement_id: str) -> Any:
    row = await StatementRepository.of(unit).get(statement_id)
    if row is None:
        raise NotFound(f"no statement {statement_id}", title="Not Found")
    return row
