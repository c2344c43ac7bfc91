from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings
from rcm_shared.logging import mask_text


class DemoSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "demo"
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")


def test_embedded_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path))
    s = DemoSettings()
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path}/demo.db"
    assert s.db_schema == "demo" and s.consumer_group == "demo-worker"
    assert s.kafka.bootstrap_servers == "127.0.0.1:9092"


def test_prefixed_and_shared_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    s = DemoSettings()
    assert s.database_url == "postgresql+asyncpg://u@h/db" and s.kafka.bootstrap_servers == "kafka:9092"


def test_placeholder_secret_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_ENVIRONMENT", "production")
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "changeme")
    with pytest.raises(ValidationError, match="KAFKA_SASL_PASSWORD is unset or a placeholder"):
        DemoSettings()
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cr3t-from-vault")
    with pytest.raises(ValidationError, match="AUTH_MODE=off is refused in production"):
        DemoSettings()  # the test suite runs in-process apps with auth off; production may not
    monkeypatch.setenv("AUTH_MODE", "on")
    assert DemoSettings().environment == "production"


def test_sqlite_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SQLite is the embedded default only"):
        DemoSettings()


def test_log_masking_of_phi_patterns() -> None:
    line = mask_text("ssn 123-45-6789 dob 1980-02-29 seg NM1*IL*1*DOE*JANE~ ok")
    assert "123-45-6789" not in line and "1980-02-29" not in line and "DOE" not in line
    assert line.endswith(" ok")


async def test_unhandled_errors_are_problem_details_and_logged() -> None:
    import logging

    import httpx
    from fastapi import APIRouter
    from rcm_shared.bus.tables import bus_tables
    from rcm_shared.db import make_metadata
    from rcm_shared.web import create_service_app

    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("ssn 123-45-6789 leaked into an exception")

    app = create_service_app(
        DemoSettings(database_url="sqlite+aiosqlite:///:memory:"),
        bus_tables(make_metadata()),
        title="demo",
        routers=[router],
    )
    records: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("rcm_shared.web").addHandler(catcher)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    ) as client:
        r = await client.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "123-45-6789" not in r.text and "RuntimeError" not in r.text
    logging.getLogger("rcm_shared.web").removeHandler(catcher)
    assert any("unhandled error on GET /boom" in rec.getMessage() and rec.exc_info for rec in records)
