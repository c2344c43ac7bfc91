"""The remittance app and its database, fresh per test (SQLite and PostgreSQL): ``client`` (the API, uploads
capped at 1 MB), ``stack`` (the API and an engine on its database) and ``engine`` (the database alone). The
apps ask no claims API for mailing addresses (a test that needs them plugs in its own address book)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine
from rcm_shared.testing import app_client


@pytest.fixture
async def client(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka: KafkaSettings
) -> AsyncIterator[Any]:
    db = await db_factory("remittance")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("REMITTANCE_DATABASE_URL", db.url)
    monkeypatch.setenv("REMITTANCE_DB_SCHEMA", db.schema)
    monkeypatch.setenv("REMITTANCE_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("REMITTANCE_CLAIMS_URL", "")
    monkeypatch.setenv("REMITTANCE_MAX_UPLOAD_MB", "1")
    from remittance.config import get_settings
    from remittance.main import create_app

    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c


@pytest.fixture
async def stack(
    db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka: KafkaSettings
) -> AsyncIterator[tuple[Any, Any]]:
    db = await db_factory("remittance")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("REMITTANCE_DATABASE_URL", db.url)
    monkeypatch.setenv("REMITTANCE_DB_SCHEMA", db.schema)
    monkeypatch.setenv("REMITTANCE_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("REMITTANCE_CLAIMS_URL", "")
    from remittance.config import get_settings
    from remittance.main import create_app

    engine = create_engine(db.url, schema=db.schema)
    async with app_client(create_app, get_settings.cache_clear) as c:
        yield c, engine
    await engine.dispose()


@pytest.fixture
async def engine(db_factory: Any) -> Any:
    db = await db_factory("remittance")
    eng = create_engine(db.url, schema=db.schema)
    yield eng
    await eng.dispose()
