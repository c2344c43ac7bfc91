"""A real-time check: answered from a recent answer, or a 270 to the payer through the clearinghouses and its
271 stored, normalized and announced; and the checks read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rcm_shared.audit import AuditEntry
from rcm_shared.db import GroupCommit
from rcm_shared.errors import NotFound
from rcm_shared.ids import new_id
from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.unit import Actor, Unit, Units
from rcm_shared.x12.sets.x270 import EligibilityResponse

from eligibility.adapters.clearinghouses import AdapterError, Failover, Refused
from eligibility.adapters.x12 import answers, pick, render_270
from eligibility.config import EligibilitySettings
from eligibility.domain.inquiry import CheckCreate, asked_for
from eligibility.domain.normalize import normalize
from eligibility.repository import CheckQuery, EligibilityRepository, NewCheck, draw_control_numbers, store_checks
from eligibility.use_cases.cache import RecentAnswers, answer_key
from eligibility.use_cases.practice import provider_for

__all__ = [
    "CheckQuery",
    "CheckRefused",
    "CheckResult",
    "PayerUnavailable",
    "answer_of",
    "get_check",
    "list_checks",
    "new_check",
    "run_check",
    "search_checks",
]


class PayerUnavailable(RuntimeError):
    pass


class CheckRefused(RuntimeError):
    """The clearinghouse refused the check's 270 (4xx): the request must change before it is sent again."""

    def __init__(self, clearinghouse: str, status: int, reason: str) -> None:
        super().__init__(f"{clearinghouse} refused the 270 with {status}" + (f": {reason}" if reason else ""))
        self.clearinghouse, self.status = clearinghouse, status


@dataclass
class CheckResult:
    row: Any
    cached: bool


async def run_check(
    units: Units,
    tenant: str,
    actor: Actor,
    settings: EligibilitySettings,
    failover: Failover,
    body: CheckCreate,
    audit: AuditEntry | None = None,
    *,
    patient_id: str | None = None,
    fhir_request: dict[str, Any] | None = None,
) -> CheckResult:
    """A check answered from a recent answer, or a 270 to the payer and its 271 stored. The 270 names the
    request's provider, else the tenant's billing provider (``provider_for``); a recent answer is reused whoever
    asked it. ``audit``: the request's audit row for a new check, committed with the check's rows
    (``rcm_shared.web.audit_entry``). ``patient_id``, ``fhir_request``: what a FHIR request said beyond the
    inquiry, kept with a new check (a reused answer keeps those of the check that asked it)."""
    since = datetime.now(UTC) - timedelta(seconds=settings.cache_ttl_s)
    key = answer_key(tenant, body)
    recent = RecentAnswers.of(units.engine)
    if (hit := recent.get(key, since)) is not None:
        return CheckResult(hit, cached=True)
    async with units.read(tenant, actor) as unit:  # a miss here: the database has every process's answers
        hit = await EligibilityRepository(unit).recent_answer(*key[1:], since)
        if hit is not None:
            recent.put(hit)
            return CheckResult(hit, cached=True)
        provider = await provider_for(unit, body)
    check_id = new_id()
    numbers = await draw_control_numbers(units.engine)
    x12_270 = render_270(settings, body, provider, check_id.replace("-", "")[:30], numbers)
    try:
        source, x12_271 = await failover.exchange(x12_270)
    except Refused as exc:
        raise CheckRefused(exc.clearinghouse, exc.status, exc.reason.strip()) from exc
    except AdapterError as exc:
        raise PayerUnavailable(str(exc)) from exc
    response = pick(answers(x12_271), body.subscriber.member_id)
    # The unit the check was asked in names its event (staged here, in the request's span); the rows go in
    # with what other requests of this process write meanwhile (checks, audit rows): one write transaction for
    # all of them (on SQLite one writer at a time).
    check = new_check(
        unit,
        check_id,
        response,
        source=source,
        request=body.model_dump(mode="json"),
        x12_270=x12_270,
        x12_271=x12_271,
        member_id=body.subscriber.member_id,
        service_date=body.service_date,
        service_types=body.service_types,
        npi=provider.npi,
        audit=audit,
        patient_id=patient_id,
        fhir_request=fhir_request,
        whose=key[-1],
    )
    row = await GroupCommit.of(units.engine).submit(store_checks, check)
    recent.put(row)  # committed
    return CheckResult(row, cached=False)


def _asked_for(response: EligibilityResponse) -> str:
    """An ingested answer is about the dependent the 271 names (a 2100D loop), else the subscriber; a 271 naming
    neither is reused for no question ("": no question's key)."""
    member = response.member
    return asked_for(member.last, member.first, member.birth_date) if member else ""


def new_check(
    unit: Unit,
    check_id: str,
    response: EligibilityResponse,
    *,
    source: str,
    request: dict[str, Any],
    x12_270: str | None,
    x12_271: str,
    member_id: str,
    service_date: Any,
    service_types: list[str],
    npi: str,
    audit: AuditEntry | None = None,
    patient_id: str | None = None,
    fhir_request: dict[str, Any] | None = None,
    whose: str | None = None,
) -> NewCheck:
    """A check's row and its ``eligibility.check_completed`` from the payer's answer, normalized. ``whose``:
    whom the question was about (its reuse key's ``asked_for``); None: whom the 271 answers about."""
    result = normalize(response)
    values = {
        "id": check_id,
        "tenant_id": unit.tenant,
        "payer_id": response.payer_id or request.get("payer_id", ""),
        "member_id": member_id,
        "provider_npi": npi,
        "service_date": service_date,
        "service_types": " ".join(service_types),
        "status": result.status,
        "source": source,
        "request": request,
        "normalized": result.as_json(),
        "x12_270": x12_270,
        "x12_271": x12_271,
        "reused_check_id": None,
        "created_at": datetime.now(UTC),
        # every row carries every column: the rows of one group commit go in as one statement
        "patient_id": patient_id,
        "fhir_request": fhir_request,
        "asked_for": _asked_for(response) if whose is None else whose,
    }
    payload = EligibilityCheckCompletedV1(
        check_id=check_id,
        payer_id=values["payer_id"],
        member_id=member_id,
        status=result.status,
        service_date=service_date,
        coverage_start=result.coverage_start,
        coverage_end=result.coverage_end,
        plan=result.plan,
        error_codes=[e["code"] for e in result.errors],
    )
    return NewCheck(values, unit.outbox.row(*unit.event(payload, check_id)), audit)


def answer_of(row: Any, member_id: str) -> EligibilityResponse:
    """The payer's answer a stored check holds, about the member asked for."""
    return pick(answers(row.x12_271), member_id)


async def get_check(unit: Unit, check_id: str) -> Any:
    row = await EligibilityRepository(unit).check(check_id)
    if row is None:
        raise NotFound(f"no eligibility check {check_id}")
    return row


async def search_checks(unit: Unit, query: CheckQuery) -> list[Any]:
    """The tenant's checks a search asks for (``CheckQuery``), newest first."""
    return await EligibilityRepository(unit).search(query)


async def list_checks(unit: Unit, member: str, payer: str | None, limit: int) -> list[Any]:
    """The member's checks, newest first (with one payer's only, given ``payer``)."""
    return await EligibilityRepository(unit).checks_of(member, payer, limit)
