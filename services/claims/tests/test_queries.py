"""The reads of the claims API (claims.use_cases.queries): the list, its filters and pages, the X12 a claim went in.

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builders import T
from builders.acks import controls
from builders.encounters import encounter
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
)
from rcm_shared.testing import enum_of
from test_state import STATES


async def test_pages_of_the_claim_list_neither_repeat_nor_skip_claims_entered_together(client: Any) -> None:
    # A batch is one transaction: on PostgreSQL its claims share created_at, so the list needs a total order
    # (the id after the time) or offset pages repeat some claims and skip others.
    docs = [encounter(**{"subscriber.member_id": f"W{n:03d}"}) for n in range(40)]
    created = await client.post("/v1/claim-batches", json=docs, headers=T)
    assert created.status_code == 201
    seen: list[str] = []
    for offset in range(0, 40, 7):
        page = await client.get("/v1/claims", params={"limit": 7, "offset": offset}, headers=T)
        seen += [c["id"] for c in page.json()]
    assert sorted(seen) == sorted(c["id"] for c in created.json())


CLAIM_STATES = set(STATES)  # the lifecycle as the state tests write it out


async def test_list_filters_name_their_values_and_refuse_unknown_ones(client: Any) -> None:
    ready = await create(client)
    draft = await create(client, **{"subscriber.member_id": "W2", "diagnoses": ["E11"]})  # held: DX002
    assert (ready["state"], draft["state"]) == ("ready", "draft")

    async def listed(**params: Any) -> list[str]:
        r = await client.get("/v1/claims", params=params, headers=T)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()]

    assert await listed(state="draft") == [draft["id"]]
    assert sorted(await listed(state=["draft", "ready"])) == sorted([ready["id"], draft["id"]])
    assert await listed(state="paid") == []
    for path, params in [
        ("/v1/claims", {"state": "bogus"}),
        ("/v1/claims", {"state": ["ready", "Ready"]}),
        ("/v1/follow-up", {"reason": "bogus"}),
    ]:
        r = await client.get(path, params=params, headers=T)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (path, r.text)
        assert r.json()["errors"][0]["field"].split(".")[:2] == ["query", next(iter(params))], r.json()
    spec = client.app.openapi()["paths"]
    state = next(p for p in spec["/v1/claims"]["get"]["parameters"] if p["name"] == "state")
    assert enum_of(state) == CLAIM_STATES
    reason = next(p for p in spec["/v1/follow-up"]["get"]["parameters"] if p["name"] == "reason")
    assert enum_of(reason) == {"no_999", "no_277ca", "no_payment", "no_crossover_payment", "timely_filing"}


async def test_the_x12_reads_one_segment_a_line_and_as_sent_gives_the_bytes_delivered(client: Any) -> None:
    a = await create(client)
    (sub,) = (await client.post("/v1/submissions", json={}, headers=T)).json()
    delivered = Path(sub["destination"]).read_text()
    shown = await client.get(f"/v1/claims/{a['id']}/x12", headers=T)
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("application/edi-x12")
    lines = shown.text.splitlines()
    assert lines[0].startswith("ISA*") and lines[-1].startswith("IEA*") and all(ln.endswith("~") for ln in lines)
    assert "".join(lines) == delivered  # the same segments, a line break after each
    assert controls(shown.text) == controls(delivered)
    exact = await client.get(f"/v1/claims/{a['id']}/x12", params={"as_sent": "true"}, headers=T)
    assert exact.content == delivered.encode() and "\n" not in exact.text
