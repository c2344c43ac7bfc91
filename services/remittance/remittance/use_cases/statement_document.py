"""One patient statement as a document (the JSON kept and served, and what the PDF prints): the practice's
header, where it is mailed, each visit in words with its provider and money, what is still with insurance
(not due), the balance due and its aging, how to pay, and the remittance coupon.

A visit is a claim and the claims before it (a secondary's primary, a replacement's original): one visit,
several payers. Its services are the lines first billed, each in the practice's words (``service_label``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from rcm_shared.unit import Unit

from remittance.domain.mailing import Mailing
from remittance.domain.patients import AGING, aging_bucket, credit_off_youngest, end_of_day, service_label
from remittance.domain.posting import PATIENT_TRANSFER, PATIENT_TYPES
from remittance.domain.practice import Practice
from remittance.repository.billed import BilledRepository
from remittance.repository.ledger import LedgerRepository
from remittance.repository.patients import PatientRepository
from remittance.use_cases.patient_ledger import pending_with_insurance

DUE_IN_DAYS = 21
CHAIN_LIMIT = 5  # claims followed back from one visit's latest (a loop in the links stops earlier)


async def _chain(unit: Unit, claim_id: str) -> list[str]:
    """The claim and the claims before it (a secondary's primary): one visit, several payers."""
    out = [claim_id]
    billed = BilledRepository.of(unit)
    while len(out) < CHAIN_LIMIT:
        prior = await billed.original_of(out[-1])
        if not prior or prior in out:
            break
        out.append(prior)
    return out


async def _described(unit: Unit, chain: list[str]) -> dict[str, Any]:
    """What a visit is, in words: its first date of service, provider, services (the lines first billed)
    and a label made of them; never the claim id alone."""
    billed = BilledRepository.of(unit)
    first, latest = await billed.visit(chain[-1]), await billed.visit(chain[0])
    lines_by_claim = await billed.billed([chain[-1], chain[0]])
    lines = lines_by_claim.get(chain[-1]) or lines_by_claim.get(chain[0]) or []
    services = [
        {
            "service_date": line.service_date.isoformat() if line.service_date else None,
            "procedure_code": line.procedure_code,
            "description": line.description,
            "label": service_label(line.procedure_code, line.description),
            "charge_cents": line.charge_cents,
        }
        for line in sorted(lines, key=lambda line: line.id)
    ]
    provider = next((v.provider_name for v in (latest, first) if v is not None and v.provider_name), None)
    service_from = first.service_from if first and first.service_from else None
    return {
        "claim_id": chain[0],  # for the office's reference; the patient reads the label
        "label": "; ".join(dict.fromkeys(s["label"] for s in services)) or "Medical services",
        "provider_name": provider,
        "service_date": service_from.isoformat() if service_from else None,
        "services": services,
        "charge_cents": first.charge_cents if first else 0,
    }


async def _insurance_of(unit: Unit, chain: list[str], cutoff: datetime) -> tuple[int, int, list[str]]:
    """What the visit's payers paid by ``cutoff``, the contractual adjustment of its first payer's payments,
    and those payments' ids."""
    ledger = LedgerRepository.of(unit)
    payments = await ledger.paid_before(chain, cutoff)
    ids = [x.id for x in payments]
    return sum(x.paid_cents for x in payments), await ledger.contractual(chain[-1], ids), ids


async def _pending(unit: Unit, account: str, cutoff: datetime, shown: set[str]) -> list[dict[str, Any]]:
    """The visits still with insurance (a payer has not answered, or a next payer has yet to): not due from
    the patient, shown apart. One entry per visit (a primary and its secondary are one); visits shown as due
    already are left out."""
    by_visit: dict[str, list[str]] = {}
    for claim_id in await pending_with_insurance(unit, account):
        chain = await _chain(unit, claim_id)
        if chain[-1] in shown:
            continue
        if len(chain) > len(by_visit.get(chain[-1], [])):  # the latest claim of the visit speaks for it
            by_visit[chain[-1]] = chain
    out = []
    for chain in by_visit.values():
        visit = await _described(unit, chain)
        paid, contractual, _ids = await _insurance_of(unit, chain, cutoff)
        visit["insurance_paid_cents"] = paid
        visit["contractual_adjustment_cents"] = contractual
        visit["awaiting_insurance_cents"] = max(visit["charge_cents"] - paid - contractual, 0)
        out.append(visit)
    return sorted(out, key=lambda v: (v["service_date"] or "", v["claim_id"]))


async def statement_document(
    unit: Unit, account: str, as_of: date, practice: Practice, mailing: Mailing
) -> dict[str, Any] | None:
    """The statement of one account as of a date, or None when the account owed nothing by then.

    Only what was posted by the end of ``as_of`` counts (patient entries, payers' payments and contractual
    adjustments): a statement as of an earlier date shows the account as it stood then, never a balance
    younger than its own date. What is still with insurance is as the run finds it.
    """
    cutoff = end_of_day(as_of)
    patients = PatientRepository.of(unit)
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
    shown: set[str] = set()
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
        shown.add(chain[-1])
        visit = await _described(unit, chain)
        charge = visit["charge_cents"]
        insurance_paid, contractual, _ids = await _insurance_of(unit, chain, cutoff)
        responsibility = sum(owed.values())
        # the 835 posted the denied amount as the payer's adjustment (CO: contractual); billed to the patient,
        # it is taken off the adjustments so that the line still adds up to its charge
        contractual = max(contractual - transferred, 0)
        visit.update(
            {
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
        visits.append(visit)
        if visit_balance > 0:
            since = min(r.created_at for r in rows).date()
            aging[aging_bucket((as_of - since).days)] += visit_balance
    if on_account < 0:
        credit_off_youngest(aging, on_account)
    pending = await _pending(unit, account, cutoff, shown)
    patient = {"last_name": name.last_name, "first_name": name.first_name} if name else None
    due_date = (as_of + timedelta(days=DUE_IN_DAYS)).isoformat()
    return {
        "account_id": account,
        "patient": patient,
        "practice": {
            "name": practice.name,
            "address": list(practice.address),
            "phone": practice.phone,
            "pay_online": practice.pay_online,
            "pay_by_mail": practice.pay_by_mail,
            "remit_to": list(practice.remit_to),
            "from_profile": practice.from_profile,
        },
        "mailing": {
            "mailable": mailing.mailable,
            "recipient": mailing.address.recipient if mailing.address else None,
            "address": list(mailing.address.lines) if mailing.address else [],
            "problem": mailing.problem,
        },
        "statement_date": as_of.isoformat(),
        "due_date": due_date,
        "visits": sorted(visits, key=lambda v: (v["service_date"] or "", v["claim_id"])),
        "insurance_pending": pending,
        "insurance_pending_cents": sum(v["awaiting_insurance_cents"] for v in pending),
        "on_account_cents": on_account,
        "aging_cents": aging,
        "amount_due_cents": balance,
        "how_to_pay": practice.how_to_pay(),
        "coupon": {
            "account_id": account,
            "patient_name": " ".join(x for x in (name.first_name, name.last_name) if x) if name else None,
            "statement_date": as_of.isoformat(),
            "due_date": due_date,
            "amount_due_cents": balance,
            "payable_to": practice.name,
            "remit_to": list(practice.remit_to),
        },
    }
