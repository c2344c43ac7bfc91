"""Payer contracts (denials/api/contracts.py, use_cases/contracts.py, domain/contracts.py): versions with effective
dates, every bad field or row reported, CSV and JSON imports as a dry run or applied, exports that import back,
and each tenant's own (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from builders.contracts import billed, billed_claim, contract
from contract_steps import bill, enter, expected_payment, headers
from denials.domain.contracts import StoredVersion, Terms, in_effect
from denials.domain.medicare import load

DATA = Path(__file__).parent / "data"
CSV = "text/csv"


def csv_headers(tenant: str = "org-1") -> dict[str, str]:
    return {**headers(tenant), "Content-Type": CSV}


async def test_a_change_is_a_new_version_and_the_old_one_is_kept(client: Any) -> None:
    first = await enter(client, contract(name="ACME commercial", note="signed 2025-11-20"))
    assert (first["version"], first["payer_id"], first["plan"], first["default_rule"]) == (1, "ACME01", None, "none")
    assert first["fee_lines"] == [
        {"code": "36415", "modifier": "", "rate_cents": 300},
        {"code": "99213", "modifier": "", "rate_cents": 9250},
    ]
    body = contract(
        rates={("99213", ""): 9500, ("71046", "26"): 1100},
        effective_from=date(2026, 7, 1),
        default_rule="percent_of_charges",
        default_percent="65",
        multiple_procedure=False,
    )
    second = await enter(client, body)
    assert second["id"] == first["id"] and second["version"] == 2 and second["created_by"] == "maria"
    assert (second["default_rule"], second["default_percent"], second["multiple_procedure"]) == (
        "percent_of_charges",
        "65",
        False,
    )
    assert [(v["version"], v["effective_from"], v["fee_lines"]) for v in second["versions"]] == [
        (1, "2026-01-01", 2),
        (2, "2026-07-01", 2),
    ]
    old = (await client.get(f"/v1/contracts/{first['id']}?version=1", headers=headers())).json()
    assert old["fee_lines"] == first["fee_lines"] and old["note"] == "signed 2025-11-20"
    (listed,) = (await client.get("/v1/contracts", headers=headers())).json()
    assert (listed["version"], listed["fee_lines"], listed["name"]) == (2, 2, "ACME commercial")
    plan = await enter(client, contract(plan="GOLD"))  # a plan's own contract is another contract
    assert plan["id"] != first["id"] and plan["version"] == 1 and plan["plan"] == "GOLD"


async def test_a_version_with_a_bad_field_is_refused_naming_each_and_writes_nothing(client: Any) -> None:
    body = contract(rates={("9921", ""): 9250, ("99214", "ABC"): 100, ("99215", ""): 0})
    body["default_rule"], body["default_percent"] = "percent_of_charges", "0"
    r = await client.post("/v1/contracts", json=body, headers=headers())
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"fee_lines[0].code", "fee_lines[1].modifier", "fee_lines[2].rate_cents", "default_percent"}
    r = await client.post(
        "/v1/contracts", json=contract(default_rule="percent_of_medicare", default_percent="120"), headers=headers()
    )
    assert r.status_code == 422 and "Medicare fee schedule" in r.text, r.text
    assert (await client.get("/v1/contracts", headers=headers())).json() == []


BAD_CSV = """payer_id,plan,code,modifier,rate,effective_from,effective_to
ACME01,,99213,,92.50,2026-01-01,
ACME01,,99214,,abc,2026-01-01,
ACME01,,99215,,185.00,2026-13-01,
ACME01,,99213,,93.00,2026-01-01,
,,99212,,57.00,2026-01-01,
ACME01,,71046,26,11.00,2026-01-01,

MCRB1,,99213,,81.00,2026-01-01,2026-12-31
MCRB1,,99214,XYZ,1.00,2026-01-01,2026-12-31
MCRB1,,99215,,1.234,2026-01-01,2026-12-31
BCBS1,,99213,,88.00,2026-01-01,2026-12-31
BCBS1,,99214,,120.00,2026-01-01,2026-12-31
"""


async def test_an_import_reports_every_bad_row_and_a_dry_run_changes_nothing(client: Any) -> None:
    """ACME01's version (rows 2, 7) has bad rows 3 and 5 (rate, 99213 twice) and may have rows 4 (its date
    cannot be read) and 6 (its payer cannot be read): refused. MCRB1's (row 9) has rows 10 and 11: refused.
    BCBS1's rows are all good: the one version written."""
    r = await client.post("/v1/contracts:import", content=BAD_CSV, headers=csv_headers())
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows"], report["accepted"], report["applied"]) == (11, 2, False)
    assert [(e["row"], e["field"]) for e in report["rejected"]] == [
        (3, "rate"),
        (4, "effective_from"),
        (5, "code"),  # 99213 again for the same contract and dates
        (6, "payer_id"),
        (10, "modifier"),
        (11, "rate"),
    ]
    assert "row 2" in report["rejected"][2]["reason"] and "2 decimals" in report["rejected"][5]["reason"]
    assert [(v["payer_id"], v["version"], v["fee_lines"], v["rows"], v["contract_id"]) for v in report["versions"]] == [
        ("BCBS1", 1, 2, [12, 13], None),
    ]
    assert [(v["payer_id"], v["effective_to"], v["rows"], v["because_of"]) for v in report["refused"]] == [
        ("ACME01", None, [2, 7], [3, 4, 5, 6]),
        ("MCRB1", "2026-12-31", [9], [10, 11]),
    ]
    assert (await client.get("/v1/contracts", headers=headers())).json() == []


async def test_an_applied_import_writes_only_the_versions_without_a_bad_row(client: Any) -> None:
    r = await client.post("/v1/contracts:import?dry_run=false", content=BAD_CSV, headers=csv_headers())
    assert r.status_code == 200 and r.json()["applied"] is True, r.text
    assert len(r.json()["rejected"]) == 6 and len(r.json()["refused"]) == 2
    (bcbs,) = (await client.get("/v1/contracts", headers=headers())).json()
    written = (await client.get(f"/v1/contracts/{bcbs['id']}", headers=headers())).json()
    assert written["fee_lines"] == [
        {"code": "99213", "modifier": "", "rate_cents": 8800},
        {"code": "99214", "modifier": "", "rate_cents": 12000},
    ]
    assert (written["source"], written["default_rule"], written["lesser_of_charge"]) == ("import", "none", True)
    assert written["effective_to"] == "2026-12-31"


async def test_a_version_with_a_bad_row_is_not_written_and_no_rate_is_dropped(client: Any) -> None:
    """Version 1 pays 99213 92.50 and 36415 3.00. A file for April on: 99213 at 95.00, 36415 at 'x'. Written
    without the bad row, version 2 would have no 36415 line and price it no_rate from April; it is refused."""
    await enter(client, contract(rates={("99213", ""): 9250, ("36415", ""): 300}))
    text = (
        "payer_id,plan,code,modifier,rate,effective_from,effective_to\n"
        "ACME01,,99213,,95.00,2026-04-01,\n"
        "ACME01,,36415,,x,2026-04-01,\n"
    )
    r = await client.post("/v1/contracts:import?dry_run=false", content=text, headers=csv_headers())
    report = r.json()
    assert (report["versions"], report["accepted"], [(e["row"], e["field"]) for e in report["rejected"]]) == (
        [],
        0,
        [(3, "rate")],
    )
    assert [(v["effective_from"], v["rows"], v["because_of"]) for v in report["refused"]] == [("2026-04-01", [2], [3])]
    await bill(client, billed_claim("A1", [billed(1, "36415", 1500, service_date=date(2026, 4, 2))]))
    (line,) = (await expected_payment(client, "A1"))["lines"]
    assert (line["contract_version"], line["rule"], line["expected_allowed_cents"]) == (1, "fee_schedule", 300)


async def test_a_csv_import_carries_the_contracts_terms_and_adds_a_version(client: Any) -> None:
    first = await enter(client, contract(default_rule="percent_of_charges", default_percent="70"))
    text = "payer_id,plan,code,modifier,rate,effective_from,effective_to\nACME01,,99213,,$95.00,2026-04-01,\n"
    r = await client.post("/v1/contracts:import?dry_run=false", content=text, headers=csv_headers())
    assert r.json()["versions"][0]["contract_id"] == first["id"] and r.json()["versions"][0]["version"] == 2
    now = (await client.get(f"/v1/contracts/{first['id']}", headers=headers())).json()
    assert (now["default_rule"], now["default_percent"], now["fee_lines"]) == (
        "percent_of_charges",
        "70",
        [{"code": "99213", "modifier": "", "rate_cents": 9500}],
    )


async def test_exports_import_back_as_the_same_contract(client: Any) -> None:
    body = contract(
        rates={("99213", ""): 9250, ("71046", "TC"): 2875},
        default_rule="percent_of_charges",
        default_percent="62.5",
        bilateral_percent="150",
        lesser_of_charge=False,
        name="ACME 2026",
    )
    made = await enter(client, body)
    r = await client.get(f"/v1/contracts/{made['id']}:export?format=csv", headers=headers())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    assert r.text.splitlines() == [
        "payer_id,plan,code,modifier,rate,effective_from,effective_to",
        "ACME01,,71046,TC,28.75,2026-01-01,",
        "ACME01,,99213,,92.50,2026-01-01,",
    ]
    r = await client.get(f"/v1/contracts/{made['id']}:export?format=json", headers=headers())
    document = r.json()
    assert document["id"] == made["id"] and "attachment" in r.headers["content-disposition"]
    # the JSON export is a whole contract: another organization imports it as its own
    r = await client.post("/v1/contracts:import?dry_run=false", json=[document], headers={**headers("org-2")})
    assert r.status_code == 200 and r.json()["rejected"] == [], r.text
    (theirs,) = (await client.get("/v1/contracts", headers=headers("org-2"))).json()
    copy = (await client.get(f"/v1/contracts/{theirs['id']}", headers=headers("org-2"))).json()
    same = ("payer_id", "plan", "effective_from", "default_rule", "default_percent", "lesser_of_charge", "fee_lines")
    assert {k: copy[k] for k in same} == {k: made[k] for k in same} and copy["id"] != made["id"]


async def test_a_json_import_names_the_contract_and_field_of_each_problem(client: Any) -> None:
    good = contract(payer="MCRB1")
    bad_line = contract(rates={("99213", ""): 9250, ("99214", ""): -5})
    bad_terms = contract(payer="BCBS1", default_rule="half_of_charges")
    r = await client.post("/v1/contracts:import", json=[good, bad_line, bad_terms, "x"], headers=headers())
    report = r.json()
    assert [(e["row"], e["field"]) for e in report["rejected"]] == [
        (2, "fee_lines[1].rate_cents"),
        (3, "default_rule"),
        (4, ""),
    ]
    # a contract with a bad fee line is refused whole: written without it, 99214's rate would be dropped
    assert [(v["payer_id"], v["fee_lines"]) for v in report["versions"]] == [("MCRB1", 2)]
    assert [(v["payer_id"], v["rows"], v["because_of"]) for v in report["refused"]] == [("ACME01", [2], [2])]
    assert (report["rows"], report["accepted"]) == (4, 2)
    r = await client.post(
        "/v1/contracts:import", content="{not json", headers={**headers(), "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    r = await client.post("/v1/contracts:import", content="x", headers={**headers(), "Content-Type": "text/plain"})
    assert r.status_code == 415, r.text
    r = await client.post("/v1/contracts:import", content="code,rate\n", headers=csv_headers())
    assert r.status_code == 422 and "header" in r.json()["detail"], r.text


async def test_a_percent_of_medicare_contract_needs_a_locality_the_schedule_has(client: Any) -> None:
    client.app.state.medicare = load(
        DATA / "PPRRVU25_JAN_excerpt.csv", DATA / "GPCI2025_excerpt.csv", Decimal("32.3465")
    )
    terms = {"default_rule": "percent_of_medicare", "default_percent": "120"}
    made = await enter(client, contract(rates={}, medicare_locality="0710213", **terms))
    assert made["medicare_locality"] == "0710213"
    r = await client.post(
        "/v1/contracts", json=contract(rates={}, medicare_locality="0999999", **terms), headers=headers()
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "medicare_locality", r.text


async def test_an_organization_never_sees_another_ones_contracts(client: Any) -> None:
    mine = await enter(client, contract())
    assert (await client.get("/v1/contracts", headers=headers("org-2"))).json() == []
    for path in (f"/v1/contracts/{mine['id']}", f"/v1/contracts/{mine['id']}:export?format=csv"):
        assert (await client.get(path, headers=headers("org-2"))).status_code == 404
    theirs = await enter(client, contract(rates={("99213", ""): 5000}), tenant="org-2")
    assert theirs["id"] != mine["id"] and theirs["version"] == 1  # the same payer is another contract there


def _version(number: int, start: date, end: date | None) -> StoredVersion:
    return StoredVersion(f"v{number}", "c1", number, start, end, Terms())


def test_the_newest_version_whose_window_holds_the_date_is_in_effect() -> None:
    """v1 from January, open; v2 corrects March only; v3 (entered last) from February on, retroactively."""
    versions = [
        _version(1, date(2026, 1, 1), None),
        _version(2, date(2026, 3, 1), date(2026, 3, 31)),
        _version(3, date(2026, 2, 1), None),
    ]
    chosen = {d: in_effect(versions, d) for d in (date(2025, 12, 31), date(2026, 1, 15), date(2026, 3, 10))}
    assert chosen[date(2025, 12, 31)] is None
    assert [chosen[d].version for d in (date(2026, 1, 15), date(2026, 3, 10))] == [1, 3]  # type: ignore[union-attr]
    assert in_effect(versions[:2], date(2026, 3, 10)).version == 2  # type: ignore[union-attr]
    assert in_effect(versions[:2], date(2026, 4, 1)).version == 1  # type: ignore[union-attr]


async def test_a_write_racing_another_on_the_same_contract_is_a_409(client: Any, monkeypatch: Any) -> None:
    """Two requests read the contracts at once: the second's read misses the contract (or the version) the first
    then writes. Its insert hits the unique key: a 409 saying so, not a 500, and nothing of it written."""
    from denials.repository.contracts import ContractRepository

    first = await enter(client, contract())

    async def nothing_yet(self: Any, keys: Any) -> dict[Any, Any]:
        return {}  # as read before the first request committed

    with monkeypatch.context() as m:
        m.setattr(ContractRepository, "by_key", nothing_yet)
        r = await client.post("/v1/contracts", json=contract(rates={("99213", ""): 9900}), headers=headers())
    assert r.status_code == 409 and "created meanwhile" in r.json()["detail"], r.text
    with monkeypatch.context() as m:
        m.setattr(ContractRepository, "latest_numbers", nothing_yet)
        r = await client.post("/v1/contracts", json=contract(rates={("99213", ""): 9900}), headers=headers())
    assert r.status_code == 409 and "version 1 of contract" in r.json()["detail"], r.text
    now = (await client.get(f"/v1/contracts/{first['id']}", headers=headers())).json()
    assert (len(now["versions"]), now["fee_lines"][1]["rate_cents"]) == (1, 9250)
