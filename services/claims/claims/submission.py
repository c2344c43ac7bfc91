"""Submission: ready claims -> 837 interchanges per payer and claim type -> a clearinghouse adapter.

Building and recording happen in the caller's transaction (claims move to submitted, the 837 is kept);
delivery happens after the commit and is retried by the worker until it succeeds, so a crash never
loses a submission (a clearinghouse drops a resent interchange by its ISA13).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from rcm_shared.db import filter_only, per_engine
from rcm_shared.errors import NotFound
from rcm_shared.ids import new_id
from rcm_shared.x12.control import ControlBlocks, next_controls
from rcm_shared.x12.control import next_control as shared_next_control
from rcm_shared.x12.sets.x837 import Receiver, Submitter, build_837
from rcm_shared.x12.writer import MemoryControlNumbers, TransactionSet, writer_for
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from claims.config import ClaimsSettings
from claims.domain import state as st
from claims.domain.encounter import ClaimCreate
from claims.handlers import Actor, ClaimsUnit, billed_lines, record_status
from claims.models import claim, control_number, submission
from claims.x12 import to_837


class DeliveryError(RuntimeError):
    pass


class Adapter(Protocol):
    name: str

    async def deliver(self, submission_id: str, x12: str) -> tuple[str, str | None]:
        """Send an interchange; returns (destination, an immediate response such as a 999, or None)."""
        ...


@dataclass
class FiledropAdapter:
    """Files into an outbound folder; acknowledgments come back through the inbound folder."""

    folder: Path
    name: str = "filedrop"

    async def deliver(self, submission_id: str, x12: str) -> tuple[str, str | None]:
        def write() -> str:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{submission_id}.x12"
            # a temporary name of its own: two deliveries of one submission (the API's, the worker's retry)
            # never share it; the clearinghouse takes only *.x12 files
            tmp = self.folder / f".{submission_id}.{uuid.uuid4().hex}.part"
            tmp.write_text(x12)
            os.replace(tmp, target)  # atomic: a reader never sees half a file
            return str(target)

        return await asyncio.to_thread(write), None


@dataclass
class HttpAdapter:
    """POSTs the interchange to a clearinghouse endpoint, which answers with a 999."""

    url: str
    timeout: float = 10.0
    name: str = "http"
    transport: httpx.AsyncBaseTransport | None = None  # tests plug a transport in; production uses the network

    async def deliver(self, submission_id: str, x12: str) -> tuple[str, str | None]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.post(
                    self.url, content=x12.encode(), headers={"content-type": "application/edi-x12"}
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.url}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"{self.url} answered {response.status_code}: {response.text[:300]}")
        return self.url, response.text or None


def adapter_for(settings: ClaimsSettings) -> Adapter:
    if settings.clearinghouse_adapter == "sandbox":
        return HttpAdapter(settings.sandbox_url, settings.clearinghouse_timeout_s, name="sandbox")
    if settings.clearinghouse_adapter == "http":
        if not settings.clearinghouse_url:
            raise ValueError("CLAIMS_CLEARINGHOUSE_URL is required with the http adapter")
        return HttpAdapter(settings.clearinghouse_url, settings.clearinghouse_timeout_s)
    if settings.clearinghouse_adapter == "filedrop":
        return FiledropAdapter(settings.outbound_path())
    raise ValueError(f"unknown clearinghouse adapter {settings.clearinghouse_adapter!r}")


async def next_control(conn: AsyncConnection, kind: str) -> int:
    return await shared_next_control(conn, control_number, kind)


INTERCHANGE = ("ISA", "GS", "ST")


async def interchange_numbers(conn: AsyncConnection) -> tuple[int, int, int]:
    """The ISA, GS and ST numbers of one outgoing interchange. On PostgreSQL they come from this process's
    block, reserved in a short transaction of its own: drawn in the submission's transaction, they held the
    control-number rows locked until it committed, and concurrent submissions queued behind each other
    (0.6-1.3 s of statement time per 6,000-claim pipeline run, mostly lock waits, measured). A block not
    used up is skipped (X12 asks for unique numbers, not consecutive ones). SQLite has one writer at a
    time: drawn in the transaction."""
    if conn.dialect.name == "sqlite":
        numbers = await next_controls(conn, control_number, INTERCHANGE)
    else:
        engine = conn.engine
        blocks = per_engine(
            engine, "claims-interchange-numbers", lambda: ControlBlocks(engine, control_number, INTERCHANGE)
        )
        numbers = await blocks.take()
    return numbers["ISA"], numbers["GS"], numbers["ST"]


@dataclass
class Prepared:
    submission_id: str
    payer_id: str
    claim_ids: list[str]
    x12: str


@dataclass(frozen=True)
class Held:
    """A ready claim that could not be built into an 837: back to draft, with the reason in its edits."""

    claim_id: str
    reason: str


# The edit a claim carries when its 837 cannot be built (a void without the payer's claim number, ...).
UNBUILDABLE = "SUB001"
HELD_REASON = "held back from submission: the 837 cannot be built (see the claim's edits)"


async def hold(unit: ClaimsUnit, row: Any, reason: str, actor: Actor) -> Held:
    """Back to draft with the reason as an error edit: the claim leaves the batch, the others go. The
    history and the event say only that it was held (the reason may quote the claim's data)."""
    edit = {"rule": UNBUILDABLE, "severity": "error", "field": "claim", "message": reason}
    edits = [e for e in row.edits or [] if e.get("rule") != UNBUILDABLE] + [edit]
    await unit.transition(row, st.DRAFT, actor, reason=HELD_REASON, values={"edits": edits})
    return Held(row.id, reason)


def _build(claims: list[Any], settings: ClaimsSettings, reference: str, now: datetime, kind: str) -> Any:
    return build_837(
        claims,
        submitter=Submitter(
            settings.submitter_name, settings.submitter_id, settings.submitter_contact, settings.submitter_phone
        ),
        receiver=Receiver(settings.receiver_name, settings.receiver_id),
        reference=reference,
        created=now.date(),
        kind="P" if kind == "P" else "I",
    )


async def prepare(
    unit: ClaimsUnit,
    settings: ClaimsSettings,
    claim_ids: list[str] | None,
    actor: Actor,
    adapter_name: str,
    held: list[Held] | None = None,
) -> list[Prepared]:
    """Group ready claims by payer and type into 837 interchanges; claims move to submitted. Each claim is
    built on its own merits: one that cannot be built is held (``hold``, appended to ``held``) and the rest
    of its batch goes."""
    held = [] if held is None else held
    c = claim.c
    cond = [c.tenant_id == unit.tenant, c.state == st.READY]
    if claim_ids is not None:
        stmt = select(claim).where(and_(filter_only(c.tenant_id) == unit.tenant, c.id.in_(claim_ids)))
        if unit.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        found = {r.id: r for r in await unit.conn.execute(stmt)}
        missing = [cid for cid in claim_ids if cid not in found]
        if missing:
            raise NotFound(f"no claim {missing[0]}")
        rows = [found[cid] for cid in dict.fromkeys(claim_ids)]
        for row in rows:
            if row.state != st.READY:
                raise st.IllegalTransition(row.state, st.SUBMITTED)
    else:
        rows = list(await unit.conn.execute(select(claim).where(and_(*cond)).order_by(c.created_at)))
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.payer_id, row.kind), []).append(row)
    prepared: list[Prepared] = []
    now = datetime.now(UTC)
    for (payer_id, kind), candidates in groups.items():
        docs: dict[str, ClaimCreate] = {}
        built: dict[str, Any] = {}
        members = []
        for r in candidates:
            try:
                docs[r.id] = ClaimCreate.model_validate(r.document)
                built[r.id] = to_837(
                    docs[r.id],
                    claim_id=r.id,
                    frequency=r.frequency,
                    payer_claim_control_number=r.payer_claim_control_number,
                )
            except (ValueError, TypeError) as exc:
                held.append(await hold(unit, r, str(exc), actor))
                continue
            members.append(r)
        if not members:
            continue
        isa, gs, st_number = await interchange_numbers(unit.conn)
        try:
            ts = _build([built[r.id] for r in members], settings, f"{gs:09d}", now, kind)
        except (ValueError, TypeError):
            # some claim of the group cannot be written: find it (them) one by one, hold them, send the rest
            buildable = []
            for r in members:
                try:
                    _build([built[r.id]], settings, f"{gs:09d}", now, kind)
                except (ValueError, TypeError) as exc:
                    held.append(await hold(unit, r, str(exc), actor))
                    continue
                buildable.append(r)
            members = buildable
            if not members:
                continue  # the control numbers drawn are skipped: X12 asks for unique ones, not consecutive
            ts = _build([built[r.id] for r in members], settings, f"{gs:09d}", now, kind)
        sent = await _record_interchange(
            unit, settings, ts, (isa, gs, st_number), payer_id, [r.id for r in members], kind, adapter_name, now
        )
        values = {"submission_id": sent.submission_id, "submitted_at": now}
        await unit.conn.execute(
            update(claim)
            .where(and_(filter_only(c.tenant_id) == unit.tenant, c.id.in_([r.id for r in members])))
            .values(**values, state=st.SUBMITTED, updated_at=now)
        )
        reason = f"sent in interchange {isa:09d}"
        changes = [
            (
                {**r._mapping, **values, "state": st.SUBMITTED},
                st.READY,
                st.SUBMITTED,
                reason,
                {"lines": billed_lines(r.id, docs[r.id])},
            )
            for r in members
        ]
        await unit.record(changes, actor)
        prepared.append(sent)
    return prepared


async def _record_interchange(
    unit: ClaimsUnit,
    settings: ClaimsSettings,
    ts: TransactionSet,
    controls: tuple[int, int, int],
    payer_id: str,
    claim_ids: list[str],
    kind: str,
    adapter: str,
    now: datetime,
) -> Prepared:
    """The interchange carrying ``ts`` under the control numbers drawn (ISA, GS, first ST), recorded as a
    pending submission for the claims; a claim batch (837) asks for a 999, a status inquiry (276) does not."""
    isa, gs, st_number = controls
    writer = writer_for(
        ts,
        sender=settings.submitter_id,
        receiver=settings.receiver_id,
        numbers=MemoryControlNumbers({"ISA": isa - 1, "GS": gs - 1, "ST": st_number - 1}),
        usage=settings.usage_indicator,
        ack_requested=ts.set_id == "837",
    )
    text = writer.render([ts])
    submission_id = new_id()
    await unit.conn.execute(
        insert(submission).values(
            id=submission_id,
            tenant_id=unit.tenant,
            payer_id=payer_id,
            kind=kind,
            adapter=adapter,
            interchange_control=f"{isa:09d}",
            group_control=str(gs),
            transaction_control=writer.st_controls[0],
            claim_count=len(claim_ids),
            x12=text,
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    return Prepared(submission_id, payer_id, claim_ids, text)


async def mark_delivery(conn: AsyncConnection, submission_id: str, destination: str | None, error: str | None) -> None:
    now = datetime.now(UTC)
    values: dict[str, Any] = {"attempts": submission.c.attempts + 1}
    if error is None:
        values |= {"status": "delivered", "delivered_at": now, "destination": destination, "last_error": None}
    else:
        values["last_error"] = error[:2000]
    await conn.execute(update(submission).where(submission.c.id == submission_id).values(**values))


async def hold_for_caller(conn: AsyncConnection, prepared: Sequence[Prepared], seconds: float) -> None:
    """The caller (an API request) delivers these itself right after its commit: the worker leaves them
    alone for ``seconds``, then retries any still pending (the request failed or its process died)."""
    if prepared and seconds > 0:
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        ids = [p.submission_id for p in prepared]
        await conn.execute(update(submission).where(submission.c.id.in_(ids)).values(deliver_after=until))


async def pending_submissions(conn: AsyncConnection, *, now: datetime | None = None, limit: int = 20) -> list[Any]:
    s = submission.c
    rows = await conn.execute(
        select(s.id, s.tenant_id, s.x12)
        .where(
            and_(s.status == "pending", or_(s.deliver_after.is_(None), s.deliver_after <= (now or datetime.now(UTC))))
        )
        .order_by(submission.c.created_at)
        .limit(limit)
    )
    return list(rows)


async def prepare_status_inquiry(unit: ClaimsUnit, settings: ClaimsSettings, claim_id: str) -> Prepared:
    """A 276 claim status inquiry for one submitted claim, recorded like a submission (kind 'S')."""
    from rcm_shared.x12.sets.x276 import StatusInquiry, build_276

    row = await unit.get(claim_id)
    if row.submitted_at is None:
        raise st.IllegalTransition(row.state, "status inquiry")
    doc = ClaimCreate.model_validate(row.document)
    patient = doc.patient
    inquiry = StatusInquiry(
        payer_name=doc.payer.name.upper(),
        payer_id=doc.payer.payer_id,
        submitter_name=settings.submitter_name,
        submitter_id=settings.submitter_id,
        provider_name=doc.billing_provider.name.upper(),
        provider_npi=doc.billing_provider.npi,
        subscriber_last=doc.subscriber.last_name.upper(),
        subscriber_first=doc.subscriber.first_name.upper() if doc.subscriber.first_name else None,
        member_id=doc.subscriber.member_id,
        trace_number=f"{claim_id}-{await next_control(unit.conn, 'TRN276')}",
        claim_id=claim_id,
        total_charge=doc.total_charge,
        service_date=doc.service_from,
        service_date_end=doc.service_to if doc.service_to != doc.service_from else None,
        payer_claim_control_number=row.payer_claim_control_number,
        subscriber_birth_date=None if patient else doc.subscriber.birth_date,
        subscriber_sex=None if patient else doc.subscriber.sex,
        patient_last=patient.last_name.upper() if patient else None,
        patient_first=patient.first_name.upper() if patient and patient.first_name else None,
        patient_birth_date=patient.birth_date if patient else None,
        patient_sex=patient.sex if patient else None,
    )
    now = datetime.now(UTC)
    isa, gs, st_number = await interchange_numbers(unit.conn)
    ts = build_276([inquiry], reference=f"{gs:09d}", created=now.date())
    sent = await _record_interchange(
        unit, settings, ts, (isa, gs, st_number), doc.payer.payer_id, [claim_id], "S", "", now
    )
    await record_status(unit, claim_id, "276", f"status inquiry sent (trace {inquiry.trace_number})", [])
    return sent
