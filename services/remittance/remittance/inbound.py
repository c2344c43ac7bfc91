"""The inbound folder watcher: 835 files dropped in the folder are ingested by the worker.

The worker looks at the folder when a file lands in it (change events, ``rcm_shared.folders``) and every
``inbound_poll_seconds`` in any case. A file is taken once its size and modification time have stayed the
same for ``inbound_settle_seconds`` (a writer that copies a file in place, over a slow link, may still be
writing it; one that writes a hidden name and renames it is never seen half-written); after ingestion it
moves to ``processed/`` (or to ``failed/`` with a ``.error.txt`` beside it). Nothing is deleted.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from rcm_shared.folders import FolderWatch
from rcm_shared.tracing import root_span
from rcm_shared.x12.errors import X12Error
from sqlalchemy.ext.asyncio import AsyncEngine

from remittance.config import get_settings
from remittance.handlers import ingest_835

log = logging.getLogger(__name__)


def _listing(folder: Path) -> list[tuple[Path, tuple[int, int]]]:
    files = []
    for p in folder.iterdir():
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            files.append((p, (st.st_size, st.st_mtime_ns)))
    return sorted(files)


@dataclass
class Seen:
    """What the folder's earlier looks saw of the files not taken yet: (size, mtime) and since when."""

    files: dict[Path, tuple[tuple[int, int], float]] = field(default_factory=dict)

    def settled(self, path: Path, look: tuple[int, int], now: float, settle: float) -> bool:
        before = self.files.get(path)
        if before is None or before[0] != look:  # new, or written since: from now on
            self.files[path] = (look, now)
            return False
        return now - before[1] >= settle

    def next_due(self, settle: float, now: float) -> float | None:
        """Seconds until the first file waiting to settle can be taken; None if none waits."""
        return min((since + settle - now for _look, since in self.files.values()), default=None)


async def scan_once(
    engine: AsyncEngine,
    folder: Path,
    tenant: str,
    batch_size: int,
    seen: Seen,
    topic_prefix: str = "",
    settle: float = 0.0,
) -> int:
    """Ingests the files that have settled: unchanged since an earlier look at least ``settle`` s ago (with
    ``settle`` 0, since the previous look). The others wait in ``seen``."""
    done = 0
    listing = await asyncio.to_thread(_listing, folder)
    now = time.monotonic()
    for gone in set(seen.files) - {path for path, _look in listing}:
        del seen.files[gone]
    for path, look in listing:
        if not seen.settled(path, look, now, settle):
            continue
        del seen.files[path]
        try:
            # an 835 carries no trace context: each file starts a trace of its postings and their events
            with root_span("ingest 835 file", **{"rcm.file": path.name}):
                results = await ingest_835(
                    engine, path, tenant=tenant, batch_size=batch_size, topic_prefix=topic_prefix
                )
        except X12Error as exc:
            _move(path, folder / "failed", error=str(exc))
            log.warning("inbound file refused", extra={"file": path.name, "error": exc})
            continue
        _move(path, folder / "processed")
        log.info(
            "inbound file taken",
            extra={
                "file": path.name,
                "statuses": [r.status for r in results],
                "remittance_ids": [r.remittance_id for r in results],
                "superseded_ids": [r.supersedes for r in results if r.supersedes],
            },
        )
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
    seen = Seen()
    settle = settings.inbound_settle_seconds
    async with FolderWatch(folder, poll_seconds=settings.inbound_poll_seconds) as changes:
        while not stop.is_set():
            try:
                await scan_once(
                    engine,
                    folder,
                    settings.default_tenant,
                    settings.batch_size,
                    seen,
                    settings.kafka.topic_prefix,
                    settle,
                )
            except OSError as exc:
                log.warning("inbound folder unreadable", extra={"folder": str(folder), "error": exc})
            # a file waiting to settle is looked at again when it may have; a new one wakes the loop at once
            await changes.wait(stop, seen.next_due(settle, time.monotonic()))
