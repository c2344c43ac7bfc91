"""Drop folders: a loop that takes files from a folder wakes when one lands there, not on its next poll.

``FolderWatch`` asks the operating system to report the folder's changes (inotify on Linux, through
``watchfiles``) and wakes its loop within a few tens of milliseconds of a file being written or renamed
into it. The loop still looks at the folder every poll interval: change events are not reported for every
file system (a network share written from another host, some container volumes), and a watch can fail to
start (the host's inotify limits). ``WATCHFILES_FORCE_POLLING=1`` makes ``watchfiles`` poll instead.

Before this, the filedrop folders were only polled: each leg of the cycle (837 to the clearinghouse, 999 and
277CA back, the 835) waited half a poll interval on average, a whole one at worst.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import TracebackType

from watchfiles import Change, awatch

log = logging.getLogger(__name__)

# watchfiles' watcher thread waits for further changes ``STEP_MS`` at a time once one arrived (and checks
# for its stop meanwhile), for ``DEBOUNCE_MS`` at most: a file written in several calls wakes the loop once
STEP_MS = 20
DEBOUNCE_MS = 200


def _visible(_change: Change, path: str) -> bool:
    """Hidden files (a writer's ``.name.part`` before its rename) are not taken: no wake for them."""
    return not Path(path).name.startswith(".")


class FolderWatch:
    """Wakes a folder loop when a visible file in one of ``folders`` (not below them) changes, or after
    ``poll_seconds`` at the latest. Use as ``async with FolderWatch(folder, poll_seconds=...) as watch:`` and
    call ``await watch.wait(stop)`` between looks."""

    def __init__(self, *folders: Path, poll_seconds: float) -> None:
        self.folders = folders
        self.poll_seconds = poll_seconds
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FolderWatch:
        self._task = asyncio.create_task(self._watch(), name=f"watch {' '.join(f.name for f in self.folders)}")
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._closing.set()  # the watcher thread sees it within STEP_MS and returns
        if self._task is not None:
            await self._task

    async def _watch(self) -> None:
        try:
            async for _changes in awatch(
                *self.folders,
                stop_event=self._closing,
                recursive=False,  # processed/ and failed/ below it are where taken files go
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                watch_filter=_visible,
            ):
                self._changed.set()
        except Exception as exc:  # noqa: BLE001 - the loop still polls; say why it is not woken
            log.warning(
                "no change events for the folders; polling them",
                extra={"folder": [str(f) for f in self.folders], "poll_s": self.poll_seconds, "error": exc},
            )

    async def wait(self, stop: asyncio.Event, timeout: float | None = None) -> None:
        """Until a file in the folder changed since the last return, ``stop`` is set, or ``timeout``
        seconds pass (the poll interval, or less when given). Changes that come while the caller looks
        at the folder wake the next call at once."""
        limit = self.poll_seconds if timeout is None else min(timeout, self.poll_seconds)
        if not (self._changed.is_set() or stop.is_set()):
            waits = [asyncio.ensure_future(self._changed.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waits, timeout=max(0.0, limit), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        self._changed.clear()  # before the caller looks: what changes while it looks sets it again
