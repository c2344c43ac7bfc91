"""A raw 271 ingested (eligibility/use_cases/responses.py) (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from builders import T
from builders.x271 import SAMPLES, answer, x271


async def test_ingest_raw_271(client: Any) -> None:
    r = await client.post("/v1/eligibility/responses", content=x271(answer("W9")), headers=T)
    assert r.status_code == 201 and r.json()[0]["status"] == "active" and r.json()[0]["source"] == "ingested"
    not_271 = (SAMPLES.parent / "835" / "lfh__demo-file__demo.835").read_bytes()
    bad = await client.post("/v1/eligibility/responses", content=not_271, headers=T)
    assert bad.status_code == 422 and "is not a 271" in bad.json()["detail"]
