from __future__ import annotations

from pathlib import Path
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
    monkeypatch.setenv("AUTH_TOKEN_URL", "https://login.example.org/oauth2/token")  # not the loopback default
    assert DemoSettings().environment == "production"


def test_sqlite_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SQLite is the embedded default only"):
        DemoSettings()


def test_log_masking_of_phi_patterns() -> None:
    line = mask_text("ssn 123-45-6789 dob 1980-02-29 seg NM1*IL*1*DOE*JANE~ ok")
    assert "123-45-6789" not in line and "1980-02-29" not in line and "DOE" not in line
    assert line.endswith(" ok")


async def test_unhandled_errors_are_problem_details_and_logged(tmp_path: Path) -> None:
    import logging

    import httpx
    from fastapi import APIRouter
    from rcm_shared.audit import audit_table
    from rcm_shared.bus.tables import bus_tables
    from rcm_shared.db import create_engine, make_metadata
    from rcm_shared.web import create_service_app
    from sqlalchemy.exc import DBAPIError

    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("ssn 123-45-6789 leaked into an exception")

    @router.get("/lost")
    async def lost() -> None:  # as SQLAlchemy reports a connection cut mid-statement
        raise DBAPIError("SELECT 1", None, ConnectionResetError("10.0.0.9 reset"), connection_invalidated=True)

    @router.get("/refused")
    async def refused() -> None:  # as asyncpg reports a server that is down
        raise ConnectionRefusedError(111, "Connect call failed ('10.0.0.9', 5432)")

    metadata = make_metadata()
    tables = bus_tables(metadata)
    audit_table(metadata)  # every answer of a service route is audited
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    engine = create_engine(url, schema="demo")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    app = create_service_app(DemoSettings(database_url=url), tables, title="demo", routers=[router])
    records: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("rcm_shared.web").addHandler(catcher)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
            ) as client,
        ):
            r = await client.get("/boom")
            lost_answer = await client.get("/lost")
            refused_answer = await client.get("/refused")
    finally:
        logging.getLogger("rcm_shared.web").removeHandler(catcher)
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "123-45-6789" not in r.text and "RuntimeError" not in r.text
    boom_logged = [rec for rec in records if rec.getMessage() == "unhandled error" and rec.route == "/boom"]
    assert boom_logged and boom_logged[0].exc_info and boom_logged[0].exc_info[0] is RuntimeError  # the route ran
    # the database refused or lost the connection: 503 with Retry-After, the caller may retry
    for answer in (lost_answer, refused_answer):
        assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
        assert answer.headers["content-type"] == "application/problem+json"
        assert "retry shortly" in answer.json()["detail"] and "10.0.0.9" not in answer.text
    assert any(rec.getMessage() == "database unreachable" and rec.route == "/lost" for rec in records)


def test_inbox_retention_is_off_by_default_and_the_cli_refuses_a_replay_before_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from rcm_cli.main import app
    from typer.testing import CliRunner

    monkeypatch.setenv("RCM_VAR_DIR", str(tmp_path))
    assert DemoSettings().inbox_retention is None
    monkeypatch.setenv("DEMO_INBOX_RETENTION_DAYS", "30")
    assert DemoSettings().inbox_retention == timedelta(days=30)
    monkeypatch.setenv("DEMO_INBOX_RETENTION_DAYS", "-1")
    with pytest.raises(ValidationError):
        DemoSettings()

    monkeypatch.setenv("REMITTANCE_INBOX_RETENTION_DAYS", "7")
    since = (datetime.now(UTC) - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%S")
    result = CliRunner().invoke(app, ["events", "replay", "-s", "remittance", "--since", since])
    assert result.exit_code == 2, result.output
    assert "is before the inbox retention of 7 day(s)" in result.output
    assert not list(tmp_path.iterdir())  # refused before any database was opened
