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
    assert DemoSettings().environment == "production"


def test_sqlite_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SQLite is the embedded default only"):
        DemoSettings()


def test_log_masking_of_phi_patterns() -> None:
    line = mask_text("ssn 123-45-6789 dob 1980-02-29 seg NM1*IL*1*DOE*JANE~ ok")
    assert "123-45-6789" not in line and "1980-02-29" not in line and "DOE" not in line
    assert line.endswith(" ok")
