"""The eligibility worker's loops: none. Eligibility watches no folder and runs nothing on a timer; a batch of
checks runs in the API process that accepted it (``use_cases.batches.run_batch``, started by its route). The
worker runs the outbox relay, the consumer and the heartbeat (``rcm_shared.bus.worker``) with this list of loops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

LOOPS: list[Callable[[asyncio.Event, AsyncEngine], Coroutine[Any, Any, None]]] = []
