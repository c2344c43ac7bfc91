"""rcm_shared.folders: a drop folder's loop is woken by a file landing in it, and still polls."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from rcm_shared.folders import FolderWatch


async def test_a_file_renamed_into_the_folder_wakes_the_loop_long_before_its_poll(tmp_path: Path) -> None:
    stop = asyncio.Event()
    async with FolderWatch(tmp_path, poll_seconds=30) as watch:
        waiting = asyncio.create_task(watch.wait(stop))
        await asyncio.sleep(0.3)  # the watch is set up (a file written before it starts is the poll's)
        assert not waiting.done()
        (tmp_path / ".a.835.part").write_text("ISA")  # hidden: a writer's name before its rename, no wake
        await asyncio.sleep(0.3)
        assert not waiting.done()
        started = time.monotonic()
        os.replace(tmp_path / ".a.835.part", tmp_path / "a.835")
        await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - started < 2  # against a 30 s poll


async def test_without_changes_the_loop_still_looks_every_poll_interval_and_stops_at_once(tmp_path: Path) -> None:
    stop = asyncio.Event()
    async with FolderWatch(tmp_path, poll_seconds=0.2) as watch:
        started = time.monotonic()
        await watch.wait(stop)
        assert 0.15 < time.monotonic() - started < 5
        await watch.wait(stop, timeout=0.0)  # a shorter wait (a file settling) is honoured
        stop.set()
        started = time.monotonic()
        await watch.wait(stop)
        assert time.monotonic() - started < 0.1


async def test_a_change_while_the_loop_looks_wakes_its_next_wait(tmp_path: Path) -> None:
    stop = asyncio.Event()
    async with FolderWatch(tmp_path, poll_seconds=30) as watch:
        await asyncio.sleep(0.3)
        (tmp_path / "b.999").write_text("ISA")  # the loop is not waiting: busy with its last look
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await asyncio.wait_for(watch.wait(stop), 5)
        assert time.monotonic() - started < 0.1


async def test_a_folder_that_cannot_be_watched_is_still_polled(tmp_path: Path) -> None:
    stop = asyncio.Event()
    async with FolderWatch(tmp_path / "missing", poll_seconds=0.1) as watch:
        started = time.monotonic()
        await watch.wait(stop)
        await watch.wait(stop)
        assert 0.15 < time.monotonic() - started < 5
