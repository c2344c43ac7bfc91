"""Prometheus /metrics on every API: open like the probes (no token), with request latency by route and
status, the outbox backlog and the service's domain figures read from its database."""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rcm_cli.issuer import Issuer
from rcm_shared.auth import AuthSettings
from rcm_shared.testing import app_client, migrate

sys.path.insert(0, str(Path(__file__).parent))
from builders.encounters import encounter
from test_auth import Tokens

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(ROOT / "services" / "claims", url, "claims")
    monkeypatch.setenv("CLAIMS_DATABASE_URL", url)
    monkeypatch.setenv("CLAIMS_OUTBOUND_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(tmp_path / "auth" / "jwks.json"))
    issuer = Issuer(tmp_path / "auth", AuthSettings())
    issuer.ensure_key()
    config = importlib.import_module("claims.config")
    main = importlib.import_module("claims.main")
    async with app_client(main.create_app, config.get_settings.cache_clear) as client:
        client.tokens = Tokens(issuer)
        yield client


def sample(text: str, metric: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(metric + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_are_open_and_carry_http_outbox_and_domain_figures(claims: Any) -> None:
    auth = {"Authorization": f"Bearer {claims.tokens.make(['claims:write', 'claims:read'])}"}
    for _ in range(2):
        assert (await claims.post("/v1/claims", json=encounter(), headers=auth)).status_code == 201
    assert (await claims.get("/v1/claims")).status_code == 401
    r = await claims.get("/metrics")  # no token: open, like /healthz
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    created = sample(
        text, "rcm_http_request_duration_seconds_count", service="claims", route="/v1/claims", status="201"
    )
    assert created is not None and created >= 2
    assert sample(text, "rcm_http_request_duration_seconds_count", route="/v1/claims", status="401") is not None
    ready = sample(text, "rcm_domain", service="claims", name="claims_by_state", label="ready") or 0
    draft = sample(text, "rcm_domain", service="claims", name="claims_by_state", label="draft") or 0
    assert ready + draft == 2  # the second entry is a duplicate: held as draft
    assert (sample(text, "rcm_outbox_backlog_events", service="claims") or 0) >= 2  # no relay runs here
