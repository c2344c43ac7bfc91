"""What the billing office reads (denials/use_cases/queue.py): the list filters name every status and category,
the default queue is what waits on the office (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from builders import T
from builders.events import adj
from denial_steps import act, feed
from denials.api.schemas import DenialCategory, DenialStatus
from denials.domain.classify import CATEGORIES
from denials.domain.states import OPEN_STATES, RESOLVED_STATES
from rcm_shared.testing import enum_of

DENIAL_STATUSES = {
    "open",
    "in_progress",
    "appealed",
    "resubmitted",
    "write_off_pending",
    "recovered",
    "written_off",
    "billed_patient",
    "closed",
    "superseded",
}


def test_the_filters_name_every_status_and_category_the_domain_has() -> None:
    assert set(get_args(DenialStatus)) == set(OPEN_STATES) | set(RESOLVED_STATES) == DENIAL_STATUSES
    assert get_args(DenialCategory) == CATEGORIES


@pytest.mark.write_off_approval_cents(20000)
async def test_the_default_queue_is_what_waits_on_the_office_and_an_unknown_status_is_refused(client: Any) -> None:
    (fresh,) = await feed(client, adj("Q1", 0, [("CO", "197", 10000, None)]))
    (appealed,) = await feed(client, adj("Q2", 0, [("CO", "197", 10000, None)]))
    (pending,) = await feed(client, adj("Q3", 0, [("CO", "29", 20001, None)], charge=20001))
    (done,) = await feed(client, adj("Q4", 0, [("CO", "29", 5000, None)], charge=5000))
    assert (await act(client, appealed, {"action": "appeal"})).json()["status"] == "appealed"
    r = await act(client, pending, {"action": "write_off", "note": "filed too late"})
    assert r.json()["status"] == "write_off_pending"
    assert (await act(client, done, {"action": "write_off", "note": "late"})).json()["status"] == "written_off"

    async def listed(**params: Any) -> set[str]:
        r = await client.get("/v1/denials", params=params, headers=T)
        assert r.status_code == 200, r.text
        return {d["id"] for d in r.json()}

    # by default: what waits on someone in the office, a write-off awaiting its second person included
    assert await listed() == {fresh, pending}
    assert await listed(status=["appealed", "written_off"]) == {appealed, done}
    assert await listed(category="timely_filing") == {pending}
    for bad in ({"status": "bogus"}, {"status": ["open", "bogus"]}, {"category": "nonsense"}):
        r = await client.get("/v1/denials", params=bad, headers=T)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (bad, r.text)
        assert r.json()["errors"][0]["field"].split(".")[:2] == ["query", next(iter(bad))], r.json()
    operation = client.app.openapi()["paths"]["/v1/denials"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert enum_of(params["status"]) == DENIAL_STATUSES
    assert "timely_filing" in enum_of(params["category"]) and "unclassified" in enum_of(params["category"])
    assert "`open`, `in_progress` and `write_off_pending`" in operation["description"]
