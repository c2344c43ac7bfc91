"""Worker loops: deliver pending submissions (retrying until delivered) and read the acknowledgment folder."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from datetime import datetime
from pathlib import Path

from rcm_shared.db import read_connection, write_transaction
from rcm_shared.folders import FolderWatch
from rcm_shared.tracing import root_span
from rcm_shared.x12.errors import X12Error
from sqlalchemy.ext.asyncio import AsyncEngine

from claims.acks import ingest_ack
from claims.config import get_settings
from claims.follow_up import send_due_inquiries
from claims.handlers import Actor, ClaimsUnit
from claims.resources import default_resources
from claims.submission import DeliveryError, adapter_for, mark_delivery, pending_submissions

log = logging.getLogger(__name__)


async def deliver_pending(engine: AsyncEngine, *, now: datetime | None = None) -> int:
    """Deliver the pending submissions no API request is delivering (see ``hold_for_caller``): ones the
    worker prepared itself (resubmissions), ones whose request failed, or whose API process died."""
    async with read_connection(engine) as conn:
        pending = await pending_submissions(conn, now=now)
    delivered = 0
    for sub in pending:
        delivered += await deliver_one(engine, sub.id, sub.x12)
    return delivered


async def deliver_one(engine: AsyncEngine, submission_id: str, x12: str) -> bool:
    settings = get_settings()
    try:
        with root_span("deliver 837", **{"rcm.submission_id": submission_id}):
            destination, response = await adapter_for(settings).deliver(submission_id, x12)
        error = None
    except DeliveryError as exc:
        destination, response, error = None, None, str(exc)
    async with write_transaction(engine) as conn:
        await mark_delivery(conn, submission_id, destination, error)
        if response:
            path = settings.inbound_ack_path()
            path.mkdir(parents=True, exist_ok=True)
            (path / f"{submission_id}.999").write_text(response)  # read by the folder loop like any other ack
    return error is None


async def read_ack_folder(engine: AsyncEngine, folder: Path, topic_prefix: str) -> int:
    done = 0
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            with root_span("ingest acknowledgment file", **{"rcm.file": path.name}):
                async with write_transaction(engine) as conn:
                    # Acks carry no tenant: the folder belongs to the default tenant's clearinghouse account.
                    unit = ClaimsUnit(conn, get_settings().default_tenant, topic_prefix)
                    result = await ingest_ack(unit, path, Actor("clearinghouse"))
        except X12Error as exc:
            target = folder / "failed"
            target.mkdir(exist_ok=True)
            shutil.move(str(path), target / path.name)
            (target / (path.name + ".error.txt")).write_text(str(exc) + "\n")
            continue
        target = folder / "processed"
        target.mkdir(exist_ok=True)
        shutil.move(str(path), target / path.name)
        log.info(
            "acknowledgment read", extra={"file": path.name, "kind": result.kind, "count": len(result.claims_updated)}
        )
        done += 1
    return done


async def loop(stop: asyncio.Event, engine: AsyncEngine) -> None:
    settings = get_settings()
    folder = settings.inbound_ack_path()
    folder.mkdir(parents=True, exist_ok=True)
    next_sweep = time.monotonic() + min(settings.follow_up_interval_s, 60.0)  # not in the start-up rush
    # an acknowledgment landing in the folder wakes the loop at once; pending deliveries wait for the poll
    async with FolderWatch(folder, poll_seconds=settings.poll_seconds) as changes:
        while not stop.is_set():
            try:
                if settings.follow_up_interval_s and time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + settings.follow_up_interval_s
                    with root_span("follow-up sweep"):
                        sent = await send_due_inquiries(engine, settings, default_resources().payer_rules)
                    if sent:
                        log.info("follow-up: claim status inquiries (276) prepared", extra={"count": len(sent)})
                await deliver_pending(engine)
                await read_ack_folder(engine, folder, settings.kafka.topic_prefix)
            except OSError as exc:
                log.warning("claims background loop failed", extra={"error": exc})
            await changes.wait(stop)
