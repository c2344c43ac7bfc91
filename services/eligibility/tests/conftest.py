"""The eligibility app on a fresh database per test, its clearinghouses two fake payers (primary, backup)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from builders.x271 import FakePayer
from eligibility.adapters.clearinghouses import Failover, HttpAdapter
from rcm_shared.config import KafkaSettings
from rcm_shared.testing import app_client


@pytest.fixture
async def client(db_factory: Any, monkeypatch: pytest.MonkeyPatch, kafka: KafkaSettings) -> AsyncIterator[Any]:
    db = await db_factory("eligibility")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("ELIGIBILITY_DATABASE_URL", db.url)
    monkeypatch.setenv("ELIGIBILITY_DB_SCHEMA", db.schema)
    from eligibility.config import get_settings
    from eligibility.main import create_app

    primary, backup = FakePayer(), FakePayer()
    app = web.Application()
    app.router.add_post("/a/270", primary.handler)
    app.router.add_post("/b/270", backup.handler)
    async with TestServer(app) as payers, app_client(create_app, get_settings.cache_clear) as c:
        c.app.state.failover = Failover(
            [
                HttpAdapter("primary", str(payers.make_url("/a/270")), retries=1, backoff=0.001),
                HttpAdapter("backup", str(payers.make_url("/b/270")), retries=0),
            ]
        )
        c.primary, c.backup = primary, backup
        yield c
        await c.app.state.failover.aclose()
