"""Acknowledgments (claims.use_cases.acknowledgments): 999 and 277CA findings applied to the claims, and a file
in the inbound folder applied to the tenant whose clearinghouse connection it is addressed to
(``rcm_shared.x12.routing``), or quarantined and listed for review (``GET /v1/inbound/quarantine``).

Through the API, on SQLite and PostgreSQL, with the real broker where events are consumed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import T
from builders.acks import ack_277ca, ack_999, controls
from builders.encounters import encounter
from claims_steps import (
    claims_client,  # noqa: F401 - the client fixture
    create,
    submit,
)
from practice_steps import connection, enter_practice, profile

OPERATOR = {"X-Tenant-ID": "org-1"}  # the default organization (CLAIMS_DEFAULT_TENANT in these tests)


@pytest.fixture(autouse=True)
def _ack_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The acknowledgment folder of the app under test (before the app starts: autouse fixtures come first)."""
    monkeypatch.setenv("CLAIMS_INBOUND_ACK_DIR", str(tmp_path / "acks"))


async def test_999_rejection_and_277ca_acceptance(client: Any) -> None:
    a = await create(client)
    b = await create(client, **{"subscriber.member_id": "W2"})
    await submit(client, a["id"])
    await submit(client, b["id"])
    gs_a, st_a = controls((await client.get(f"/v1/claims/{a['id']}/x12", headers=T)).text)
    r = await client.post("/v1/acknowledgments", content=ack_999(gs_a, st_a, accepted=False), headers=T)
    assert r.status_code == 200 and r.json()["claims_updated"] == [a["id"]]
    rejected = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    assert rejected["state"] == "rejected"
    finding = rejected["status_detail"]["findings"][0]
    assert finding["segment"] == "NM1" and finding["elements"][0]["problem"] == "invalid code value"
    r = await client.post("/v1/acknowledgments", content=ack_277ca(b["id"], accepted=True), headers=T)
    assert r.json() == {"kind": "277CA", "claims_updated": [b["id"]], "unknown": []}
    accepted = (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()
    assert accepted["state"] == "accepted" and accepted["payer_claim_control_number"] == "PAYERICN1"
    bad = await client.post("/v1/acknowledgments", content=b"ISA*00*garbage", headers=T)
    assert bad.status_code == 422


async def test_one_277ca_for_many_claims_applies_its_findings_in_order(client: Any) -> None:
    a, b = await create(client), await create(client, **{"subscriber.member_id": "W2"})
    for claim in (a, b):
        await submit(client, claim["id"])
    # a accepted, b rejected, a claim we never billed, then a again, rejected: too late, recorded only
    ack = ack_277ca(a["id"], True, also=((b["id"], False), ("CNOTOURS", True), (a["id"], False)))
    r = await client.post("/v1/acknowledgments", content=ack, headers=T)
    assert r.json() == {"kind": "277CA", "claims_updated": [a["id"], b["id"], a["id"]], "unknown": ["CNOTOURS"]}
    got_a = (await client.get(f"/v1/claims/{a['id']}", headers=T)).json()
    got_b = (await client.get(f"/v1/claims/{b['id']}", headers=T)).json()
    assert (got_a["state"], got_a["payer_claim_control_number"]) == ("accepted", "PAYERICN1")
    assert got_a["status_detail"]["codes"] == ["A7:562:85"]  # the last finding is the one shown
    assert datetime.fromisoformat(got_a["updated_at"]).utcoffset() == timedelta(0)  # with its offset, on SQLite too
    assert (got_b["state"], got_b["payer_claim_control_number"]) == ("rejected", None)
    history = (await client.get(f"/v1/claims/{a['id']}/history", headers=T)).json()
    assert [h["to_state"] for h in history].count("accepted") == 1 and "rejected" not in [
        h["to_state"] for h in history
    ]
    records = (await client.get(f"/v1/claims/{a['id']}/status-records", headers=T)).json()
    assert [r["codes"] for r in records if r["source"] == "277CA"] == [["A2:20:PR"], ["A7:562:85"]]


def addressed(x12: str, to: str, sender: str = "CLEARINGHOUSE") -> str:
    """The interchange sent by ``sender`` to ``to`` (ISA06/ISA08 and GS02/GS03)."""
    out = []
    for segment in x12.split("~"):
        e = segment.split("*")
        if e[0].strip() == "ISA":
            e[6], e[8] = sender.ljust(15), to.ljust(15)
        elif e[0].strip() == "GS":
            e[2], e[3] = sender, to
        out.append("*".join(e))
    return "~".join(out)


async def submitted(client: Any, tenant: str, member_id: str = "W1") -> str:
    headers = {"X-Tenant-ID": tenant}
    r = await client.post("/v1/claims", json=encounter(**{"subscriber.member_id": member_id}), headers=headers)
    claim_id = str(r.json()["id"])
    assert (await client.post(f"/v1/claims/{claim_id}/submit", headers=headers)).status_code == 200
    return claim_id


async def state(client: Any, tenant: str, claim_id: str) -> str:
    return str((await client.get(f"/v1/claims/{claim_id}", headers={"X-Tenant-ID": tenant})).json()["state"])


async def test_a_file_in_the_folder_is_applied_to_the_tenant_it_is_addressed_to(
    client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from claims.background import read_ack_folder

    await enter_practice(client, "org-a", practice=profile("Alpha", connections=[connection("ALPHA01")]))
    await enter_practice(client, "org-b", practice=profile("Beta", connections=[connection("BETA02")]))
    a, b = await submitted(client, "org-a"), await submitted(client, "org-b")
    folder = tmp_path / "acks"
    folder.mkdir()
    # addressed to B: B's claim is accepted; A's claim, named in the same file, is not B's to touch
    (folder / "1-beta.277").write_text(addressed(ack_277ca(b, True, also=((a, False),)), "BETA02"))
    # addressed to A by its group only (an interchange id of the clearinghouse's own): still A's
    to_a = addressed(ack_277ca(a, True, pccn="ICN-A"), "ALPHA01")
    (folder / "2-alpha.277").write_text(to_a.replace("ALPHA01        ", "CHMAILBOX01    ", 1))
    # addressed to nobody known: quarantined
    (folder / "3-stranger.277").write_text(addressed(ack_277ca(b, False), "STRANGER"))
    # one interchange to A and one to nobody: the whole file is quarantined, so the stranger's findings are
    # never applied to A's claims
    mixed = addressed(ack_277ca(a, False), "ALPHA01") + addressed(ack_277ca(a, False), "STRANGER")
    (folder / "4-mixed.277").write_text(mixed)
    with caplog.at_level(logging.WARNING, logger="claims.background"):
        assert await read_ack_folder(client.app.state.engine, folder) == 2
    assert await state(client, "org-b", b) == "accepted"
    a_now = (await client.get(f"/v1/claims/{a}", headers={"X-Tenant-ID": "org-a"})).json()
    assert (a_now["state"], a_now["payer_claim_control_number"]) == ("accepted", "ICN-A")  # by its own file only
    assert sorted(p.name for p in (folder / "processed").iterdir()) == ["1-beta.277", "2-alpha.277"]
    failed = folder / "failed"
    assert sorted(p.name for p in failed.iterdir()) == [
        "3-stranger.277",
        "3-stranger.277.error.txt",
        "4-mixed.277",
        "4-mixed.277.error.txt",
    ]
    why = (failed / "3-stranger.277.error.txt").read_text()
    assert "no organization's clearinghouse connection has" in why and "ISA08 'STRANGER'" in why
    assert "ISA06 'CLEARINGHOUSE'" in why and "PUT /v1/practice" in why
    assert "ISA08 'ALPHA01'" not in (failed / "4-mixed.277.error.txt").read_text()  # names the unknown one
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["acknowledgment quarantined: addressed to no practice"] * 2
    assert [(r.__dict__.get("file"), r.__dict__.get("cause")) for r in warnings] == [
        ("3-stranger.277", "no_connection"),
        ("4-mixed.277", "no_connection"),
    ]
    # each claim has the one finding of the file addressed to its tenant: none from another's, none quarantined
    for tenant, claim_id in (("org-a", a), ("org-b", b)):
        records = (await client.get(f"/v1/claims/{claim_id}/status-records", headers={"X-Tenant-ID": tenant})).json()
        assert [(r["source"], r["codes"]) for r in records if r["source"] == "277CA"] == [("277CA", ["A2:20:PR"])]
    # the office's review list: the quarantined files (not the unreadable ones), for the default organization
    listed = (await client.get("/v1/inbound/quarantine", headers=OPERATOR)).json()  # oldest first
    assert [(q["file"], q["cause"]) for q in listed] == [
        ("3-stranger.277", "no_connection"),
        ("4-mixed.277", "no_connection"),
    ]
    stranger = next(q for q in listed if q["file"] == "3-stranger.277")
    assert stranger["interchanges"] == [
        {
            "control_number": "000000001",
            "sender_id": "CLEARINGHOUSE",
            "receiver_id": "STRANGER",
            "groups": [{"sender_id": "CLEARINGHOUSE", "receiver_id": "STRANGER"}],
        }
    ]
    assert "ISA08 'STRANGER'" in stranger["reason"] and "PUT /v1/practice" in stranger["reason"]
    assert "DOE" not in str(listed) and "JANE" not in str(listed)  # envelope ids only, never the patient
    assert (await client.get("/v1/inbound/quarantine", headers={"X-Tenant-ID": "org-a"})).json() == []
    # moved back once the connection exists: read again, applied, no longer listed
    await enter_practice(
        client,
        "org-b",
        practice=profile("Beta", connections=[connection("BETA02"), connection("STRANGER", name="second")]),
    )
    (failed / "3-stranger.277").rename(folder / "3-stranger.277")
    (failed / "3-stranger.277.error.txt").unlink()
    assert await read_ack_folder(client.app.state.engine, folder) == 1
    assert [q["file"] for q in (await client.get("/v1/inbound/quarantine", headers=OPERATOR)).json()] == ["4-mixed.277"]


@pytest.mark.parametrize("others", [False, True], ids=["no connection anywhere", "another tenant has one"])
async def test_a_file_addressed_to_the_deployments_own_ids_is_the_default_tenants(
    client: Any, tmp_path: Path, others: bool
) -> None:
    """The settings' ids (CLAIMS_SUBMITTER_ID/RECEIVER_ID) are the default tenant's connection, also once another
    tenant registered one; ids no one registered are quarantined even while no tenant has a connection."""
    from claims.background import read_ack_folder

    claim = await submitted(client, "org-1")
    if others:
        await enter_practice(client, "org-a", practice=profile("Alpha", connections=[connection("ALPHA01")]))
    await enter_practice(client, "org-2", practice=profile("No connection"))  # a profile, but no connection
    folder = tmp_path / "acks"
    folder.mkdir()
    gs, st = controls((await client.get(f"/v1/claims/{claim}/x12", headers=T)).text)
    (folder / "answer.999").write_text(ack_999(gs, st, accepted=True))  # from CLEARINGHOUSE to RCMCLINIC
    (folder / "answer.277").write_text(ack_277ca(claim, True))
    (folder / "stranger.277").write_text(addressed(ack_277ca(claim, False), "ANYTHING"))
    (folder / "garbage.999").write_text("ISA*00*garbage")
    assert await read_ack_folder(client.app.state.engine, folder) == 2
    assert await state(client, "org-1", claim) == "accepted"
    assert sorted(p.name for p in (folder / "failed").iterdir()) == [
        "garbage.999",
        "garbage.999.error.txt",
        "stranger.277",
        "stranger.277.error.txt",
    ]
    listed = (await client.get("/v1/inbound/quarantine", headers=OPERATOR)).json()
    assert [q["file"] for q in listed] == ["stranger.277"]


async def test_a_999_addressed_to_a_tenant_answers_that_tenants_submission(client: Any, tmp_path: Path) -> None:
    """Submissions of two tenants may share control numbers: the 999's addressee says whose it answers."""
    from claims.background import read_ack_folder

    await enter_practice(client, "org-a", practice=profile("Alpha", connections=[connection("ALPHA01")]))
    await enter_practice(client, "org-b", practice=profile("Beta", connections=[connection("BETA02")]))
    a, b = await submitted(client, "org-a"), await submitted(client, "org-b")
    gs, st = controls((await client.get(f"/v1/claims/{b}/x12", headers={"X-Tenant-ID": "org-b"})).text)
    folder = tmp_path / "acks"
    folder.mkdir()
    (folder / "b.999").write_text(addressed(ack_999(gs, st, accepted=False), "BETA02"))
    assert await read_ack_folder(client.app.state.engine, folder) == 1
    assert (await state(client, "org-b", b), await state(client, "org-a", a)) == ("rejected", "submitted")
