"""What the API reads, per tenant: another tenant's remittances and postings are not found."""

from __future__ import annotations

from typing import Any

from builders.x835 import standard_file
from remittance_steps import X12


async def test_other_tenant_gets_404(client: Any) -> None:
    r = await client.post("/v1/remittances", content=standard_file(), headers=X12)
    rid = r.json()["remittances"][0]["remittance_id"]
    other = {"X-Tenant-ID": "org-2"}
    assert (await client.get(f"/v1/remittances/{rid}", headers=other)).status_code == 404
    assert (await client.get(f"/v1/remittances/{rid}/claims", headers=other)).status_code == 404
    assert (await client.get("/v1/claims/PCN0001/postings", headers=other)).status_code == 404
