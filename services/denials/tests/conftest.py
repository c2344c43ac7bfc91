"""The denials app on a fresh database per test; ``@pytest.mark.write_off_approval_cents(n)`` sets the
threshold over which a write-off waits for a second person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from rcm_shared.testing import app_client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "write_off_approval_cents(n): DENIALS_WRITE_OFF_APPROVAL_CENTS for the app")


@pytest.fixture
async def client(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    db = await db_factory("denials")
    monkeypatch.setenv("DENIALS_DATABASE_URL", db.url)
    monkeypatch.setenv("DENIALS_DB_SCHEMA", db.schema)
    threshold = request.node.get_closest_marker("write_off_approval_cents")
    if threshold is not None:
        monkeypatch.setenv("DENIALS_WRITE_OFF_APPROVAL_CENTS", str(threshold.args[0]))
    from denials.config import get_settings
    from denials.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c
