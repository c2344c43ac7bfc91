"""Worker loops: deliver pending submissions (retrying until delivered), read the acknowledgment folder, send
the 276 inquiries the follow-up list says are due, and make claims of the HL7 encounters whose charge hold
has ended."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path

from rcm_shared.errors import Invalid
from rcm_shared.folders import FolderWatch
from rcm_shared.tracing import root_span
from rcm_shared.unit import Units
from sqlalchemy.ext.asyncio import AsyncEngine

from claims.adapters.ack_folder import file_away, waiting
from claims.adapters.clearinghouse import adapter_for
from claims.adapters.quarantine import note
from claims.adapters.scrub_resources import default_resources
from claims.config import get_settings
from claims.models import bus
from claims.use_cases.acknowledgments import acknowledge, route_acknowledgment
from claims.use_cases.delivery import CLEARINGHOUSE, deliver, pending_deliveries
from claims.use_cases.follow_up import send_due_inquiries
from claims.use_cases.hl7_charges import release_due

log = logging.getLogger(__name__)


def _units(engine: AsyncEngine) -> Units:
    return Units.of_service(get_settings(), bus, engine)


async def deliver_pending(engine: AsyncEngine, *, now: datetime | None = None) -> int:
    """Deliver the pending submissions no API request is delivering; returns how many were delivered."""
    units = _units(engine)
    pending = await pending_deliveries(units, now=now)
    if not pending:
        return 0
    adapter = adapter_for(get_settings())  # a misconfigured connection stops nothing while nothing is pending
    delivered = 0
    for sub in pending:
        with root_span("deliver 837", **{"rcm.submission_id": sub.id}):
            done = await deliver(units, sub.tenant_id, adapter, sub.id, sub.x12)
        delivered += done.delivered
    return delivered


async def read_ack_folder(engine: AsyncEngine, folder: Path) -> int:
    """Apply each acknowledgment file in the folder to the claims of the tenant it is addressed to
    (``route_acknowledgment``: the deployment's own ids are the default tenant's), then move it to
    ``processed/``; or to ``failed/`` with an ``.error.txt`` when it does not read, or when it is no one
    practice's (quarantined: applied to no tenant, with a warning, and listed by ``GET /v1/inbound/quarantine``;
    moved back into the folder, it is read again). Returns how many files were applied."""
    units = _units(engine)
    settings = get_settings()
    home = (settings.submitter_id.strip(), settings.receiver_id.strip())
    done = 0
    for path in await asyncio.to_thread(waiting, folder):
        try:
            with root_span("ingest acknowledgment file", **{"rcm.file": path.name}):
                data = await asyncio.to_thread(path.read_bytes)
                async with units.write(settings.default_tenant, CLEARINGHOUSE) as unit:
                    decided = await route_acknowledgment(unit, data, home, settings.default_tenant)
                    if decided.tenant is not None:
                        result = await acknowledge(unit.for_tenant(decided.tenant), data)
        except Invalid as exc:
            await asyncio.to_thread(file_away, folder, path, str(exc))
            continue
        if decided.tenant is None:
            await asyncio.to_thread(file_away, folder, path, note(decided))
            why = {"file": path.name, "cause": decided.cause}
            log.warning("acknowledgment quarantined: addressed to no practice", extra=why)
            continue
        await asyncio.to_thread(file_away, folder, path)
        log.info(
            "acknowledgment read",
            extra={
                "file": path.name,
                "kind": result.kind,
                "count": len(result.claims_updated),
                "tenant_id": decided.tenant,
            },
        )
        done += 1
    return done


async def loop(stop: asyncio.Event, engine: AsyncEngine) -> None:
    settings = get_settings()
    folder = settings.inbound_ack_path()
    folder.mkdir(parents=True, exist_ok=True)
    next_sweep = time.monotonic() + min(settings.follow_up_interval_s, 60.0)  # not in the start-up rush
    next_release = time.monotonic()
    # an acknowledgment landing in the folder wakes the loop at once; pending deliveries wait for the poll
    async with FolderWatch(folder, poll_seconds=settings.poll_seconds) as changes:
        while not stop.is_set():
            try:
                if settings.follow_up_interval_s and time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + settings.follow_up_interval_s
                    with root_span("follow-up sweep"):
                        sent = await send_due_inquiries(_units(engine), settings, default_resources().payer_rules)
                    if sent:
                        log.info("follow-up: claim status inquiries (276) prepared", extra={"count": len(sent)})
                if settings.hl7_release_interval_s and time.monotonic() >= next_release:
                    next_release = time.monotonic() + settings.hl7_release_interval_s
                    with root_span("hl7 charge hold"):
                        released = await release_due(_units(engine), settings, default_resources().context())
                    if released:
                        log.info("hl7 encounters released as claims", extra={"count": released})
                await deliver_pending(engine)
                await read_ack_folder(engine, folder)
            except OSError as exc:
                log.warning("claims background loop failed", extra={"error": exc})
            await changes.wait(stop)
