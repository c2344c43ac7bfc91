"""The FHIR base every service shares: the CapabilityStatement (open), OperationOutcome for every error,
searchset Bundles paged by keyset cursor, the common search parameters, and reading a posted resource."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from builders.fhir import assert_fhir, outcome_issues
from fastapi import APIRouter, Depends, Request
from rcm_shared.config import BaseServiceSettings
from rcm_shared.fhir import (
    Cursor,
    FhirError,
    FhirResponse,
    ResourceCapability,
    Surface,
    check_format,
    fhir_base,
    instant,
    paged,
    parse_search,
    read_resource,
    reference_id,
    searchset,
    token,
)
from rcm_shared.fhir.search import Search, date_range
from rcm_shared.testing import app_client, migrate
from rcm_shared.web import create_service_app

# Patients whose meta.lastUpdated step back one hour each from a pinned instant; their ids sort the same way.
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PATIENTS = [
    {"resourceType": "Patient", "id": f"p{i:02}", "meta": {"lastUpdated": instant(T0 - timedelta(hours=i))}}
    for i in range(7)
]
SURFACE = Surface("claims", "Test FHIR API", (ResourceCapability("Patient", search=(("identifier", "token", "MRN"),)),))


def _router() -> APIRouter:
    router = APIRouter(prefix="/fhir/R4", dependencies=[Depends(check_format)])

    @router.get("/Patient", response_class=FhirResponse)
    async def search(request: Request) -> FhirResponse:
        found = parse_search(request, ["identifier"])
        rows = [
            p
            for p in PATIENTS
            if found.last_updated.holds(datetime.fromisoformat(p["meta"]["lastUpdated"]))
            and (found.cursor is None or (p["meta"]["lastUpdated"], p["id"]) < (found.cursor.key, found.cursor.id))
        ]
        page = rows[: found.count]
        more = len(rows) > found.count
        last = page[-1] if page else None
        cursor = Cursor(last["meta"]["lastUpdated"], last["id"]) if more and last else None
        return FhirResponse(searchset(fhir_base(request), "Patient", found, page, cursor))

    @router.post("/Patient", response_class=FhirResponse)
    async def create(request: Request) -> FhirResponse:
        resource = await read_resource(request, "Patient")
        return FhirResponse({**resource, "id": "new"}, status_code=201)

    @router.get("/Patient/{ident}", response_class=FhirResponse)
    async def read(ident: str) -> FhirResponse:
        raise FhirError.of(404, f"no Patient {ident}")

    @router.get("/Claim/boom")
    async def boom() -> None:
        raise RuntimeError("an unexpected failure")

    return router


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from claims.models import bus

    monkeypatch.setenv("AUTH_MODE", "off")
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(Path(__file__).resolve().parents[2] / "services" / "claims", url, "claims")
    settings = BaseServiceSettings(database_url=url)
    app = lambda: create_service_app(settings, bus, title="t", routers=[_router()], fhir=SURFACE)  # noqa: E731
    async with app_client(app) as c:
        yield c


async def test_metadata_is_a_valid_capability_statement(client: Any) -> None:
    r = await client.get("/fhir/R4/metadata")
    assert r.status_code == 200 and r.headers["content-type"] == "application/fhir+json"
    statement = assert_fhir(r.json())
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    (patient,) = statement["rest"][0]["resource"]
    assert [p["name"] for p in patient["searchParam"]] == ["identifier", "_count", "_lastUpdated"]
    token_url = statement["rest"][0]["security"]["extension"][0]["extension"][0]["valueUri"]
    assert token_url.endswith("/oauth/token")


async def test_metadata_is_open_and_searches_need_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from claims.models import bus

    monkeypatch.setenv("AUTH_MODE", "on")
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(Path(__file__).resolve().parents[2] / "services" / "claims", url, "claims")
    settings = BaseServiceSettings(database_url=url)
    async with app_client(lambda: create_service_app(settings, bus, title="t", routers=[_router()], fhir=SURFACE)) as c:
        assert (await c.get("/fhir/R4/metadata")).status_code == 200
        smart = (await c.get("/fhir/R4/.well-known/smart-configuration")).json()
        assert smart["token_endpoint"] == settings.auth.token_url
        assert "private_key_jwt" in smart["token_endpoint_auth_methods_supported"]
        r = await c.get("/fhir/R4/Patient")
        assert r.status_code == 401 and r.headers["content-type"] == "application/fhir+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert outcome_issues(r.json())[0][0] == "login"


async def test_search_pages_by_cursor_and_every_page_validates(client: Any) -> None:
    seen: list[str] = []
    url = "/fhir/R4/Patient?_count=3"
    pages = 0
    while url:
        r = await client.get(url)
        bundle = assert_fhir(r.json())
        assert bundle["type"] == "searchset"
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        assert all(e["fullUrl"] == f"http://test/fhir/R4/Patient/{e['resource']['id']}" for e in bundle["entry"])
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert "_count=3" in links["self"]
        url = links.get("next", "").removeprefix("http://test")
        pages += 1
    assert seen == [p["id"] for p in PATIENTS] and pages == 3


async def test_last_updated_narrows_the_search(client: Any) -> None:
    r = await client.get(
        "/fhir/R4/Patient",
        params=[("_lastUpdated", "ge2026-03-01T09:00:00Z"), ("_lastUpdated", "lt2026-03-01T11:00:00Z")],
    )
    assert [e["resource"]["id"] for e in r.json()["entry"]] == ["p02", "p03"]
    r = await client.get("/fhir/R4/Patient", params={"_lastUpdated": "2026-02"})
    assert "entry" not in assert_fhir(r.json())


async def test_unknown_parameters_are_named_or_refused_when_strict(client: Any) -> None:
    r = await client.get("/fhir/R4/Patient", params={"colour": "blue", "_count": "1"})
    bundle = assert_fhir(r.json())
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcome) == 1 and "colour" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    assert "colour" not in bundle["link"][0]["url"]
    r = await client.get("/fhir/R4/Patient", params={"colour": "blue"}, headers={"Prefer": "handling=strict"})
    assert r.status_code == 400
    assert outcome_issues(r.json())[0][2] == ["colour"]


@pytest.mark.parametrize("name", ["_count:x", "_lastUpdated:above", "identifier:missing", "_cursor:x"])
async def test_a_parameter_with_a_modifier_is_named_as_ignored_or_refused_when_strict(client: Any, name: str) -> None:
    # no modifier is supported: applying the parameter without its modifier would answer another question
    r = await client.get(f"/fhir/R4/Patient?{name}=1")
    bundle = assert_fhir(r.json())
    assert [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"] == [
        p["id"] for p in PATIENTS
    ]
    (outcome,) = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert name in outcome["issue"][0]["diagnostics"]
    assert name.split(":")[0] not in bundle["link"][0]["url"]
    r = await client.get(f"/fhir/R4/Patient?{name}=1", headers={"Prefer": "handling=strict"})
    assert r.status_code == 400 and outcome_issues(r.json())[0][2] == [name]
    assert "takes no modifier" in r.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("query", "expression"),
    [
        ("_count=x", "_count"),
        ("_count=-1", "_count"),
        ("_count=%C2%B2", "_count"),  # '²': str.isdigit() says yes, int() says no
        ("_count=5%0A", "_count"),
        ("_lastUpdated=yesterday", "_lastUpdated"),
        ("_lastUpdated=9999-12-31", "_lastUpdated"),  # the day after is past datetime's range
        ("_lastUpdated=le9999-12-31T23:59:59Z", "_lastUpdated"),
        ("_lastUpdated=0001-01-01T00:00:00%2B01:00", "_lastUpdated"),  # before year 1 in UTC
        ("_lastUpdated=ap2026", "_lastUpdated"),
        ("_cursor=zz", "_cursor"),
    ],
)
async def test_bad_search_values_are_400_naming_the_parameter(client: Any, query: str, expression: str) -> None:
    r = await client.get(f"/fhir/R4/Patient?{query}")
    assert r.status_code == 400, r.text
    assert outcome_issues(r.json())[0][2] == [expression]


@pytest.mark.parametrize(
    "query",
    [
        "identifier=" + ",".join(f"urn:x|{n}" for n in range(101)),
        "identifier=" + ",".join(f"urn:x|{n}" for n in range(60)) + "&identifier=" + ",".join(["y"] * 41),
        "&".join(["identifier=y"] * 101),
        "identifier=" + "," * 100,
    ],
    ids=["comma-separated", "both", "repeated", "empty"],
)
async def test_more_than_a_hundred_values_of_one_parameter_is_a_400_naming_it(client: Any, query: str) -> None:
    # each value is a term of the query: thousands are more than SQLite parses
    r = await client.get(f"/fhir/R4/Patient?{query}")
    assert r.status_code == 400, r.text
    assert outcome_issues(r.json())[0][2] == ["identifier"]
    assert "at most 100 values" in r.json()["issue"][0]["diagnostics"]
    many = ",".join(f"urn:x|{n}" for n in range(50))
    assert (await client.get(f"/fhir/R4/Patient?identifier={many}&identifier={many}")).status_code == 200


@pytest.mark.parametrize(
    "key",
    [
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:00:00-05:00",  # after year 9999 in UTC
        "2026-02-30T00:00:00Z",
        "then",
    ],
)
def test_a_cursor_whose_instant_is_not_one_in_utc_is_a_400_naming_it(key: str) -> None:
    with pytest.raises(FhirError) as raised:
        Search({}, cursor=Cursor(key, "p01")).after()
    assert raised.value.status == 400
    assert raised.value.issues[0].expression == "_cursor"


def test_a_cursor_reads_as_a_utc_instant() -> None:
    assert Search({}, cursor=Cursor("2026-03-01T13:00:00+01:00", "p01")).after() == (T0, "p01")
    assert Search({}, cursor=Cursor("2026-03-01T12:00:00Z", "p01")).after() == (T0, "p01")
    assert Search({}, cursor=Cursor("0001-01-01T00:00:00Z", "p01")).after() == (datetime.min.replace(tzinfo=UTC), "p01")
    assert Search({}).after() is None


async def test_a_count_of_zero_answers_a_bundle_without_entries_or_next_page(client: Any) -> None:
    bundle = assert_fhir((await client.get("/fhir/R4/Patient?_count=0")).json())
    assert "entry" not in bundle and [link["relation"] for link in bundle["link"]] == ["self"]
    rows = [("b", T0), ("a", T0)]
    assert paged(rows, Search({}, count=0), lambda r: (r[1], r[0])) == ([], None)  # the query read count + 1
    assert paged(rows, Search({}, count=1), lambda r: (r[1], r[0]))[1] == Cursor(instant(T0), "b")
    huge = assert_fhir((await client.get("/fhir/R4/Patient?_count=" + "9" * 5000)).json())
    assert len(huge["entry"]) == len(PATIENTS)  # over the maximum: the maximum


@pytest.mark.parametrize("fmt", ["json", "application/fhir%2Bjson", "application/fhir+json", "application/json"])
async def test_format_json_is_accepted_with_its_plus_sent_unencoded(client: Any, fmt: str) -> None:
    # an unencoded '+' in a query string is a space: _format=application/fhir+json arrives as "application/fhir json"
    r = await client.get(f"/fhir/R4/Patient?_format={fmt}")
    assert r.status_code == 200, r.text


async def test_a_deeply_nested_body_is_a_400_not_a_500(client: Any) -> None:
    body = '{"resourceType": "Patient", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    headers = {"content-type": "application/fhir+json"}
    r = await client.post("/fhir/R4/Patient", content=body, headers=headers)
    assert r.status_code == 400 and outcome_issues(r.json())[0][0] == "structure"


async def test_posted_resources_are_validated_with_the_element_named(client: Any) -> None:
    post = client.post
    headers = {"content-type": "application/fhir+json"}
    r = await post("/fhir/R4/Patient", content=b'{"resourceType": "Patient", "gender": "male"}', headers=headers)
    assert r.status_code == 201
    r = await post(
        "/fhir/R4/Patient", content=b'{"resourceType": "Patient", "birthDate": "1990-13-40"}', headers=headers
    )
    assert r.status_code == 400 and outcome_issues(r.json())[0][2] == ["Patient.birthDate"]
    r = await post("/fhir/R4/Patient", content=b'{"resourceType": "Claim"}', headers=headers)
    assert r.status_code == 400 and outcome_issues(r.json())[0][2] == ["resourceType"]
    r = await post("/fhir/R4/Patient", content=b"<Patient/>", headers=headers)
    assert r.status_code == 400 and outcome_issues(r.json())[0][0] == "structure"
    r = await post("/fhir/R4/Patient", content=b"<Patient/>", headers={"content-type": "application/fhir+xml"})
    assert r.status_code == 415


async def test_every_error_under_the_fhir_base_is_an_operation_outcome(client: Any) -> None:
    for path, status, code in (
        ("/fhir/R4/Patient/p99", 404, "not-found"),
        ("/fhir/R4/Nothing", 404, "not-found"),
        ("/fhir/R4/Patient?_format=xml", 406, "not-supported"),
    ):
        r = await client.get(path)
        assert (r.status_code, r.headers["content-type"]) == (status, "application/fhir+json"), path
        assert outcome_issues(r.json())[0][0] == code, path
    r = await client.get("/fhir/R4/Patient", headers={"accept": "application/fhir+xml"})
    assert r.status_code == 406
    app = client.app  # the server error: the app answers it (ServerErrorMiddleware re-raises it after)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False)) as raw:
        r = await raw.get("http://test/fhir/R4/Claim/boom")
    assert (r.status_code, r.headers["content-type"]) == (500, "application/fhir+json")
    assert outcome_issues(r.json())[0][0] == "exception"
    r = await client.get("/nothing")  # the REST API keeps its problem details
    assert r.headers["content-type"] == "application/problem+json"


def test_date_values_cover_their_precision() -> None:
    day = date_range("created", ["2026-02-28"])
    assert (day.lower, day.upper) == (datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert date_range("d", ["2025-12"]).upper == datetime(2026, 1, 1, tzinfo=UTC)
    assert date_range("d", ["gt2026"]).lower == datetime(2027, 1, 1, tzinfo=UTC)
    assert date_range("d", ["le2026-02-28"]).upper == datetime(2026, 3, 1, tzinfo=UTC)
    assert date_range("d", ["lt2026-02-28T10:00:00+02:00"]).upper == datetime(2026, 2, 28, 8, tzinfo=UTC)
    assert date_range("d", ["ge9999-12-30", "lt0002"]).lower == datetime(9999, 12, 30, tzinfo=UTC)
    for bad in ("ap2026-01-01", "2026-01-01T10:00", "2026-1-1", "9999", "9999-12", "le9999-12-31T23:59:59.999999Z"):
        with pytest.raises(FhirError) as refused:
            date_range("created", [bad])
        assert refused.value.issues[0].expression == "created", bad


def test_money_coding_and_concept_validate_as_fhir_datatypes() -> None:
    from decimal import Decimal

    from fhir.resources.R4B import get_fhir_model_class
    from rcm_shared.fhir import coding, concept, money, money_from_cents

    assert money_from_cents(12345) == {"value": 123.45, "currency": "USD"}
    assert money_from_cents(-5) == {"value": -0.05, "currency": "USD"}
    assert money(Decimal("80")) == money(Decimal("80.004")) == {"value": 80.0, "currency": "USD"}
    assert json.dumps(money_from_cents(1999)) == '{"value": 19.99, "currency": "USD"}'
    with pytest.raises(TypeError):
        money_from_cents(Decimal("19.99"))  # type: ignore[arg-type]  # dollars where cents are due
    with pytest.raises(TypeError):
        money(1999)  # type: ignore[arg-type]
    assert coding("http://x.example/cs", "a") == {"system": "http://x.example/cs", "code": "a"}
    found = concept("http://x.example/cs", "a", "An A", text="a")
    assert found == {"coding": [{"system": "http://x.example/cs", "code": "a", "display": "An A"}], "text": "a"}
    get_fhir_model_class("Money").model_validate(money_from_cents(12345))
    get_fhir_model_class("Coding").model_validate(coding("http://x.example/cs", "a", ""))
    get_fhir_model_class("CodeableConcept").model_validate(found)


def test_references_and_tokens() -> None:
    assert reference_id("patient", "Patient/abc", "Patient") == "abc"
    assert reference_id("patient", "https://x.example/fhir/R4/Patient/abc", "Patient") == "abc"
    assert reference_id("patient", "abc", "Patient") == "abc"
    with pytest.raises(FhirError):
        reference_id("patient", "Claim/abc", "Patient")
    assert token("urn:oid:1.2|123") == ("urn:oid:1.2", "123")
    assert token("|123") == ("", "123") and token("123") == (None, "123")


def test_each_type_is_owned_where_it_is_served() -> None:
    """The scopes and the Ingress route each type to the service whose surface declares it, and a SMART write
    permission is granted on exactly the types a client can write (create, or an operation such as $submit)."""
    from rcm_shared.auth import FHIR_TYPE_SERVICE, FHIR_WRITABLE_TYPES
    from rcm_shared.fhir.surfaces import PLATFORM, SURFACES

    assert FHIR_TYPE_SERVICE == {r.type: s.service for s in SURFACES for r in s.resources}
    writable = {r.type for r in PLATFORM.resources if "create" in r.interactions or r.operations}
    assert writable == FHIR_WRITABLE_TYPES
    assert len({r.type for r in PLATFORM.resources}) == len(PLATFORM.resources)


async def test_behind_the_one_base_metadata_lists_every_services_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claims.models import bus
    from rcm_shared.auth import FHIR_TYPE_SERVICE

    monkeypatch.setenv("AUTH_MODE", "off")
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(Path(__file__).resolve().parents[2] / "services" / "claims", url, "claims")
    base = "https://api.example.org/fhir/R4"
    settings = BaseServiceSettings(database_url=url, fhir_base_url=base)
    async with app_client(lambda: create_service_app(settings, bus, title="t", routers=[_router()], fhir=SURFACE)) as c:
        statement = assert_fhir((await c.get("/fhir/R4/metadata")).json())
        assert statement["implementation"]["url"] == base
        assert {r["type"] for r in statement["rest"][0]["resource"]} == set(FHIR_TYPE_SERVICE)
        bundle = (await c.get("/fhir/R4/Patient?_count=2")).json()
        assert all(link["url"].startswith(base + "/Patient?") for link in bundle["link"])
        assert bundle["entry"][0]["fullUrl"] == f"{base}/Patient/p00"
