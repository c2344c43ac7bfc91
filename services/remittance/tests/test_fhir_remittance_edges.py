"""The remittance FHIR API at its edges (SQLite and PostgreSQL): ExplanationOfBenefit pages in an order no
change moves (a payment reversed, an account known while a client pages), each search reading by its own index
(SQLite's plans), and a claim paid at claim level beyond its lines adding up all the same."""

from __future__ import annotations

from typing import Any

import pytest
from builders import T
from builders.fhir import assert_fhir
from builders.x835 import claim, header, interchange, line, paid_claim
from remittance_fhir_steps import BASE, assert_eob_says, bpr02, eob_of, post_835, reversal_of, search
from remittance_steps import billed
from sqlalchemy import event

EOB = "ExplanationOfBenefit"


async def _page(client: Any, url: str) -> tuple[list[dict[str, Any]], str]:
    r = await client.get(url, headers=T)
    assert r.status_code == 200, r.text
    bundle = assert_fhir(r.json())
    entries = [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
    following = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
    return entries, following.removeprefix("http://test")


async def test_eob_pages_see_each_eob_once_while_payments_change_meanwhile(stack: tuple[Any, Any]) -> None:
    """Pages follow the posting order, which never changes: a payment reversed (its EOB cancelled) and one whose
    patient account becomes known while the client pages are each seen once, where the pass reaches them."""
    client, engine = stack
    posted = [paid_claim(f"PCN000{n}", f"ICN100{n}") for n in (1, 2, 3)]
    for n, c in enumerate(posted, start=1):
        await post_835(client, interchange((header(f"EFT{n}", bpr02([c])), [c], []), isa=n))
    seen, url = await _page(client, f"{BASE}/{EOB}?_count=1")
    assert [e["claim"]["reference"] for e in seen] == ["Claim/PCN0003"]
    # meanwhile the payer reverses PCN0001's payment and PCN0002's patient account becomes known: both change
    back = [reversal_of(posted[0])]
    await post_835(client, interchange((header("EFT4", bpr02(back)), back, []), isa=4))
    await billed(engine, "PCN0002", "A2")
    while url:
        entries, url = await _page(client, url)
        seen += entries
    assert [(e["claim"]["reference"], e["status"]) for e in seen] == [
        ("Claim/PCN0003", "active"),
        ("Claim/PCN0002", "active"),
        ("Claim/PCN0001", "cancelled"),  # reversed since the pass began: seen, as it is now
    ]  # the reversal itself was posted after the pass began: ahead of it, the next pass's
    assert seen[1]["patient"] == {"reference": "Patient/A2"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # SQLite plans without statistics: by the schema
async def test_each_eob_search_reads_by_its_own_index(stack: tuple[Any, Any]) -> None:
    """A search by claim, patient or identifier finds its few payments by their own index, on every page; a
    search by none walks the tenant's 835s in posting order (ix_remittance_tenant_posted) and their payments,
    stopping at the page."""
    client, engine = stack
    posted = [paid_claim(f"PCN000{n}", f"ICN100{n}") for n in (1, 2)]
    await post_835(client, interchange((header("EFT1", bpr02(posted)), posted, [])))
    await billed(engine, "PCN0001", "A1")
    await billed(engine, "PCN0002", "A1")
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if statement.startswith("SELECT") and "FROM claim_payment JOIN remittance" in statement:
            statements.append((statement, parameters))

    app_engine = client.app.state.engine
    posted_order, by_claim = "ix_remittance_tenant_posted", "ix_claim_payment_tenant_claim"
    expected = {
        "": [posted_order],
        "claim=PCN0001,PCN0002": [by_claim],
        "patient=A1": ["ix_billed_claim_tenant_account", by_claim],
        "identifier=ICN1001,ICN1002": ["ix_claim_payment_tenant_pccn"],
        "_lastUpdated=gt2000-01-01&created=gt2000-01-01&claim=PCN0001,PCN0002": [by_claim],
        "_lastUpdated=gt2000-01-01&patient=A1": ["ix_billed_claim_tenant_account", by_claim],
        "created=gt2000-01-01": [posted_order],
        "_lastUpdated=gt2000-01-01": [],  # a range of the _lastUpdated index, or the order's filtered
    }
    for query, indexes in expected.items():
        statements.clear()
        event.listen(app_engine.sync_engine, "before_cursor_execute", seen)
        try:
            url = f"{BASE}/{EOB}?_count=1&{query}"
            pages = 0
            while url:
                _entries, url = await _page(client, url)
                pages += 1
        finally:
            event.remove(app_engine.sync_engine, "before_cursor_execute", seen)
        assert pages == 2 and len(statements) == 2, query  # the first page and one after a cursor
        async with app_engine.connect() as conn:
            for statement, parameters in statements:
                plan = [row[3] for row in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                steps = " | ".join(plan)
                assert all(index in steps for index in indexes) and "SCAN" not in steps, (query, plan)
                if indexes == [posted_order]:  # read from the cursor on, up to the page: one 835's payments sorted
                    sorted_all = "TEMP B-TREE FOR ORDER BY" in steps
                    assert not sorted_all and "MULTI-INDEX" not in steps, (query, plan)
                elif indexes:  # its few payments sorted, never the tenant's walked in an index's order
                    assert posted_order not in steps and "updated" not in steps, (query, plan)


async def test_a_claim_level_payment_is_a_header_benefit_and_the_benefits_add_up(client: Any) -> None:
    """CLP04 85.00 with its one line paying 80.00: the 5.00 paid at claim level is a header-level benefit,
    named as such, so the items' and the header's benefits add up to the total benefit; in the payer's
    reversal of it too."""
    c = claim(
        "PCN0005",
        "1",
        "125.00",
        "85.00",
        "ICN5",
        patient_resp="20.00",
        lines=[line("99213", "125.00", "80.00", [("CO", "45", "25.00"), ("PR", "1", "20.00")], "PCN0005-1")],
        adjustments=[("OA", "94", "-5.00")],
    )
    h = header("EFT5", bpr02([c]))
    (posted,) = await post_835(client, interchange((h, [c], [])))
    assert posted["status"] == "posted", posted
    eob = await eob_of(client, "PCN0005")
    assert_eob_says(eob, c, h)  # items + header = total, among what it checks
    (difference,) = [a for a in eob["adjudication"] if a["category"]["coding"][0]["code"] == "benefit"]
    assert difference["amount"] == {"value": 5.0, "currency": "USD"}
    assert "claim-level payment" in difference["reason"]["text"].lower()
    back = reversal_of(c)
    back_header = header("EFT6", bpr02([back]))
    await post_835(client, interchange((back_header, [back], []), isa=2))
    found = await search(client, EOB, {"claim": "Claim/PCN0005"})
    (reversal,) = [e for e in found if e["disposition"] == "Reversal of Previous Payment"]
    assert_eob_says(reversal, back, back_header, status="cancelled")  # the difference negated with the rest
