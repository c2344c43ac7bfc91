"""The charge master (claims.use_cases.charge_master): versions by effective dates, CSV imports (dry run and
applied), and charge entry pricing lines without a charge from it (CM001 when nothing prices them).

Through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from builders import T
from builders.encounters import DOS, TODAY, days_ago, encounter
from claims.domain import charge_master as cm
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
)

OTHER = {"X-Tenant-ID": "org-2"}
HEADER = "code,modifiers,revenue_code,description,price,effective_from,effective_to\n"
# The versions the tests keep live in last year: their dates mean nothing to the clock, and move with it.
Y = TODAY.year - 1


def item(code: str = "99214", price: str = "150.00", since: str = f"{Y}-01-01", **more: Any) -> dict[str, Any]:
    return {"code": code, "description": f"office visit {code}", "price": price, "effective_from": since, **more}


async def post(client: Any, body: dict[str, Any], headers: dict[str, str] = T) -> dict[str, Any]:
    r = await client.post("/v1/charge-master", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def items(client: Any, headers: dict[str, str] = T, **query: str) -> list[dict[str, Any]]:
    r = await client.get("/v1/charge-master", params=query, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


async def import_csv(client: Any, text: str, *, dry_run: bool) -> Any:
    return await client.post(
        "/v1/charge-master:import",
        params={"dry_run": str(dry_run).lower()},
        content=text.encode(),
        headers={**T, "Content-Type": "text/csv"},
    )


async def test_the_newest_price_whose_window_holds_the_date_prices_it_and_past_dates_keep_theirs(client: Any) -> None:
    old = await post(client, item(price="150.00", since=f"{Y}-01-01", modifiers=["25"]))
    assert (old["modifiers"], old["price_cents"], old["version"], old["effective_to"]) == (["25"], 15000, 1, None)
    new = await post(client, item(price="160.00", since=f"{Y}-07-01", modifiers=["25"]))
    versions = await items(client, code="99214")
    assert [(v["version"], v["price_cents"], v["effective_from"], v["effective_to"]) for v in versions] == [
        (1, 15000, f"{Y}-01-01", None),  # nothing closed in place: version 2 is newer from its start on
        (2, 16000, f"{Y}-07-01", None),
    ]
    assert [v["id"] for v in await items(client, code="99214", on=f"{Y}-03-15")] == [old["id"]]
    assert [v["id"] for v in await items(client, on=f"{Y}-07-01")] == [new["id"]]
    assert await items(client, on=f"{Y - 1}-12-31") == []
    # the same start again: a typo fixed the same day; and a backdated price for one month
    fixed = await post(client, item(price="165.00", since=f"{Y}-07-01", modifiers=["25"]))
    march = await post(client, item(price="140.00", since=f"{Y}-03-01", modifiers=["25"], effective_to=f"{Y}-03-31"))
    assert (fixed["version"], march["version"]) == (3, 4)
    on = [
        [v["price_cents"] for v in await items(client, code="99214", on=f"{Y}-{d}")]
        for d in ("02-28", "03-15", "04-01", "07-01")
    ]
    assert on == [[15000], [14000], [15000], [16500]]
    r = await client.post("/v1/charge-master", json=item(code="9921", price="-1", since=f"{Y}-01-01"), headers=T)
    assert r.status_code == 422
    assert await items(client, OTHER) == []  # another tenant sees none of it


async def test_import_dry_run_reports_every_bad_row_and_changes_nothing(client: Any) -> None:
    text = HEADER + (
        f"99214,25,,Office visit est. moderate,150.00,{Y}-01-01,\n"  # row 2: good
        f"9921X,,,Bad code,10.00,{Y}-01-01,\n"  # row 3: code
        f"83036,,,HbA1c,12.345,{Y}-01-01,\n"  # row 4: 3 decimals
        "\n"  # blank: skipped (a row number still)
        f"83036,25 59 76 77 91,,HbA1c,45.50,{Y}-13-01,\n"  # row 6: modifiers, effective_from
        f"G0439,,,Annual wellness visit,175.00,{Y}-02-01,{Y}-01-31\n"  # row 7: effective_to before from
        f"0450,,,Emergency room,900.00,{Y}-01-01,\n"  # row 8: good (a revenue code)
        f"99214,25,,Office visit again,155.00,{Y}-01-01,\n"  # row 9: good, a newer version than row 2's
    )
    r = await import_csv(client, text, dry_run=True)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows"], report["accepted"], report["applied"]) == (7, 3, False)
    assert [(e["row"], e["field"]) for e in report["rejected"]] == [
        (3, "code"),
        (4, "price"),
        (6, "modifiers"),
        (6, "effective_from"),
        (7, "effective_to"),
    ]
    assert await items(client) == []  # the dry run wrote nothing


async def test_import_applied_writes_only_the_good_rows(client: Any) -> None:
    await post(client, item(code="83036", price="40.00", since=f"{Y}-01-01"))
    text = HEADER + (
        f"83036,,,HbA1c,45.50,{Y}-06-01,\n"  # version 2: newer than the stored one from June 1
        f"99214,59:25,,Office visit,150.00,{Y}-01-01,\n"
        f"99214,25 59,,Office visit,170.00,{Y}-09-01,\n"  # the same item: version 2, in file order
        f"99213,,,Office visit,abc,{Y}-01-01,\n"
        f"99214,25:59,,Office visit,145.00,{Y}-01-01,{Y}-01-31\n"  # version 3: January only
    )
    r = await import_csv(client, text, dry_run=False)
    report = r.json()
    assert (report["rows"], report["accepted"], report["applied"]) == (5, 4, True)
    assert [(e["row"], e["field"]) for e in report["rejected"]] == [(5, "price")]
    got = [
        (v["code"], v["modifiers"], v["version"], v["price_cents"], v["effective_from"], v["effective_to"])
        for v in await items(client)
    ]
    assert got == [
        ("83036", [], 1, 4000, f"{Y}-01-01", None),
        ("83036", [], 2, 4550, f"{Y}-06-01", None),
        ("99214", ["25", "59"], 1, 15000, f"{Y}-01-01", None),
        ("99214", ["25", "59"], 2, 17000, f"{Y}-09-01", None),
        ("99214", ["25", "59"], 3, 14500, f"{Y}-01-01", f"{Y}-01-31"),
    ]
    priced = [
        [v["price_cents"] for v in await items(client, code="99214", on=f"{Y}-{d}")]
        for d in ("01-15", "02-01", "09-01")
    ]
    assert priced == [[14500], [15000], [17000]]
    bad = await import_csv(client, "code,price\n99214,1.00\n", dry_run=True)
    assert bad.status_code == 422 and bad.json()["row"] == 1
    bad = await import_csv(client, HEADER + "99214,,,Visit,1.00\n", dry_run=False)
    assert bad.status_code == 422 and bad.json()["row"] == 2 and "row 2" in bad.json()["detail"]
    assert len(await items(client)) == 5


async def test_a_line_without_a_charge_is_priced_at_its_date_of_service(client: Any) -> None:
    dos = date.fromisoformat(DOS)
    await post(client, item(price="150.00", since=(dos - timedelta(days=100)).isoformat(), modifiers=["25"]))
    await post(client, item(price="180.00", since=(dos + timedelta(days=1)).isoformat(), modifiers=["25"]))
    await post(client, item(code="83036", price="20.25", since=(dos - timedelta(days=5)).isoformat()))
    claim = await create(client, **{"lines.0.charge": ..., "lines.1.charge": ..., "lines.1.units": "2"})
    assert claim["state"] == "ready" and claim["edits"] == [], claim["edits"]
    assert [line["charge"] for line in claim["document"]["lines"]] == ["150.00", "40.50"]
    assert claim["charge_cents"] == 19050
    stored = (await client.get(f"/v1/claims/{claim['id']}", headers=T)).json()
    assert [line["charge"] for line in stored["document"]["lines"]] == ["150.00", "40.50"]
    kept = await create(client, **{"lines.1.charge": "99.00", "subscriber.member_id": "W2"})
    assert kept["charge_cents"] == 29900  # a line with a charge keeps it (and 99214's 200.00 too)
    r = await client.post(
        "/v1/claim-batches", json=[encounter(**{"lines.0.charge": ..., "subscriber.member_id": "W3"})], headers=T
    )
    assert r.status_code == 201 and r.json()[0]["document"]["lines"][0]["charge"] == "150.00"


async def test_a_line_with_no_price_gets_cm001_and_stays_draft(client: Any) -> None:
    await post(client, item(code="83036", price="45.50", since=days_ago(5)))  # after the date of service
    claim = await create(client, **{"lines.0.charge": ..., "lines.1.charge": ...})
    assert claim["state"] == "draft"
    cm001 = [e for e in claim["edits"] if e["rule"] == "CM001"]
    assert [(e["field"], e["severity"]) for e in cm001] == [("lines[0].charge", "error"), ("lines[1].charge", "error")]
    assert "99214" in cm001[0]["message"] and "25" in cm001[0]["message"] and DOS in cm001[0]["message"]
    assert claim["document"]["lines"][0]["charge"] is None and claim["charge_cents"] == 0
    # priced once the charge master has it: the edit of the claim prices it; 83036's price, entered from a day
    # after the visit, backdated by a newer version from before it
    await post(client, item(code="99214", price="150.00", since=days_ago(400), modifiers=["25"]))
    await post(client, item(code="83036", price="44.00", since=days_ago(400)))
    edited = encounter(**{"lines.0.charge": ..., "lines.1.charge": ...})
    r = await client.put(f"/v1/claims/{claim['id']}", json=edited, headers=T)
    assert r.status_code == 200 and r.json()["state"] == "ready", r.text
    assert r.json()["charge_cents"] == 15000 + 4400


async def test_another_tenants_price_is_never_used(client: Any) -> None:
    await post(client, item(price="150.00", since=days_ago(400), modifiers=["25"]), headers=OTHER)
    claim = await create(client, **{"lines.0.charge": ...})
    assert claim["state"] == "draft" and [e["rule"] for e in claim["edits"]] == ["CM001"]
    assert await items(client) == [] and len(await items(client, OTHER)) == 1


def test_rows_are_checked_field_by_field() -> None:
    row = {
        "code": "j3490",
        "modifiers": "rt:lt",
        "description": "Drug",
        "price": "$1.50",
        "effective_from": f"{Y}-01-01",
    }
    checked = cm.check_row(row, 2)
    assert isinstance(checked, cm.NewItem)
    assert (checked.code, checked.modifiers, checked.price_cents) == ("J3490", "LT:RT", 150)
    errors = cm.check_row({"code": "0450", "modifiers": "25", "price": "0", "effective_from": "x"}, 7)
    assert isinstance(errors, list)
    assert [(e.row, e.field) for e in errors] == [
        (7, "modifiers"),
        (7, "description"),
        (7, "price"),
        (7, "effective_from"),
    ]
    versions = [
        cm.Version("a", "99214", "", 100, date(Y, 1, 1), None, 1),
        cm.Version("b", "99214", "", 200, date(Y, 7, 1), None, 2),
        cm.Version("c", "99214", "", 150, date(Y, 3, 1), date(Y, 3, 31), 3),
    ]
    assert cm.in_effect(versions, date(Y, 6, 30)) is versions[0]
    assert cm.in_effect(versions, date(Y, 3, 31)) is versions[2]  # newer than "a", in its window only
    assert cm.in_effect(versions, date(Y + 1, 1, 1)) is versions[1]
    assert cm.in_effect(versions, date(Y - 1, 12, 31)) is None
    new = cm.check_row({**row, "code": "99214", "modifiers": ""}, 3)
    assert isinstance(new, cm.NewItem)
    planned = cm.plan([new, new, checked], {("99214", ""): 3})
    assert [(p.code, p.version) for p in planned] == [("99214", 4), ("99214", 5), ("J3490", 1)]
