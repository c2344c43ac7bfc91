"""Steps of the contract tests: contracts entered over HTTP (tenant ``org-1`` unless told). Their data:
``builders.contracts``."""

from __future__ import annotations

from typing import Any


def headers(tenant: str = "org-1", actor: str = "maria") -> dict[str, str]:
    return {"X-Tenant-ID": tenant, "X-Actor": actor}


async def enter(client: Any, body: dict[str, Any], tenant: str = "org-1") -> dict[str, Any]:
    r = await client.post("/v1/contracts", json=body, headers=headers(tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())
