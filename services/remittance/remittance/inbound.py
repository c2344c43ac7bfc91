"""The inbound folder watcher: 835 files dropped in the folder are ingested by the worker.

A file is taken once it has stopped growing; after ingestion it moves to ``processed/`` (or to
``failed/`` with a ``.error.txt`` beside it). Nothing is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path

from rcm_shared.tracing import root_span
from rcm_shared.x12.errors import X12Error
from sqlalchemy.ext.asyncio import AsyncEngine

from remittance.config import get_settings
from remittance.handlers import ingest_835

log = logging.getLogger(__name__)


def _listing(folder: Path) -> list[tuple[Path, int]]:
    return sorted((p, p.stat().st_size) for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


async def scan_once(
    engine: AsyncEngine, folder: Path, tenant: str, batch_size: int, seen: dict[Path, int], topic_prefix: str = ""
) -> int:
    done = 0
    for path, size in await asyncio.to_thread(_listing, folder):
        if seen.get(path) != size:  # still being written: look again next round
            seen[path] = size
            continue
        seen.pop(path, None)
        try:
            # an 835 carries no trace context: each file starts a trace of its postings and their events
            with root_span("ingest 835 file", **{"rcm.file": path.name}):
                results = await ingest_835(
                    engine, path, tenant=tenant, batch_size=batch_size, topic_prefix=topic_prefix
                )
        except X12Error as exc:
            _move(path, folder / "failed", error=str(exc))
            log.warning("inbound file %s refused: %s", path.name, exc)
            continue
        _move(path, folder / "processed")
        log.info("inbound file %s: %s", path.name, ", ".join(f"{r.status} {r.remittance_id}" for r in results))
        done += 1
    return done


def _move(path: Path, target: Path, error: str | None = None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    destination = target / path.name
    shutil.move(str(path), destination)
    if error is not None:
        destination.with_name(destination.name + ".error.txt").write_text(error + "\n")


async def watch(stop: asyncio.Event, engine: AsyncEngine) -> None:
    settings = get_settings()
    folder = settings.inbound_path()
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    seen: dict[Path, int] = {}
    while not stop.is_set():
        try:
            await scan_once(
                engine, folder, settings.default_tenant, settings.batch_size, seen, settings.kafka.topic_prefix
            )
        except OSError as exc:
            log.warning("inbound folder %s: %s", folder, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.inbound_poll_seconds)
