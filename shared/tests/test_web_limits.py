"""Transport safety of the shared service plumbing: request timeouts, and TLS to PostgreSQL by URL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from rcm_shared.config import BaseServiceSettings
from rcm_shared.db import create_engine
from rcm_shared.testing import app_client, migrate
from rcm_shared.web import create_service_app
from sqlalchemy import text


async def test_a_request_over_the_timeout_gets_504(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from claims.models import bus

    monkeypatch.setenv("AUTH_MODE", "off")
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(Path(__file__).resolve().parents[2] / "services" / "claims", url, "claims")  # the audit table
    # 1 s: the first request of a fresh app opens the database for its audit row, which on a busy 2-core
    # machine took over 0.2 s
    settings = BaseServiceSettings(database_url=url, request_timeout_s=1.0)
    router = APIRouter()

    @router.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(5)
        return {"done": "yes"}

    @router.get("/quick")
    async def quick() -> dict[str, str]:
        return {"done": "yes"}

    async with app_client(lambda: create_service_app(settings, bus, title="t", routers=[router])) as client:
        assert (await client.get("/quick")).status_code == 200
        r = await client.get("/slow")
        assert r.status_code == 504 and r.headers["content-type"] == "application/problem+json"


async def test_a_request_whose_audit_row_outlasts_the_timeout_still_gets_its_504(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit trail holds a response's start until the request's row is written; a timeout meanwhile
    answered nothing at all (the start counted as sent)."""
    from claims.models import bus

    monkeypatch.setenv("AUTH_MODE", "off")
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(Path(__file__).resolve().parents[2] / "services" / "claims", url, "claims")
    settings = BaseServiceSettings(database_url=url, request_timeout_s=0.5)
    router = APIRouter()

    @router.get("/quick")
    async def quick() -> dict[str, str]:
        return {"done": "yes"}

    async with app_client(lambda: create_service_app(settings, bus, title="t", routers=[router])) as client:
        writer = client.app.state.audit_writer
        append = writer.append
        statuses: list[int] = []

        async def slow_first(entry: Any) -> None:
            statuses.append(entry.status)
            if len(statuses) == 1:
                await asyncio.sleep(5)  # the row of the 200 is still being written when the timeout comes
            await append(entry)

        monkeypatch.setattr(writer, "append", slow_first)
        r = await client.get("/quick")
        assert r.status_code == 504 and r.headers["content-type"] == "application/problem+json"
        assert statuses == [200, 504]  # the answer given is the one recorded


@pytest.mark.postgres
async def test_postgres_tls_required_by_url_is_never_plaintext(postgres_base_url: Any) -> None:
    """?ssl=require (or verify-full, with PGSSLROOTCERT) reaches the driver: the session is encrypted, or
    the connection is refused; it never falls back to clear text."""
    from rcm_shared.testing import need_postgres

    url = need_postgres(postgres_base_url)
    engine = create_engine(url + ("&" if "?" in url else "?") + "ssl=require", schema="public")
    try:
        async with engine.connect() as conn:
            encrypted = (await conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))).scalar()
            assert encrypted is True
    except ConnectionError as exc:  # this server speaks no TLS: refused, as required
        assert "SSL" in str(exc)
    finally:
        await engine.dispose()


async def test_an_access_the_audit_trail_cannot_record_is_not_served(tmp_path: Path) -> None:
    from claims.models import bus

    settings = BaseServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'bare.db'}")  # no audit table
    router = APIRouter()

    @router.get("/record")
    async def record() -> dict[str, str]:
        return {"patient": "someone"}

    async with app_client(lambda: create_service_app(settings, bus, title="t", routers=[router])) as client:
        r = await client.get("/record")
        assert r.status_code == 503 and "audit" in r.json()["detail"] and "someone" not in r.text


def test_docs_and_openapi_are_served_only_in_development_and_test(monkeypatch: pytest.MonkeyPatch) -> None:
    from claims.models import bus

    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_TOKEN_URL", "https://login.example.org/oauth2/token")
    prod = BaseServiceSettings(environment="production", database_url="postgresql+asyncpg://u@db/rcm")
    app = create_service_app(prod, bus, title="t")
    assert (app.openapi_url, app.docs_url, app.redoc_url) == (None, None, None)
    dev = create_service_app(BaseServiceSettings(environment="development"), bus, title="t")
    assert dev.openapi_url == "/openapi.json"
