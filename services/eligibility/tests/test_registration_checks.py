"""Checks by MRN (eligibility/use_cases/registration_checks.py): the registration read from the claims API on the
caller's behalf, the inquiry made from it (the insured as the subscriber, the patient as the dependent when
they differ; a coverage by its IN1 position), run as any other check; each way it can fail, and no PHI in the
logs (SQLite and PostgreSQL). Plus the inquiry made from a registration, pure."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import httpx
import pytest
import structlog
from builders import T
from eligibility.api.deps import claims_transport
from eligibility.domain.registration import (
    RegisteredCoverage,
    RegisteredPerson,
    Registration,
    RegistrationCheckCreate,
    inquiry_from_registration,
)
from eligibility.models import eligibility_check
from rcm_shared.errors import Invalid
from rcm_shared.logging import LOG_FIELDS
from rcm_shared.x12.sets.x270 import Inquiry, read_270
from sqlalchemy import select

DAY = date.today()  # the date of service: the appointment is today
CALLER = {**T, "Authorization": "Bearer caller-token"}
JANE = {"last_name": "DOE", "first_name": "JANE", "birth_date": "1980-02-29", "sex": "F"}
JOHN = {"last_name": "DOE", "first_name": "JOHN", "birth_date": "1978-04-01", "sex": "M"}
JIM = {"last_name": "DOE", "first_name": "JIM", "birth_date": "2015-06-01", "sex": "M"}
PHI = (
    "DOE",
    "JANE",
    "JOHN",
    "JIM",
    "1980-02-29",
    "19800229",
    "1978-04-01",
    "19780401",
    "2015-06-01",
    "W123456789",
    "W200",
)


def person(values: dict[str, Any]) -> dict[str, Any]:
    return {"middle_name": None, "address": None, **values}


def coverage(position: int, payer_id: str, member_id: str, **values: Any) -> dict[str, Any]:
    return {
        "position": position,
        "payer_id": payer_id,
        "payer_name": None,
        "member_id": member_id,
        "group_number": None,
        "relationship": "18",
        "insured": None,
        **values,
    }


def registration(mrn: str, patient: dict[str, Any], *coverages: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A registration as the claims API answers it (``PatientRead``)."""
    return {
        "mrn": mrn,
        "patient": person(patient),
        "guarantor": None,
        "coverages": list(coverages),
        "merged_into": None,
        "updated_at": "2026-12-01T10:00:00Z",
        **values,
    }


REGISTRATIONS = {
    # the patient is the insured
    "MRN100": registration(
        "MRN100",
        JANE,
        coverage(1, "ACME01", "W123456789", payer_name="Acme Health Plan", group_number="GRP100"),
    ),
    # a child insured through a parent by the primary coverage, and through her own by the secondary
    "MRN200": registration(
        "MRN200",
        JIM,
        coverage(
            1,
            "ACME01",
            "W200",
            relationship="19",
            insured=person(JOHN),
            payer_name="Acme Health Plan",
            group_number="GRP200",
        ),
        coverage(2, "BCBS01", "S300"),
    ),
    # an A40 merged it into MRN100
    "MRN099": registration("MRN099", {**JANE, "first_name": "JAYNE"}, merged_into="MRN100"),
    "MRN300": registration("MRN300", JANE),  # no IN1
    "MRN098": registration("MRN098", JANE, merged_into=".."),  # an MRN that is no path segment of its own
    "MRN400": registration(
        "MRN400", JIM, coverage(1, "ACME01", "W200", relationship="19", insured=person({**JOHN, "birth_date": None}))
    ),
    # "self", yet another person named as the insured
    "MRN500": registration("MRN500", JIM, coverage(1, "ACME01", "W200", relationship="18", insured=person(JOHN))),
}


@dataclass
class FakeClaimsApi:
    """The claims API's registrations (``GET /v1/patients/{mrn}``), or what it answers instead."""

    answer: httpx.Response | Exception | None = None  # None: the registrations
    seen: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer is not None:
            return self.answer
        mrn = request.url.path.removeprefix("/v1/patients/")
        if mrn not in REGISTRATIONS:
            problem = {"title": "Not found", "status": 404, "detail": f"no patient registered with MRN {mrn}"}
            return httpx.Response(404, json=problem)
        return httpx.Response(200, json=REGISTRATIONS[mrn])


@pytest.fixture
def claims_api(client: Any) -> FakeClaimsApi:
    fake = FakeClaimsApi()
    client.app.dependency_overrides[claims_transport] = lambda: httpx.MockTransport(fake.handler)
    return fake


async def check(client: Any, mrn: str, headers: dict[str, str] = CALLER, **body: Any) -> Any:
    ask = {"service_date": DAY.isoformat(), "provider": {"npi": "1679576722", "name": "Valley Family Clinic"}}
    return await client.post(f"/v1/eligibility/patients/{mrn}/checks", json=ask | body, headers=headers)


async def sent_270(client: Any, check_id: str) -> Inquiry:
    async with client.app.state.engine.connect() as conn:
        stmt = select(eligibility_check.c.x12_270).where(eligibility_check.c.id == check_id)
        (inquiry,) = read_270((await conn.execute(stmt)).scalar_one().encode())
    return inquiry


async def test_the_patient_insured_is_the_subscriber_asked_on_the_callers_behalf(
    client: Any, claims_api: FakeClaimsApi
) -> None:
    r = await check(client, "MRN100", service_types=["98", "30"])
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["status"], made["payer_id"], made["member_id"]) == ("active", "ACME01", "W123456789")
    assert (made["service_date"], made["service_types"], made["cached"]) == (DAY.isoformat(), ["30", "98"], False)
    (asked,) = claims_api.seen
    assert asked.method == "GET" and asked.url.path == "/v1/patients/MRN100"
    assert (asked.headers["authorization"], asked.headers["x-tenant-id"]) == ("Bearer caller-token", "org-1")
    inquiry = await sent_270(client, made["id"])
    assert (inquiry.payer_id, inquiry.payer_name, inquiry.provider_npi) == ("ACME01", "ACME HEALTH PLAN", "1679576722")
    s = inquiry.subscriber
    assert (s.last, s.first, s.member_id, s.birth_date, s.sex) == ("DOE", "JANE", "W123456789", date(1980, 2, 29), "F")
    assert s.references == [("6P", "GRP100")] and inquiry.dependent is None
    assert (inquiry.service_date, inquiry.service_types) == (DAY, ["30", "98"])
    # the same use case as POST /v1/eligibility/checks: asked again either way, the recent answer is reused
    again = await check(client, "MRN100", service_types=["30", "98"])
    assert again.status_code == 200 and again.json()["cached"] and again.json()["id"] == made["id"]
    direct = {
        "payer_id": "ACME01",
        "payer_name": "Acme",
        "subscriber": {"member_id": "W123456789", "first_name": "Jane", "last_name": "Doe", "birth_date": "1980-02-29"},
        "service_date": DAY.isoformat(),
        "service_types": ["30", "98"],
    }
    reused = await client.post("/v1/eligibility/checks", json=direct, headers=T)
    assert reused.status_code == 200 and reused.json()["id"] == made["id"]
    assert client.primary.calls == 1
    # a record an A40 merged into another: the surviving registration's coverage is asked about
    merged = await check(client, "MRN099", service_types=["30", "98"])
    assert merged.status_code == 200 and merged.json()["id"] == made["id"], merged.text
    assert [q.url.path for q in claims_api.seen[-2:]] == ["/v1/patients/MRN099", "/v1/patients/MRN100"]


async def test_a_child_insured_through_a_parent_is_the_dependent_and_a_secondary_is_asked_by_position(
    client: Any, claims_api: FakeClaimsApi
) -> None:
    primary = await check(client, "MRN200")
    assert primary.status_code == 201, primary.text
    assert (primary.json()["payer_id"], primary.json()["member_id"]) == ("ACME01", "W200")
    inquiry = await sent_270(client, primary.json()["id"])
    s, d = inquiry.subscriber, inquiry.dependent
    assert (s.last, s.first, s.member_id, s.birth_date) == ("DOE", "JOHN", "W200", date(1978, 4, 1))
    assert d is not None and (d.last, d.first, d.member_id, d.birth_date) == ("DOE", "JIM", None, date(2015, 6, 1))
    assert s.references == [("6P", "GRP200")]  # the subscriber's group, in 2100C ahead of the dependent
    secondary = await check(client, "MRN200", coverage=2)
    assert secondary.status_code == 201, secondary.text
    assert secondary.json()["member_id"] == "S300"  # (its payer_id is the 271's: the fake payer answers as ACME01)
    inquiry = await sent_270(client, secondary.json()["id"])
    assert (inquiry.payer_id, inquiry.payer_name) == ("BCBS01", "BCBS01")  # no payer name registered: its id
    s = inquiry.subscriber
    assert (s.first, s.member_id, s.birth_date) == ("JIM", "S300", date(2015, 6, 1)) and inquiry.dependent is None
    assert client.primary.calls == 2


async def test_what_the_registration_lacks_is_named_and_nothing_is_sent(client: Any, claims_api: FakeClaimsApi) -> None:
    unknown = await check(client, "MRN999")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["detail"] == "no registration for MRN MRN999: the EHR's ADT has not been received"
    tertiary = await check(client, "MRN200", coverage=3)
    assert tertiary.status_code == 422 and tertiary.json()["positions"] == [1, 2]
    assert "no coverage at position 3: it has 1 (primary), 2 (secondary)" in tertiary.json()["detail"]
    none = await check(client, "MRN300")
    assert none.status_code == 422 and none.json()["positions"] == []
    no_birth = await check(client, "MRN400")
    assert no_birth.status_code == 422 and no_birth.json()["missing"] == "insured.birth_date"
    assert "MRN MRN400 has no birth date for the insured (IN2/IN1-18)" in no_birth.json()["detail"]
    conflict = await check(client, "MRN500")
    assert conflict.status_code == 422 and conflict.json()["title"] == "Inconsistent registration"
    assert conflict.json()["coverage"] == 1 and "its primary coverage (relationship self)" in conflict.json()["detail"]
    bad = await check(client, "MRN100", coverage=0, service_types=["300"])
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"coverage", "service_types"}
    assert (client.primary.calls, client.backup.calls) == (0, 0)


@pytest.mark.parametrize(
    ("answer", "status", "title"),
    [
        # claims does not trust the token at all (its audience, its issuer): no scope the caller could get helps
        (httpx.Response(401), 502, "Token not accepted by the claims API"),
        (httpx.Response(403), 403, "Refused by the claims API"),
        (httpx.ReadTimeout("slow"), 503, "Claims API unavailable"),
        (httpx.ConnectError("refused"), 503, "Claims API unavailable"),
        (httpx.Response(503), 503, "Claims API unavailable"),
        (httpx.Response(200, text="<html>"), 502, "Invalid answer from the claims API"),
        (httpx.Response(200, json={"mrn": "MRN100"}), 502, "Invalid answer from the claims API"),
    ],
)
async def test_a_claims_api_that_refuses_or_fails_is_a_problem_and_no_phi_is_logged(
    client: Any,
    claims_api: FakeClaimsApi,
    caplog: pytest.LogCaptureFixture,
    answer: httpx.Response | Exception,
    status: int,
    title: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert (await check(client, "MRN200")).status_code == 201  # a check that goes through: logged as well
    claims_api.answer = answer
    r = await check(client, "MRN200", coverage=2)
    assert r.status_code == status, r.text
    problem = r.json()
    assert problem["title"] == title and r.headers["content-type"] == "application/problem+json"
    if status == 403:
        assert problem["required_scope"] == "claims:read" and "needs the scope claims:read" in problem["detail"]
    else:
        assert "required_scope" not in problem
    if title == "Token not accepted by the claims API":
        assert problem["detail"].startswith("the claims API did not accept the forwarded token (401)")
    if status == 503:
        assert r.headers["retry-after"] == "5"
    assert client.primary.calls == 1  # the first check only
    ours = [rec for rec in caplog.records if rec.name.startswith("eligibility")]
    if status != 502:
        assert [rec.getMessage().startswith("claims API") for rec in ours] == [True]
    standard = set(vars(logging.makeLogRecord({})))
    for rec in ours:  # what this service logs: allowed fields only, no PHI in the message
        assert set(vars(rec)) - standard - {"message", "asctime"} <= LOG_FIELDS, vars(rec)
        assert not any(value in rec.getMessage() for value in PHI)
    # every line as the service writes it (third-party loggers, httpx's request lines, included)
    formatter = next(
        h.formatter
        for h in logging.getLogger().handlers
        if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    )
    lines = [formatter.format(rec) for rec in caplog.records]
    assert lines and not [(value, line) for line in lines for value in (*PHI, "MRN200") if value in line]


@pytest.mark.parametrize(
    "segment",
    [
        "%2E",  # ".": GET /v1/patients/ instead
        "%2E%2E",  # "..": GET /v1 instead
        "..%2FMRN100",  # no single path segment: no route of this API either
        "MRN100%3Fx",
        "MRN100%23x",
        "MRN100%25",
        "MRN%20100",
        "MRN%C2%B2",
        "M" * 81,  # claims keeps MRNs of up to 80 characters
    ],
)
async def test_an_mrn_that_would_make_another_path_is_refused_before_claims_is_asked(
    client: Any, claims_api: FakeClaimsApi, segment: str
) -> None:
    r = await check(client, segment)
    assert r.status_code in ({404, 422} if "%2F" in segment else {422}), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert claims_api.seen == [] and client.primary.calls == 0


async def test_an_mrn_of_letters_digits_dashes_underscores_and_dots_is_asked_for_as_it_is(
    client: Any, claims_api: FakeClaimsApi
) -> None:
    mrns = ("A-1_2.3", ".5", "M" * 80)
    for mrn in mrns:
        assert (await check(client, mrn)).status_code == 404
    assert [q.url.raw_path.decode() for q in claims_api.seen] == [f"/v1/patients/{mrn}" for mrn in mrns]
    # a record claims merged into an MRN that is no path segment: not asked for, a fault of the claims API's
    merged = await check(client, "MRN098")
    assert merged.status_code == 502 and merged.json()["title"] == "Invalid answer from the claims API"
    assert claims_api.seen[-1].url.path == "/v1/patients/MRN098"


async def test_without_a_claims_api_checks_by_mrn_are_unavailable(client: Any, claims_api: FakeClaimsApi) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(update={"claims_url": ""})
    r = await check(client, "MRN100")
    assert r.status_code == 503 and "ELIGIBILITY_CLAIMS_URL" in r.json()["detail"]
    assert "retry-after" not in r.headers and claims_api.seen == []


# -- the inquiry made from a registration, pure ---------------------------------------------------------------

PARENT = RegisteredPerson("DOE", "JOHN", birth_date=date(1978, 4, 1), sex="M")
CHILD = RegisteredPerson("DOE", "JIM", birth_date=date(2015, 6, 1), sex="X")  # a sex a 270 cannot carry


def registered(*coverages: RegisteredCoverage, patient: RegisteredPerson = CHILD) -> Registration:
    return Registration("MRN1", patient, coverages)


def ask(**values: Any) -> RegistrationCheckCreate:
    return RegistrationCheckCreate.model_validate({"service_date": date(2026, 11, 30), **values})


def test_the_inquiry_names_the_insured_as_subscriber_and_the_patient_as_dependent() -> None:
    family = RegisteredCoverage(1, "ACME01", "Acme Health Plan", "W200", "GRP1", "19", PARENT)
    own = RegisteredCoverage(2, "BCBS01", None, "S300", None, "18", None)
    inquiry = inquiry_from_registration(registered(family, own), ask(service_types=["98", "30"]))
    assert (inquiry.payer_id, inquiry.payer_name, inquiry.service_types) == ("ACME01", "Acme Health Plan", ["30", "98"])
    s, d = inquiry.subscriber, inquiry.dependent
    assert (s.first_name, s.member_id, s.group_number, s.birth_date, s.sex) == (
        "JOHN",
        "W200",
        "GRP1",
        PARENT.birth_date,
        "M",
    )
    assert d is not None and (d.first_name, d.birth_date, d.sex) == ("JIM", CHILD.birth_date, None)
    inquiry = inquiry_from_registration(registered(family, own), ask(coverage=2, provider=None))
    assert (inquiry.payer_id, inquiry.payer_name, inquiry.dependent, inquiry.provider) == (
        "BCBS01",
        "BCBS01",
        None,
        None,
    )
    assert (inquiry.subscriber.first_name, inquiry.subscriber.member_id, inquiry.subscriber.group_number) == (
        "JIM",
        "S300",
        None,
    )
    # a relationship other than self without the insured's name: the patient is asked about (as claims bills)
    unnamed = RegisteredCoverage(1, "ACME01", None, "W200", None, "19", None)
    inquiry = inquiry_from_registration(registered(unnamed), ask())
    assert inquiry.subscriber.first_name == "JIM" and inquiry.dependent is None


@pytest.mark.parametrize(
    ("registration", "coverage", "said"),
    [
        (registered(RegisteredCoverage(1, "ACME01", None, "W200", None, "18", None)), 2, "it has 1 (primary)"),
        (registered(), 1, "it has none (the EHR's ADT carried no IN1)"),
        (
            registered(RegisteredCoverage(1, "ACME01", None, "W200", None, "01", RegisteredPerson("DOE", "ANN"))),
            1,
            "no birth date for the insured (IN2/IN1-18)",
        ),
        (
            registered(
                RegisteredCoverage(1, "ACME01", None, "W200", None, "18", None), patient=RegisteredPerson("DOE", "JIM")
            ),
            1,
            "no birth date for the patient (PID-7)",
        ),
        (
            registered(
                RegisteredCoverage(1, "ACME01", None, "W200", None, "18", None),
                patient=RegisteredPerson("DOE", None, birth_date=date(2015, 6, 1)),
            ),
            1,
            "no first name for the patient (PID-5)",
        ),
        (
            registered(RegisteredCoverage(1, "ACME01", None, "W", None, "18", None)),
            1,
            "cannot be asked about in a 270 (primary coverage): subscriber.member_id",
        ),
    ],
)
def test_what_a_270_needs_and_the_registration_lacks_is_named(
    registration: Registration, coverage: int, said: str
) -> None:
    with pytest.raises(Invalid) as raised:
        inquiry_from_registration(registration, ask(coverage=coverage))
    assert said in str(raised.value) and "MRN1" in str(raised.value)
    assert "W" + "200" not in json.dumps(raised.value.extra)  # the problem's members name fields, not values


def test_an_insured_of_unknown_relationship_is_the_subscriber_and_self_naming_another_is_refused() -> None:
    # IN1-17 left empty with the father in IN1-16/18: claims registers the coverage as of unknown relationship
    unknown = RegisteredCoverage(1, "ACME01", None, "W200", "GRP1", "21", PARENT)
    inquiry = inquiry_from_registration(registered(unknown), ask())
    assert (inquiry.subscriber.first_name, inquiry.subscriber.member_id, inquiry.subscriber.group_number) == (
        "JOHN",
        "W200",
        "GRP1",
    )
    assert inquiry.dependent is not None and inquiry.dependent.first_name == "JIM"
    # "self" while the insured named is someone else: asked about as the subscriber under W200, the child
    # would be taken for the father
    with pytest.raises(Invalid) as raised:
        inquiry_from_registration(registered(replace(unknown, relationship="18")), ask())
    assert "MRN1 says the patient is the insured of its primary coverage (relationship self)" in str(raised.value)
    assert raised.value.title == "Inconsistent registration" and raised.value.extra == {"coverage": 1}
    # "self" with the patient as the insured, spelled otherwise: the patient is asked about
    himself = RegisteredPerson(" Doe ", "jim", birth_date=CHILD.birth_date)
    inquiry = inquiry_from_registration(registered(replace(unknown, relationship="18", insured=himself)), ask())
    assert inquiry.subscriber.first_name == "JIM" and inquiry.dependent is None


def test_names_with_accents_are_asked_about_by_their_base_letters() -> None:
    patient = RegisteredPerson("Muñoz", "José", birth_date=date(1990, 1, 2))
    own = RegisteredCoverage(1, "ACME01", "Salud Médica", "W200", None, "18", None)
    inquiry = inquiry_from_registration(registered(own, patient=patient), ask())
    assert (inquiry.subscriber.last_name, inquiry.subscriber.first_name, inquiry.payer_name) == (
        "Munoz",
        "Jose",
        "Salud Medica",
    )
    # a letter without an ASCII base letter, a control character: refused by field, as any text a 270 cannot carry
    with pytest.raises(Invalid, match=r"subscriber\.last_name"):
        inquiry_from_registration(registered(own, patient=replace(patient, last_name="Ørsted")), ask())
    with pytest.raises(Invalid, match=r"subscriber\.group_number"):
        inquiry_from_registration(registered(replace(own, group_number="G\x071")), ask())
