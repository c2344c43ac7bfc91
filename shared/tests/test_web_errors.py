"""The use-case errors of rcm_shared.errors answer as problem details in every service's app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from rcm_shared.config import BaseServiceSettings
from rcm_shared.errors import Conflict, NotFound
from rcm_shared.testing import app_client, migrate
from rcm_shared.web import create_service_app


async def test_not_found_is_a_404_and_conflict_a_409(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from claims.models import bus

    monkeypatch.setenv("AUTH_MODE", "off")
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(Path(__file__).resolve().parents[2] / "services" / "claims", url, "claims")  # the audit table
    settings = BaseServiceSettings(database_url=url)
    router = APIRouter()

    @router.get("/missing")
    async def missing() -> None:
        raise NotFound("no claim C-1")

    @router.get("/taken")
    async def taken() -> None:
        raise Conflict("denial D-1 is already recovered")

    async with app_client(lambda: create_service_app(settings, bus, title="t", routers=[router])) as client:
        for path, status, title, detail in (
            ("/missing", 404, "Not found", "no claim C-1"),
            ("/taken", 409, "Conflict", "denial D-1 is already recovered"),
        ):
            r = await client.get(path)
            assert r.status_code == status, path
            assert r.headers["content-type"] == "application/problem+json"
            body = r.json()
            assert (body["status"], body["title"], body["detail"], body["type"]) == (
                status,
                title,
                detail,
                "about:blank",
            )
