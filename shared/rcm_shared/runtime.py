"""Process-level tuning every service process applies once it has started.

The event loop: uvloop where it is installed (uvicorn[standard] brings it on Linux and macOS; the APIs run
on it through uvicorn's default ``--loop auto``), so the workers run on the same loop as the APIs. It does
the loop's own work (polling, callbacks, socket transports) in C: the Kafka clients' and database
drivers' many small reads and writes. Where it is missing (Windows) asyncio's loop runs instead.

The cyclic garbage collector: a service process holds a large, long-lived heap (modules, pydantic
and SQLAlchemy schemas, caches) and allocates many short-lived containers per event, claim or request
(parsed X12 models, rows, payloads). With Python's default thresholds (700, 10, 10) a full collection
keeps re-scanning the long-lived heap: posting a 100,000-claim 835 spent about a third of its time in
the collector. After start-up the heap built so far is frozen (left out of every later collection:
it lives as long as the process anyway) and young collections run every ``gen0`` allocations instead
of 700. Reference counting still frees everything acyclic at once; only cycles wait a little longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_GEN0_THRESHOLD = 50_000
_tuned = False


def tune_gc(gen0_threshold: int = DEFAULT_GEN0_THRESHOLD) -> None:
    """Freeze what start-up built and space young collections ``gen0_threshold`` allocations apart
    (0: leave Python's defaults). Call when the process is ready to work; only the first call acts (a
    process that starts several apps, as a test run does, freezes its heap once)."""
    global _tuned
    if gen0_threshold <= 0 or _tuned:
        return
    _tuned = True
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, max(gen1, 20), gen2)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile; True if it is (the caller's loop then ends)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is installed wherever uvicorn[standard] is (not Windows)
        return asyncio.run(main)
    return uvloop.run(main)
