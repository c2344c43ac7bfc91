"""The worker's loops: the inbound 835 folder (``adapters.inbound``), each settled file ingested.

The worker looks at the folder when a file lands in it (change events, ``rcm_shared.folders``) and every
``inbound_poll_seconds`` in any case, and takes a file once unchanged for ``inbound_settle_seconds``, for
the organization whose clearinghouse connection its interchanges were sent on (``use_cases.routing``: the
deployment's own ids are the default organization's). A file that belongs to no organization, or to several,
moves to ``quarantine/`` with the reason beside it and a review item in the default organization's list.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from rcm_shared.folders import FolderWatch
from rcm_shared.tracing import root_span
from rcm_shared.unit import Units
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.routing import Pair
from sqlalchemy.ext.asyncio import AsyncEngine

from remittance.adapters.inbound import Seen, listing, move
from remittance.config import get_settings
from remittance.models import bus
from remittance.use_cases.ingestion import ingest_835
from remittance.use_cases.routing import quarantine, route_file

log = logging.getLogger(__name__)


async def scan_once(
    units: Units,
    folder: Path,
    tenant: str,
    batch_size: int,
    seen: Seen,
    home: Pair,
    settle: float = 0.0,
) -> int:
    """Ingests the files that have settled: unchanged since an earlier look at least ``settle`` s ago (with
    ``settle`` 0, since the previous look), each under the tenant it is routed to (``tenant``: the default
    one, whose connection ``home`` is: the deployment's own ids). The others wait in ``seen``."""
    done = 0
    files = await asyncio.to_thread(listing, folder)
    now = time.monotonic()
    for gone in set(seen.files) - {path for path, _look in files}:
        del seen.files[gone]
    for path, look in files:
        if not seen.settled(path, look, now, settle):
            continue
        del seen.files[path]
        try:
            # an 835 carries no trace context: each file starts a trace of its postings and their events
            with root_span("ingest 835 file", **{"rcm.file": path.name}):
                decided = await route_file(units, path, home, tenant)
                if decided.tenant is None:
                    target = folder / "quarantine"
                    await quarantine(units, tenant, path.name, decided, f"{target.name}/{path.name}")
                    move(path, target, error=decided.reason)
                    log.warning("inbound file quarantined", extra={"file": path.name, "cause": decided.cause})
                    continue
                results = await ingest_835(units, path, tenant=decided.tenant, batch_size=batch_size)
        except X12Error as exc:
            move(path, folder / "failed", error=str(exc))
            log.warning("inbound file refused", extra={"file": path.name, "error": exc})
            continue
        move(path, folder / "processed")
        log.info(
            "inbound file taken",
            extra={
                "file": path.name,
                "tenant_id": decided.tenant,
                "statuses": [r.status for r in results],
                "remittance_ids": [r.remittance_id for r in results],
                "superseded_ids": [r.supersedes for r in results if r.supersedes],
            },
        )
        done += 1
    return done


async def watch(stop: asyncio.Event, engine: AsyncEngine) -> None:
    """The inbound folder, watched until ``stop``."""
    settings = get_settings()
    folder = settings.inbound_path()
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    seen = Seen()
    settle = settings.inbound_settle_seconds
    units = Units.of_service(settings, bus, engine)
    async with FolderWatch(folder, poll_seconds=settings.inbound_poll_seconds) as changes:
        while not stop.is_set():
            try:
                await scan_once(
                    units,
                    folder,
                    settings.default_tenant,
                    settings.batch_size,
                    seen,
                    settings.own_connection(),
                    settle=settle,
                )
            except OSError as exc:
                log.warning("inbound folder unreadable", extra={"folder": str(folder), "error": exc})
            # a file waiting to settle is looked at again when it may have; a new one wakes the loop at once
            await changes.wait(stop, seen.next_due(settle, time.monotonic()))
