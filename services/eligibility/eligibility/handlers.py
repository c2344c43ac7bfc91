"""Use cases of the eligibility service: a real-time check (270 out, 271 in) and ingesting a raw 271."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from rcm_shared.audit import AuditEntry, append_many
from rcm_shared.bus.outbox import Outbox, staged
from rcm_shared.db import GroupCommit, bulk_insert, per_engine, read_connection
from rcm_shared.ids import new_id
from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.x12.control import ControlBlocks
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.sets.x270 import EligibilityResponse, Inquiry, Member, build_270, read_271
from rcm_shared.x12.writer import MemoryControlNumbers, writer_for
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eligibility.api.schemas import CheckCreate
from eligibility.clearinghouse import AdapterError, Failover, Refused
from eligibility.config import EligibilitySettings
from eligibility.domain.normalize import normalize
from eligibility.models import audit as audit_table
from eligibility.models import bus, control_number, eligibility_check

SOURCE = "/eligibility"
CONTROL_KINDS = ("ISA", "GS", "ST")


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


_c = eligibility_check.c
# Built once: a statement built per request spent more CPU on SQLAlchemy's expression building and cache
# key than the query itself took.
_CACHED = (
    select(eligibility_check)
    .where(
        _c.tenant_id == bindparam("tenant"),
        _c.payer_id == bindparam("payer"),
        _c.member_id == bindparam("member"),
        _c.service_date == bindparam("service_date"),
        _c.service_types == bindparam("service_types"),
        _c.status == "active",
        _c.created_at >= bindparam("since"),
    )
    .order_by(_c.created_at.desc())
    .limit(1)
)


AnswerKey = tuple[str, str, str, date, str]
"""What an answer is reused for: tenant, payer, member, date of service, service types (as stored)."""


def _key_of(row: Any) -> AnswerKey:
    return (row.tenant_id, row.payer_id, row.member_id, row.service_date, row.service_types)


class RecentAnswers:
    """The process's recent active answers by what they answer (``AnswerKey``): asking again within the
    TTL is answered from memory, without a database connection (a read connection and the lookup were about
    a fifth of a cached check's CPU). Bounded: the least recently used go first.

    A miss reads the database, where every process's answers are; rows are never changed once stored, so
    a remembered row is the stored one. As in the database lookup the newest active answer wins - among
    those this process has seen: another API process's newer answer is not seen here until this one's
    expires (both are within the TTL)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._rows: OrderedDict[AnswerKey, Any] = OrderedDict()

    def get(self, key: AnswerKey, since: datetime) -> Any | None:
        row = self._rows.get(key)
        if row is None:
            return None
        if row.created_at < since:
            del self._rows[key]
            return None
        self._rows.move_to_end(key)
        return row

    def put(self, row: Any) -> None:
        if row.status != "active":
            return
        key = _key_of(row)
        held = self._rows.get(key)
        if held is None or held.created_at <= row.created_at:
            self._rows[key] = row
        self._rows.move_to_end(key)
        if len(self._rows) > self._size:
            self._rows.popitem(last=False)

    @classmethod
    def of(cls, engine: AsyncEngine) -> RecentAnswers:
        return per_engine(engine, "recent-answers", cls)


async def _cached(engine: AsyncEngine, tenant: str, body: CheckCreate, ttl: int) -> Any | None:
    since = datetime.now(UTC) - timedelta(seconds=ttl)
    key = (tenant, body.payer_id, body.subscriber.member_id, body.service_date, " ".join(body.service_types))
    recent = RecentAnswers.of(engine)
    if (row := recent.get(key, since)) is not None:
        return row
    params = dict(zip(("tenant", "payer", "member", "service_date", "service_types"), key, strict=True), since=since)
    async with read_connection(engine) as conn:
        row = (await conn.execute(_CACHED, params)).first()
    if row is not None:
        recent.put(row)
    return row


async def _interchange(engine: AsyncEngine, settings: EligibilitySettings, body: CheckCreate, trace: str) -> str:
    inquiry = Inquiry(
        payer_name=body.payer_name.upper(),
        payer_id=body.payer_id,
        provider_name=body.provider.name.upper(),
        provider_npi=body.provider.npi,
        subscriber=Member(
            body.subscriber.last_name.upper(),
            body.subscriber.first_name.upper(),
            member_id=body.subscriber.member_id,
            birth_date=body.subscriber.birth_date,
            sex=body.subscriber.sex,
        ),
        trace_number=trace,
        trace_originator="9" + settings.submitter_id[:9].ljust(9, "0"),
        service_date=body.service_date,
        service_date_end=body.service_date_end,
        service_types=body.service_types,
        dependent=Member(
            body.dependent.last_name.upper(),
            body.dependent.first_name.upper(),
            birth_date=body.dependent.birth_date,
            sex=body.dependent.sex,
        )
        if body.dependent
        else None,
        provider_is_person=body.provider.first_name is not None,
        provider_first=body.provider.first_name.upper() if body.provider.first_name else None,
    )
    ts = build_270([inquiry], reference=trace[:30], created=datetime.now(UTC).date())
    blocks = per_engine(engine, "eligibility-controls", lambda: ControlBlocks(engine, control_number, CONTROL_KINDS))
    drawn = await blocks.take()
    numbers = MemoryControlNumbers({kind: value - 1 for kind, value in drawn.items()})
    writer = writer_for(
        ts, sender=settings.submitter_id, receiver=settings.receiver_id, numbers=numbers, usage=settings.usage_indicator
    )
    return writer.render([ts])


def pick(responses: list[EligibilityResponse], member_id: str) -> EligibilityResponse:
    for r in responses:
        if (r.subscriber and r.subscriber.member_id == member_id) or r.subscriber is None:
            return r
    if responses:
        return responses[0]
    raise X12Error("the 271 answers no inquiry (no information source or subscriber loop)", code="structure")


async def run_check(
    engine: AsyncEngine,
    settings: EligibilitySettings,
    failover: Failover,
    tenant: str,
    body: CheckCreate,
    audit: AuditEntry | None = None,
) -> CheckResult:
    """A check answered from a recent answer, or a 270 to the payer and its 271 stored. ``audit``: the
    request's audit row for a new check, committed with the check's rows (``rcm_shared.web.audit_entry``)."""
    hit = await _cached(engine, tenant, body, settings.cache_ttl_s)
    if hit is not None:
        return CheckResult(hit, cached=True)
    check_id = new_id()
    x12_270 = await _interchange(engine, settings, body, check_id.replace("-", "")[:30])
    try:
        source, x12_271 = await failover.exchange(x12_270)
    except Refused as exc:
        raise CheckRefused(exc.clearinghouse, exc.status, exc.reason.strip()) from exc
    except AdapterError as exc:
        raise PayerUnavailable(str(exc)) from exc
    responses = list(read_271(x12_271.encode(), lenient_envelope=True))
    response = pick(responses, body.subscriber.member_id)
    rows = _rows(
        settings,
        tenant,
        check_id,
        response,
        source=source,
        request=body.model_dump(mode="json"),
        x12_270=x12_270,
        x12_271=x12_271,
        member_id=body.subscriber.member_id,
        service_date=body.service_date,
        service_types=body.service_types,
        npi=body.provider.npi,
    )
    # Stored with what other requests of this process write meanwhile (checks, audit rows): one write
    # transaction for all of them (on SQLite one writer at a time; a transaction per check capped the API at
    # ~100 checks/s).
    if audit is None:
        row = await GroupCommit.of(engine).submit(_insert, rows)
    else:
        row = await GroupCommit.of(engine).submit(_insert_audited, (rows, audit))
    RecentAnswers.of(engine).put(row)  # committed
    return CheckResult(row, cached=False)


async def ingest_271(conn: AsyncConnection, settings: EligibilitySettings, tenant: str, text: str) -> list[Any]:
    """A raw 271 (e.g. from a batch or a payer portal): each subscriber/dependent answer becomes a check."""
    checks = []
    for r in read_271(text.encode(), lenient_envelope=True):
        member = r.member
        member_id = (member.member_id if member else None) or (r.subscriber.member_id if r.subscriber else None) or ""
        service_date = next(
            (start for q, start, _end in r.dates if q in ("291", "307", "472")), datetime.now(UTC).date()
        )
        checks.append(
            _rows(
                settings,
                tenant,
                new_id(),
                r,
                source="ingested",
                request={},
                x12_270=None,
                x12_271=text,
                member_id=member_id,
                service_date=service_date,
                service_types=sorted({st for b in r.benefits for st in b.service_types}) or ["30"],
                npi=r.provider_id[:10],
            )
        )
    if not checks:
        raise X12Error("the 271 holds no eligibility answer", code="structure")
    return list(await _insert(conn, checks))


@dataclass
class CheckRows:
    """What one check stores: its row and its event's outbox row."""

    check: dict[str, Any]
    outbox: dict[str, Any]


def _rows(
    settings: EligibilitySettings,
    tenant: str,
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
) -> CheckRows:
    result = normalize(response)
    values = {
        "id": check_id,
        "tenant_id": tenant,
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
    outbox = Outbox(bus, settings.kafka.topic_prefix)
    return CheckRows(values, outbox.row(*staged(payload, source=SOURCE, tenant_id=tenant, key=check_id)))


async def _insert_audited(conn: AsyncConnection, items: list[tuple[CheckRows, AuditEntry]]) -> Sequence[Any]:
    """``_insert``, and the requests' audit rows in the same transaction."""
    stored = await _insert(conn, [rows for rows, _entry in items])
    await append_many(conn, audit_table, [entry for _rows, entry in items])
    return stored


async def _insert(conn: AsyncConnection, checks: list[CheckRows]) -> Sequence[Any]:
    """The checks' rows and their events, in one statement per table; the stored rows, in order (as the
    values written: every column is given, none is changed by the database)."""
    await bulk_insert(conn, eligibility_check, [c.check for c in checks])
    await bulk_insert(conn, bus.outbox, [c.outbox for c in checks])
    return [SimpleNamespace(**c.check) for c in checks]
