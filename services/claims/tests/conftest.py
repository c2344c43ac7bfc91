"""The claims service's API over a fresh database (SQLite and PostgreSQL) and the test broker's topic prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rcm_shared.config import KafkaSettings
from rcm_shared.testing import app_client


@pytest.fixture
async def client(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka: KafkaSettings
) -> AsyncIterator[Any]:
    db = await db_factory("claims")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("CLAIMS_DATABASE_URL", db.url)
    monkeypatch.setenv("CLAIMS_DB_SCHEMA", db.schema)
    monkeypatch.setenv("CLAIMS_OUTBOUND_DIR", str(tmp_path / "outbound"))
    monkeypatch.setenv("CLAIMS_DEFAULT_TENANT", "org-1")
    from claims.adapters.scrub_resources import default_resources
    from claims.config import get_settings
    from claims.main import create_app

    async with app_client(create_app, get_settings.cache_clear, default_resources.cache_clear) as c:
        yield c
