"""Helpers for tests of the services and of the plumbing (real broker, real database)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from rcm_shared.bus.consumer import InboxConsumer


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def alembic_config(service_dir: Path, url: str, schema: str) -> Config:
    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("rcm.schema", schema)
    return cfg


async def migrate(service_dir: Path, url: str, schema: str) -> None:
    """Run a service's real Alembic migrations (in a thread: env.py runs its own event loop)."""
    await asyncio.to_thread(command.upgrade, alembic_config(service_dir, url, schema), "head")


async def poll_until(consumer: InboxConsumer, done: Callable[[], Any], timeout: float = 30.0) -> None:
    """Poll the consumer (never sleep) until ``done()`` (a value or an awaitable) is true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = done()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s (stats={consumer.stats})")
        await consumer.poll_once(timeout_ms=100)


async def wait_for_assignment(consumer: InboxConsumer, timeout: float = 30.0) -> None:
    await poll_until(consumer, lambda: bool(consumer.assignment), timeout)


async def consume_until(consumer: InboxConsumer, done: Callable[[], Any], timeout: float = 30.0) -> None:
    """Start the consumer, wait for its partitions, poll until ``done()`` (see ``poll_until``), stop it."""
    await consumer.start()
    try:
        await wait_for_assignment(consumer, timeout)
        await poll_until(consumer, done, timeout)
    finally:
        await consumer.stop()


@asynccontextmanager
async def app_client(create_app: Callable[[], Any], *resets: Callable[[], None]) -> AsyncIterator[Any]:
    """An HTTP client on a service app (its lifespan run, so the engine exists), with cached settings reset
    before and after, so environment changes made by the test apply. ``client.app`` is the app."""
    import httpx

    for reset in resets:
        reset()
    app = create_app()
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client
    finally:
        for reset in resets:
            reset()


def enum_of(schema: dict[str, Any]) -> set[str]:
    """The values a query parameter's schema allows, however FastAPI nests them (array, anyOf)."""
    found = set(schema.get("enum", ()))
    for key in ("items", "schema"):
        if isinstance(schema.get(key), dict):
            found |= enum_of(schema[key])
    for option in schema.get("anyOf", ()):
        found |= enum_of(option)
    return found


def need_postgres(url: str | None) -> str:
    """The PostgreSQL URL a test runs against; without one the test skips, or fails where CI requires
    PostgreSQL (RCM_REQUIRE_POSTGRES=1), so that a missing server never passes for a green run."""
    import os

    import pytest

    if url:
        return url
    reason = "PostgreSQL path: no TEST_POSTGRES_URL and no Docker engine for testcontainers"
    if os.environ.get("RCM_REQUIRE_POSTGRES") == "1":
        pytest.fail(reason + " (RCM_REQUIRE_POSTGRES=1)")
    pytest.skip(reason)
