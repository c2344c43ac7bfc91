"""The use-case errors of rcm_shared.errors answer as problem details in every service's app, and the app
names who acts from the token, never from a header that contradicts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from rcm_shared.config import BaseServiceSettings
from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.testing import app_client, migrate
from rcm_shared.web import create_service_app


async def test_not_found_is_a_404_conflict_a_409_and_invalid_a_422(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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

    @router.get("/illegal")
    async def illegal() -> None:
        raise Conflict("paid -> draft", title="Illegal transition", current_state="paid", target_state="draft")

    @router.get("/bad")
    async def bad() -> None:
        raise Invalid("a replacement must change something")

    async with app_client(lambda: create_service_app(settings, bus, title="t", routers=[router])) as client:
        for path, status, title, detail in (
            ("/missing", 404, "Not found", "no claim C-1"),
            ("/taken", 409, "Conflict", "denial D-1 is already recovered"),
            ("/illegal", 409, "Illegal transition", "paid -> draft"),
            ("/bad", 422, "Invalid request", "a replacement must change something"),
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
            if path == "/illegal":
                assert (body["current_state"], body["target_state"]) == ("paid", "draft")
