"""One transaction for what the concurrent requests of one process write (group commit)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rcm_shared.db.transactions import per_engine, write_transaction

Writer = Callable[[AsyncConnection, list[Any]], Awaitable[Sequence[Any]]]
"""Writes a list of items in the caller's transaction (one executemany per table, not a statement per
item) and returns one result per item, in order."""


class GroupCommit:
    """One transaction for what the concurrent requests of one process write (group commit); one per
    engine and event loop: ``GroupCommit.of(engine)``.

    A caller hands in its item with the writer that stores it and waits until the transaction holding it
    has committed, then gets its result (or the exception that kept the transaction from committing: no
    commit, no answer). The items that arrive while one transaction commits share the next one, each
    writer called once with its items in arrival order (an eligibility check's rows and every request's
    audit row, say). On SQLite, where one writer at a time holds the database, N requests take the write
    lock once instead of N times, and each time for a few statements whose every step waits its turn on a
    busy event loop; on PostgreSQL they share one commit.
    A batch of several that fails on a constraint (``IntegrityError``) is retried item by item, so a bad
    item fails only its own caller; any other failure (the database is down) is every caller's.
    """

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._waiting: list[tuple[Writer, Any, asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, engine: AsyncEngine) -> GroupCommit:
        return per_engine(engine, "group-commit", lambda: cls(engine))

    async def submit(self, write: Writer, item: Any) -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((write, item, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="group-commit")
        return await asyncio.shield(done)  # a caller that goes away does not take the others' commit with it

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            if not await self._commit(batch):
                for one in batch:  # a constraint failed: each item alone, so only the bad one fails
                    await self._commit([one])

    async def _commit(self, batch: list[tuple[Writer, Any, asyncio.Future[Any]]]) -> bool:
        """Settles every caller of the batch, except when a batch of several failed on a constraint: False."""
        by_writer: dict[Writer, list[int]] = {}
        for i, (write, _, _) in enumerate(batch):
            by_writer.setdefault(write, []).append(i)
        results: list[Any] = [None] * len(batch)
        try:
            async with write_transaction(self._engine) as conn:
                for write, positions in by_writer.items():
                    written = await write(conn, [batch[i][1] for i in positions])
                    if len(written) != len(positions):
                        raise RuntimeError(f"{write!r}: {len(written)} results for {len(positions)} items")
                    for i, result in zip(positions, written, strict=True):
                        results[i] = result
        except Exception as exc:  # noqa: BLE001 - handed to the callers, who answer with it
            if isinstance(exc, IntegrityError) and len(batch) > 1:
                return False
            for _, _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return True
        for (_, _, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
        return True

    async def close(self) -> None:
        """Wait for what is still being written (at the end of an app's lifespan)."""
        if self._drainer is not None:
            with contextlib.suppress(Exception):
                await self._drainer
