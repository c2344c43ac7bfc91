"""The practice master data (claims.use_cases.practice) through the API: the organization profile's versions
and its ``practice.changed`` event, clearinghouse connections held by one organization only, providers,
service facilities and payer enrollments versioned by effective dates, each tenant's own, audited, and
bad input answered as RFC 9457 problems naming each field. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import ANY

from builders import T
from builders.encounters import TODAY
from builders.practice import (
    BAD_NPI,
    ORG_NPI,
    PERSON_NPI,
    connection,
    enrollment_body,
    facility_body,
    profile_body,
    provider_body,
)
from claims.models import audit, bus
from claims.repository import PracticeRepository
from claims_steps import claims_client  # noqa: F401 - the client fixture
from rcm_shared.payloads.claims import PracticeChangedV1
from sqlalchemy import select

OTHER = {"X-Tenant-ID": "org-2"}
EARLY = TODAY - timedelta(days=60)
LATER = TODAY + timedelta(days=30)


def day(d: Any) -> str:
    return str(d.isoformat())


async def put(client: Any, body: dict[str, Any], headers: dict[str, str] = T, status: int = 200) -> dict[str, Any]:
    r = await client.put("/v1/practice", json=body, headers=headers)
    assert r.status_code == status, r.text
    return dict(r.json())


async def post(client: Any, path: str, body: dict[str, Any], headers: dict[str, str] = T) -> dict[str, Any]:
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def practice_events(client: Any) -> list[tuple[str, str | None, PracticeChangedV1]]:
    """(topic, key, payload) of every practice.changed in the outbox, in order."""
    o = bus.outbox.c
    async with client.app.state.engine.connect() as conn:
        rows = await conn.execute(
            select(o.topic, o.key, o.payload).where(o.event_type == "practice.changed").order_by(o.id)
        )
        return [(topic, key, PracticeChangedV1.model_validate_json(payload)) for topic, key, payload in rows]


async def test_each_date_reads_the_newest_profile_version_in_effect_then(client: Any) -> None:
    first = await put(client, profile_body(EARLY))
    assert (first["version"], first["effective_from"], first["effective_to"]) == (1, day(EARLY), None)
    provider = first["billing_providers"][0]
    # stored as the 837 writes them: digits only
    assert (provider["tax_id"], provider["address"]["postal_code"], first["statement"]["phone"]) == (
        "123456789",
        "627011234",
        "8005550100",
    )
    second = await put(client, profile_body(LATER, legal_name="Valley Clinic PC"))
    assert (second["version"], second["effective_from"]) == (2, day(LATER))

    async def on(d: Any) -> tuple[int, str]:
        r = await client.get("/v1/practice", params={"on": day(d)}, headers=T)
        assert r.status_code == 200, r.text
        return r.json()["version"], r.json()["legal_name"]

    assert await on(TODAY) == (1, first["legal_name"]) and await on(LATER) == (2, "Valley Clinic PC")
    before = await client.get("/v1/practice", params={"on": day(EARLY - timedelta(1))}, headers=T)
    assert before.status_code == 404 and before.headers["content-type"] == "application/problem+json"
    # a typo fixed the same day: the newer version wins from its start on, over the later one too
    fixed = await put(client, profile_body(LATER, legal_name="Valley Clinic P.C."))
    assert fixed["version"] == 3 and await on(LATER) == (3, "Valley Clinic P.C.") and await on(TODAY) == (1, ANY)
    # backdated: a practice set up today bills last month's visits
    backdated = await put(client, profile_body(EARLY - timedelta(30), legal_name="Valley Family Clinic"))
    assert await on(EARLY - timedelta(1)) == (4, "Valley Family Clinic") == await on(LATER)
    assert backdated["version"] == 4
    versions = (await client.get("/v1/practice/versions", headers=T)).json()
    assert [(v["version"], v["legal_name"], v["effective_to"]) for v in versions] == [
        (1, first["legal_name"], None),  # the versions before stay as they were
        (2, "Valley Clinic PC", None),
        (3, "Valley Clinic P.C.", None),
        (4, "Valley Family Clinic", None),
    ]


async def test_each_change_emits_practice_changed_once_with_its_header_provider_and_connections(client: Any) -> None:
    await put(client, profile_body(EARLY))
    await put(client, profile_body(TODAY, **{"billing_providers.0.npi": BAD_NPI}), status=422)  # nothing announced
    ((topic, key, event),) = await practice_events(client)
    assert topic.endswith("claims.practice.changed") and key == "org-1"
    assert event.model_dump(mode="json") == {
        "tenant_id": "org-1",
        "version": 1,
        "effective_from": day(EARLY),
        "legal_name": "Valley Family Clinic LLC",
        "statement_name": "Valley Family Clinic",
        "statement_address": {
            "line1": "100 Main St",
            "line2": None,
            "city": "Springfield",
            "state": "IL",
            "postal_code": "627011234",
        },
        "statement_phone": "(800) 555-0100",
        "pay_online": "https://pay.valleyclinic.example",
        "pay_by_mail": "Valley Family Clinic, PO Box 100, Springfield, IL 62701",
        "billing_provider": {
            "npi": ORG_NPI,
            "name": "Valley Family Clinic",
            "first_name": None,
            "is_person": False,
            "taxonomy": "207Q00000X",
        },
        "connections": [{"name": "sandbox", "submitter_id": "VALLEY01", "receiver_id": "CLEARINGHOUSE"}],
    }
    person = {"npi": PERSON_NPI, "name": "Smith", "first_name": "John", "is_person": True, "tax_id": "123-45-6789"}
    two = [
        {**profile_body()["billing_providers"][0], **person, "tax_id_type": "SSN"},
        profile_body()["billing_providers"][0],
    ]
    await put(client, profile_body(TODAY, billing_providers=two))
    events = await practice_events(client)
    assert [e.version for _t, _k, e in events] == [1, 2]
    assert (events[1][2].billing_provider.npi, events[1][2].billing_provider.is_person) == (PERSON_NPI, True)
    assert "123456789" not in str(events[1][2]) and "6789" not in events[1][2].model_dump_json()  # no tax id


async def test_a_connection_belongs_to_one_organization_only(client: Any) -> None:
    await put(client, profile_body(EARLY))
    r = await client.put("/v1/practice", json=profile_body(EARLY), headers=OTHER)
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["connections.0.submitter_id"]
    assert "org-1" not in r.text  # the other organization is not named
    assert (await client.get("/v1/practice", headers=OTHER)).status_code == 404
    own = profile_body(EARLY, connections=[connection("mine", "VALLEY01", "OTHERCH")])  # another receiver
    assert (await put(client, own, OTHER))["connections"][0]["receiver_id"] == "OTHERCH"
    # org-1 drops its connection: the pair stays org-1's (its late files still find it)
    await put(client, profile_body(TODAY, connections=[]))
    assert (await client.put("/v1/practice", json=profile_body(TODAY), headers=OTHER)).status_code == 409
    async with client.app.state.engine.connect() as conn:
        lookup = PracticeRepository(conn)
        assert await lookup.any_connection()
        assert await lookup.tenant_of_connection("VALLEY01", "CLEARINGHOUSE") == "org-1"
        assert await lookup.tenant_of_connection("VALLEY01", "OTHERCH") == "org-2"
    twice = profile_body(TODAY, connections=[connection("a", "X1"), connection("b", "X1")])
    r = await client.put("/v1/practice", json=twice, headers=OTHER)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["connections.1.submitter_id"]
    assert [e.tenant_id for _t, _k, e in await practice_events(client)] == ["org-1", "org-2", "org-1"]


async def test_only_the_default_organization_may_register_the_deployments_own_ids(client: Any) -> None:
    """The settings' submitter and receiver ids are the default tenant's connection, registered or not: another
    organization naming them would leave every file addressed to them several organizations' (set aside)."""
    own = profile_body(EARLY, connections=[connection("own", "HILL01"), connection("home", "RCMCLINIC")])
    r = await client.put("/v1/practice", json=own, headers=OTHER)
    assert r.status_code == 409 and [e["field"] for e in r.json()["errors"]] == ["connections.1.submitter_id"]
    assert "RCMCLINIC -> CLEARINGHOUSE" in r.text and "org-1" not in r.text  # the default tenant is not named
    assert (await client.get("/v1/practice", headers=OTHER)).status_code == 404
    # the default organization (org-1: CLAIMS_DEFAULT_TENANT in these tests) may; another receiver id is anyone's
    home = profile_body(EARLY, connections=[connection("home", "RCMCLINIC")])
    assert (await put(client, home))["connections"][0]["submitter_id"] == "RCMCLINIC"
    elsewhere = profile_body(EARLY, connections=[connection("other", "RCMCLINIC", "OTHERCH")])
    assert (await put(client, elsewhere, OTHER))["connections"][0]["receiver_id"] == "OTHERCH"


async def test_another_organization_sees_none_of_the_practice(client: Any) -> None:
    await put(client, profile_body(EARLY))
    await post(client, "/v1/providers", provider_body(EARLY))
    await post(client, "/v1/facilities", facility_body(EARLY))
    await post(client, "/v1/payer-enrollments", enrollment_body(EARLY))
    for path in ("/v1/practice", f"/v1/providers/{PERSON_NPI}", "/v1/facilities/NORTH"):
        assert (await client.get(path, headers=OTHER)).status_code == 404, path
        assert (await client.get(path, headers=T)).status_code == 200, path
    for path in ("/v1/practice/versions", "/v1/providers", "/v1/facilities", "/v1/payer-enrollments"):
        assert (await client.get(path, headers=OTHER)).json() == [], path
        assert len((await client.get(path, headers=T)).json()) == 1, path
    # the other organization's own versions do not collide with org-1's
    await post(client, "/v1/providers", provider_body(EARLY, name="Jones"), OTHER)
    mine = (await client.get(f"/v1/providers/{PERSON_NPI}", headers=T)).json()
    assert mine["name"] == "Smith"


async def test_bad_input_is_a_problem_naming_each_field(client: Any) -> None:
    body = profile_body(
        **{
            "billing_providers.0.npi": BAD_NPI,
            "billing_providers.0.tax_id": "00-1234567",  # the IRS assigns no EIN under 00
            "billing_providers.0.address.postal_code": "62701",  # 2010AA wants ZIP+4
            "billing_providers.0.address.line1": "PO Box 12",
            "billing_providers.0.first_name": "Valley",  # an organization
            "statement.phone": "012-555-0100",  # no area code starts with 0
            "statement.address.state": "ZZ",
            "statement.pay_online": "ftp://pay.example",
            "connections": [connection("sandbox", "V1"), connection("sandbox", "V2")],
        }
    )
    r = await client.put("/v1/practice", json=body, headers=T)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert sorted(e["field"] for e in r.json()["errors"]) == [
        "billing_providers.0.address.line1",
        "billing_providers.0.address.postal_code",
        "billing_providers.0.first_name",
        "billing_providers.0.npi",
        "billing_providers.0.tax_id",
        "connections.1.name",
        "statement.address.state",
        "statement.pay_online",
        "statement.phone",
    ]
    shape = await client.put("/v1/practice", json=profile_body(legal_name=..., billing_providers=[]), headers=T)
    assert shape.status_code == 422 and {e["field"] for e in shape.json()["errors"]} == {
        "legal_name",
        "billing_providers",
    }
    no_way_to_pay = profile_body(**{"statement.pay_online": ..., "statement.pay_by_mail": ...})
    r = await client.put("/v1/practice", json=no_way_to_pay, headers=T)
    assert [e["field"] for e in r.json()["errors"]] == ["statement.pay_by_mail"]
    cases = [
        ("/v1/providers", provider_body(npi=BAD_NPI), "npi"),
        ("/v1/providers", provider_body(taxonomy="207R0000"), "taxonomy"),
        ("/v1/providers", provider_body(TODAY, effective_to=day(TODAY - timedelta(1))), "effective_to"),
        ("/v1/facilities", facility_body(place_of_service="98"), "place_of_service"),
        ("/v1/facilities", facility_body(**{"address.postal_code": "62702"}), "address.postal_code"),
        ("/v1/facilities", facility_body(facility_id="NO RTH"), "facility_id"),
        (
            "/v1/payer-enrollments",
            enrollment_body(claim_filing_indicator="XX", connection_payer_ids={}),
            "claim_filing_indicator",
        ),
        ("/v1/payer-enrollments", enrollment_body(), "connection_payer_ids.sandbox"),  # no profile has it
    ]
    for path, bad, field in cases:
        r = await client.post(path, json=bad, headers=T)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (path, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], (path, r.text)
    for path in ("/v1/practice/versions", "/v1/providers", "/v1/facilities", "/v1/payer-enrollments"):
        assert (await client.get(path, headers=T)).json() == [], path  # nothing refused was stored


async def test_providers_are_versioned_by_npi_and_read_on_a_date(client: Any) -> None:
    first = await post(client, "/v1/providers", provider_body(EARLY))
    assert (first["npi"], first["taxonomy"], first["version"], first["effective_to"]) == (
        PERSON_NPI,
        "207R00000X",
        1,
        None,
    )
    renamed = await post(client, "/v1/providers", provider_body(LATER, name="Smith-Jones"))
    now = (await client.get(f"/v1/providers/{PERSON_NPI}", headers=T)).json()
    assert (now["id"], now["name"], now["effective_to"]) == (first["id"], "Smith", None)  # nothing closed in place
    later = (await client.get(f"/v1/providers/{PERSON_NPI}", params={"on": day(LATER)}, headers=T)).json()
    assert (later["id"], later["name"], later["version"]) == (renamed["id"], "Smith-Jones", 2)
    assert (
        await client.get(f"/v1/providers/{PERSON_NPI}", params={"on": day(EARLY - timedelta(1))}, headers=T)
    ).status_code == 404
    # a correction for one week, backdated: it wins in its window only
    week = provider_body(TODAY - timedelta(7), taxonomy="207Q00000X", effective_to=day(TODAY - timedelta(1)))
    fix = await post(client, "/v1/providers", week)
    assert fix["version"] == 3
    taxonomy = {}
    for d in (TODAY - timedelta(8), TODAY - timedelta(7), TODAY - timedelta(1), TODAY):
        got = await client.get(f"/v1/providers/{PERSON_NPI}", params={"on": day(d)}, headers=T)
        taxonomy[d] = got.json()["taxonomy"]
    assert list(taxonomy.values()) == ["207R00000X", "207Q00000X", "207Q00000X", "207R00000X"]
    other = await post(client, "/v1/providers", provider_body(None, npi=ORG_NPI, name="Doe", first_name=...))
    assert other["effective_from"] == day(TODAY)  # today when not given
    listed = (await client.get("/v1/providers", headers=T)).json()
    assert [(p["npi"], p["version"]) for p in listed] == [
        (ORG_NPI, 1),
        (PERSON_NPI, 1),
        (PERSON_NPI, 2),
        (PERSON_NPI, 3),
    ]
    on = {"on": day(TODAY - timedelta(1)), "npi": PERSON_NPI}  # the one in effect then, not every window holding it
    assert [p["id"] for p in (await client.get("/v1/providers", params=on, headers=T)).json()] == [fix["id"]]
    assert (await client.get(f"/v1/providers/{BAD_NPI}", headers=T)).status_code == 404


async def test_facilities_keep_the_callers_code_or_get_one_and_are_versioned(client: Any) -> None:
    north = await post(client, "/v1/facilities", facility_body(EARLY))
    assert (north["facility_id"], north["address"]["postal_code"], north["place_of_service"]) == (
        "NORTH",
        "627021111",
        "11",
    )
    moved = await post(
        client, "/v1/facilities", facility_body(LATER, place_of_service="22", **{"address.line1": "9 Oak St"})
    )
    assert (await client.get("/v1/facilities/NORTH", headers=T)).json()["id"] == north["id"]
    got = (await client.get("/v1/facilities/NORTH", params={"on": day(LATER)}, headers=T)).json()
    assert (got["id"], got["place_of_service"], got["address"]["line1"]) == (moved["id"], "22", "9 Oak St")
    # the same start again: a correction of the first version, which the later one still follows
    fixed = await post(client, "/v1/facilities", facility_body(EARLY, effective_to=day(LATER - timedelta(1)), npi=...))
    assert (await client.get("/v1/facilities/NORTH", headers=T)).json()["id"] == fixed["id"]
    assert (await client.get("/v1/facilities/NORTH", params={"on": day(LATER)}, headers=T)).json()["id"] == moved["id"]
    unnamed = await post(
        client, "/v1/facilities", facility_body(EARLY, facility_id=..., npi=..., effective_to=day(TODAY - timedelta(1)))
    )
    assert unnamed["facility_id"].startswith("F") and unnamed["facility_id"] != "NORTH" and unnamed["npi"] is None
    assert (await client.get(f"/v1/facilities/{unnamed['facility_id']}", headers=T)).status_code == 404  # ended
    past = {"on": day(TODAY - timedelta(1))}
    assert (await client.get(f"/v1/facilities/{unnamed['facility_id']}", params=past, headers=T)).status_code == 200
    listed = (await client.get("/v1/facilities", params={"facility_id": "NORTH"}, headers=T)).json()
    assert [(f["id"], f["version"]) for f in listed] == [(north["id"], 1), (moved["id"], 2), (fixed["id"], 3)]


async def test_payer_enrollments_name_the_payer_at_each_connection_and_are_versioned(client: Any) -> None:
    alone = await post(
        client, "/v1/payer-enrollments", enrollment_body(EARLY, payer_id="ACME01", connection_payer_ids={})
    )
    assert (alone["connection_payer_ids"], alone["era_enrolled"]) == ({}, True)
    await put(client, profile_body(EARLY))
    first = await post(client, "/v1/payer-enrollments", enrollment_body(EARLY, claim_filing_indicator="mb"))
    assert (first["connection_payer_ids"], first["claim_filing_indicator"]) == ({"sandbox": "00952"}, "MB")
    eft = await post(client, "/v1/payer-enrollments", enrollment_body(LATER, eft_enrolled=True))
    now = (await client.get("/v1/payer-enrollments", params={"payer_id": "MCRB1", "on": day(TODAY)}, headers=T)).json()
    assert [(e["id"], e["eft_enrolled"], e["effective_to"]) for e in now] == [(first["id"], False, None)]
    later = (await client.get("/v1/payer-enrollments", params={"on": day(LATER)}, headers=T)).json()
    assert [(e["payer_id"], e["eft_enrolled"]) for e in later] == [("ACME01", False), ("MCRB1", True)]
    assert eft["id"] in {e["id"] for e in later}
    # EFT was done from the start after all: a version from the same day as the first, until the later one
    done = enrollment_body(EARLY, eft_enrolled=True, effective_to=day(LATER - timedelta(1)))
    assert (await post(client, "/v1/payer-enrollments", done))["version"] == 3
    now = (await client.get("/v1/payer-enrollments", params={"payer_id": "MCRB1", "on": day(TODAY)}, headers=T)).json()
    assert [(e["version"], e["eft_enrolled"]) for e in now] == [(3, True)]


async def test_every_practice_request_is_on_the_audit_trail(client: Any) -> None:
    await put(client, profile_body(EARLY))
    await post(client, "/v1/providers", provider_body(EARLY))
    await client.get(f"/v1/providers/{PERSON_NPI}", headers=T)
    await client.post("/v1/facilities", json=facility_body(place_of_service="98"), headers=T)
    a = audit.c
    async with client.app.state.engine.connect() as conn:
        rows = await conn.execute(select(a.tenant_id, a.method, a.resource, a.resource_id, a.status).order_by(a.id))
        trail = [tuple(r) for r in rows]
    assert trail == [
        ("org-1", "PUT", "/v1/practice", None, 200),
        ("org-1", "POST", "/v1/providers", None, 201),
        ("org-1", "GET", "/v1/providers/{npi}", PERSON_NPI, 200),
        ("org-1", "POST", "/v1/facilities", None, 422),
    ]
