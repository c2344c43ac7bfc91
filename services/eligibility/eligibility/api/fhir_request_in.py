"""A posted CoverageEligibilityRequest as the inquiry the REST check takes (``CheckCreate``): its patient, coverage,
payer and provider (resolved in the body: ``rcm_shared.fhir.body``), dates and service types, each refusal naming
the FHIR element (a FHIRPath into the body as posted). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from rcm_shared.fhir import Body, FhirError, Found, Issue, unwrap

from eligibility.domain.inquiry import CheckCreate

NPI = "http://hl7.org/fhir/sid/us-npi"
PAYER_ID = "https://rcm.example.org/fhir/sid/payer-id"
SERVICE_TYPES = "https://x12.org/codes/service-type-codes"
# The Da Vinci guides' name for the same X12 code list (element 1365): accepted on input.
SERVICE_TYPES_X12 = "https://codesystem.x12.org/005010/1365"
MEMBER_NUMBER = "MB"  # http://terminology.hl7.org/CodeSystem/v2-0203: an identifier that is the member id
PURPOSES = ("benefits", "validation")
SEX = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
_PATIENT_ID = re.compile(r"Patient/([A-Za-z0-9\-.]{1,64})")


@dataclass(frozen=True)
class AskedCheck:
    """The inquiry a FHIR request asks, and what it says beyond it (kept with the check)."""

    check: CheckCreate
    patient_id: str | None
    fhir_request: dict[str, Any]


def refused(diagnostics: str, expression: str, code: str = "required") -> FhirError:
    """A 422: the request is FHIR, but cannot be asked as a 270 as it is."""
    return FhirError(422, [Issue(diagnostics, code, expression=expression)])


def _sent(body: Body, ref: Any, where: str, holder: Found, types: tuple[str, ...]) -> Found:
    """The resource a reference names among those the body holds: the 270 needs the person or coverage itself,
    which a logical reference (an identifier, a display) does not carry."""
    found = body.resolve(ref, where, holder, types)
    if found.logical:
        raise refused(
            f"{where} names a resource by identifier or display only: contain it or send it in the Bundle",
            where,
            "invalid",
        )
    return found


def _codes(concept: Any) -> list[tuple[int, str | None, str]]:
    return [
        (k, c.get("system"), c["code"])
        for k, c in enumerate((concept or {}).get("coding") or [])
        if isinstance(c, dict) and c.get("code")
    ]


def _person(found: Found) -> tuple[dict[str, Any], dict[str, str]]:
    """A Patient's (or RelatedPerson's) name, birth date and sex as the inquiry holds them, and the paths of each."""
    res = found.resource
    names = res.get("name") or []
    # an official name first (the one on the insurance card), else the first with a family name
    ordered = sorted(range(len(names)), key=lambda i: names[i].get("use") != "official")
    n = next((i for i in ordered if names[i].get("family")), None)
    if n is None:
        raise refused("no family name: the 270 names the member as on the insurance card", found.at("name"))
    name = names[n]
    if not name.get("given"):
        raise refused("no given name: the 270 names the member as on the insurance card", found.at(f"name[{n}].given"))
    if not res.get("birthDate"):
        raise refused("no birth date: the payer matches the member on it", found.at("birthDate"))
    person = {"last_name": name["family"], "first_name": name["given"][0], "birth_date": res["birthDate"]}
    paths = {
        "last_name": found.at(f"name[{n}].family"),
        "first_name": found.at(f"name[{n}].given[0]"),
        "birth_date": found.at("birthDate"),
        "sex": found.at("gender"),
    }
    if res.get("gender"):
        person["sex"] = SEX.get(res["gender"], "U")
    return person, paths


def _identifier(found: Found, system: str) -> tuple[str | None, str]:
    for k, ident in enumerate(found.resource.get("identifier") or []):
        if isinstance(ident, dict) and ident.get("system") == system and ident.get("value"):
            where = found.at("identifier") if found.logical else found.at(f"identifier[{k}].value")
            return str(ident["value"]), where
    return None, found.at("identifier")


def inquiry_of(posted: dict[str, Any], base: str) -> AskedCheck:
    """The inquiry a posted request asks (see ``unwrap``); a 400/422 OperationOutcome naming the element when
    the request cannot be asked as a 270 or the inquiry's rules refuse it. ``base``: our FHIR base, under which
    a Patient's fullUrl is one of ours."""
    body = unwrap(posted, "CoverageEligibilityRequest")
    req = body.focus
    res = req.resource
    if res.get("status") != "active":
        raise refused(
            f"only an active request is checked (status is {res.get('status')!r})", req.at("status"), "business-rule"
        )
    purposes = _purposes(req)
    paths: dict[str, str] = {"": req.path}
    patient = _sent(body, res.get("patient"), req.at("patient"), req, ("Patient",))
    coverage = _coverage(body, req)
    cov = coverage.resource
    member_id, paths["subscriber.member_id"] = _member_id(coverage)
    relationship = next((code for _, _, code in _codes(cov.get("relationship"))), None)
    person, person_paths = _person(patient)
    asked: dict[str, Any] = {}
    if relationship in (None, "self"):
        asked["subscriber"] = {"member_id": member_id, **person}
        paths |= {f"subscriber.{k}": v for k, v in person_paths.items()}
    else:  # the patient is a dependent: the 270 names the subscriber, then the patient (loop 2100D)
        where = coverage.at("subscriber")
        if not cov.get("subscriber"):
            raise refused(
                f"no subscriber: the patient is the subscriber's {relationship}, and the 270 names both", where
            )
        subscriber, sub_paths = _person(_sent(body, cov["subscriber"], where, coverage, ("Patient", "RelatedPerson")))
        asked["subscriber"] = {"member_id": member_id, **subscriber}
        asked["dependent"] = person
        paths |= {f"subscriber.{k}": v for k, v in sub_paths.items()}
        paths |= {f"dependent.{k}": v for k, v in person_paths.items()}
    asked |= _payer(body, req, coverage, paths)
    asked["provider"] = _provider(body, req, paths)
    asked |= _dates(req, paths)
    asked["service_types"] = _service_types(req, paths)
    try:
        check = CheckCreate.model_validate(asked)
    except ValidationError as exc:
        raise FhirError(422, [_issue(err, paths) for err in exc.errors(include_url=False)]) from None
    return AskedCheck(check, our_patient_id(patient.url, base), {"purpose": purposes, "relationship": relationship})


def our_patient_id(url: str | None, base: str) -> str | None:
    """The id of one of our Patients (the claims service's patient accounts) a Bundle entry's fullUrl names:
    under our base, or relative (`Patient/<id>`, on our server). Another server's Patient (an EHR's) is not one
    of ours whatever its id: None, and the check keeps the person's name and birth date (contained)."""
    if not url:
        return None
    path = url.removeprefix(f"{base.rstrip('/')}/") if url.startswith(("http:", "https:")) else url
    at = _PATIENT_ID.fullmatch(path)
    return at.group(1) if at else None


def _issue(err: Any, paths: dict[str, str]) -> Issue:
    """One refusal of the inquiry's rules, at the element the refused field came from."""
    loc = ".".join(str(part) for part in err["loc"])
    while loc not in paths:
        loc = loc.rpartition(".")[0]
    if err["type"] == "string_pattern_mismatch":
        text = "holds a character a 270 cannot carry (* ~ ^ : | \\)"
    else:
        text = str(err["msg"]).removeprefix("Value error, ")
    return Issue(text, "value", expression=paths[loc])


def _purposes(req: Found) -> list[str]:
    asked = list(req.resource.get("purpose") or [])
    for i, purpose in enumerate(asked):
        if purpose not in PURPOSES:
            raise refused(
                f"purpose {purpose!r} is not supported: a 270 asks for benefits or validation",
                req.at(f"purpose[{i}]"),
                "not-supported",
            )
    if not asked:
        raise refused("no purpose: ask for benefits or validation", req.at("purpose"))
    return asked


def _coverage(body: Body, req: Found) -> Found:
    insurance = req.resource.get("insurance") or []
    if not insurance:
        raise refused("no coverage to check: name it in insurance[].coverage", req.at("insurance"))
    focal = [i for i, ins in enumerate(insurance) if ins.get("focal")]
    if len(focal) > 1 or (not focal and len(insurance) > 1):
        raise refused("one coverage per request: mark the one to check focal", req.at("insurance"), "not-supported")
    i = focal[0] if focal else 0
    where = req.at(f"insurance[{i}].coverage")
    return _sent(body, insurance[i].get("coverage"), where, req, ("Coverage",))


def _member_id(coverage: Found) -> tuple[str, str]:
    cov = coverage.resource
    if cov.get("subscriberId"):
        return str(cov["subscriberId"]), coverage.at("subscriberId")
    for k, ident in enumerate(cov.get("identifier") or []):
        if any(code == MEMBER_NUMBER for _, _, code in _codes(ident.get("type"))) and ident.get("value"):
            return str(ident["value"]), coverage.at(f"identifier[{k}].value")
    raise refused("no member id: send Coverage.subscriberId (or an identifier of type MB)", coverage.at("subscriberId"))


def _payer(body: Body, req: Found, coverage: Found, paths: dict[str, str]) -> dict[str, Any]:
    """The payer asked: the insurer's payer id, else the coverage's payor's (an Organization with an identifier
    of system PAYER_ID, contained, in the Bundle, or named by a reference's identifier)."""
    holders = [(req.resource.get("insurer"), req.at("insurer"), req)]
    holders += [(p, coverage.at(f"payor[{j}]"), coverage) for j, p in enumerate(coverage.resource.get("payor") or [])]
    for ref, where, holder in holders:
        if not ref:
            continue
        org = body.resolve(ref, where, holder, ("Organization", "Patient", "RelatedPerson"))
        if org.resource["resourceType"] != "Organization":
            continue  # a person paying: no payer to send a 270 to
        payer_id, paths["payer_id"] = _identifier(org, PAYER_ID)
        if payer_id is None:
            continue
        paths["payer_name"] = org.at("name")
        if not org.resource.get("name"):
            raise refused("no name for the payer: the 270 names it", org.at("name"))
        return {"payer_id": payer_id, "payer_name": org.resource["name"]}
    raise refused(
        f"unknown payer: neither the insurer nor the coverage's payor is an Organization with a payer id "
        f"(identifier system {PAYER_ID})",
        req.at("insurer"),
        "code-invalid",
    )


def _provider(body: Body, req: Found, paths: dict[str, str]) -> dict[str, Any] | None:
    """The provider asking (loop 2100B): a Practitioner (a person: family and given name) or an Organization, with
    its NPI. None: the organization's billing provider asks (the REST check's rule)."""
    ref = req.resource.get("provider")
    if not ref:
        return None
    # a provider named by identifier alone is taken for an Organization: the 270 needs a person's name
    found = body.resolve(ref, req.at("provider"), req, ("Organization", "Practitioner"))
    npi, paths["provider.npi"] = _identifier(found, NPI)
    if npi is None:
        raise refused(f"no NPI for the provider (an identifier of system {NPI})", found.at("identifier"))
    if found.resource["resourceType"] == "Organization":
        paths["provider.name"] = found.at("name")
        if not found.resource.get("name"):
            raise refused("no name for the provider: the 270 names it", found.at("name"))
        return {"npi": npi, "name": found.resource["name"]}
    if found.logical:
        raise refused(
            "a Practitioner is named by reference to a contained or Bundle resource: the 270 names the person",
            found.path,
        )
    person, person_paths = _person_name(found)
    paths |= {f"provider.{k}": v for k, v in person_paths.items()}
    return {"npi": npi, **person}


def _person_name(found: Found) -> tuple[dict[str, str], dict[str, str]]:
    names = found.resource.get("name") or []
    n = next((i for i, name in enumerate(names) if name.get("family") and name.get("given")), None)
    if n is None:
        raise refused("no family and given name for the practitioner: the 270 names the person", found.at("name"))
    person = {"name": names[n]["family"], "first_name": names[n]["given"][0]}
    return person, {"name": found.at(f"name[{n}].family"), "first_name": found.at(f"name[{n}].given[0]")}


def _day(text: Any, where: str) -> str:
    if not isinstance(text, str) or len(text) < 10:
        raise refused("not a full date (YYYY-MM-DD)", where, "value")
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise refused("not a full date (YYYY-MM-DD)", where, "value") from None


def _dates(req: Found, paths: dict[str, str]) -> dict[str, Any]:
    """The date of service: servicedDate, or servicedPeriod; neither, the request's own date (as a 270 without
    one is answered as of the day the payer gets it)."""
    res = req.resource
    if res.get("servicedDate"):
        paths["service_date"] = req.at("servicedDate")
        return {"service_date": _day(res["servicedDate"], paths["service_date"])}
    period = res.get("servicedPeriod")
    if period:
        paths["service_date"] = req.at("servicedPeriod.start")
        paths["service_date_end"] = req.at("servicedPeriod.end")
        paths[""] = req.at("servicedPeriod")  # the inquiry's own rule: the end is not before the start
        if not period.get("start"):
            raise refused("no start for the period of service", paths["service_date"])
        end = _day(period["end"], paths["service_date_end"]) if period.get("end") else None
        return {"service_date": _day(period["start"], paths["service_date"]), "service_date_end": end}
    if not res.get("created"):
        raise refused("no date of service: send servicedDate (or servicedPeriod, or created)", req.at("servicedDate"))
    paths["service_date"] = req.at("created")
    return {"service_date": _day(res["created"], paths["service_date"])}


def _service_types(req: Found, paths: dict[str, str]) -> list[str]:
    """The X12 service types asked: each item's category (an X12 service type code); none asked, 30 (health
    benefit plan coverage)."""
    found: list[str] = []
    for i, item in enumerate(req.resource.get("item") or []):
        where = req.at(f"item[{i}]")
        if not item.get("category"):
            if item.get("productOrService"):
                raise refused(
                    "asking by procedure code is not supported: name the X12 service type in item.category",
                    f"{where}.productOrService",
                    "not-supported",
                )
            raise refused("no service type: name the X12 service type in item.category", f"{where}.category")
        codes = [
            (k, code) for k, system, code in _codes(item["category"]) if system in (SERVICE_TYPES, SERVICE_TYPES_X12)
        ]
        if not codes:
            raise refused(
                f"no X12 service type code in the category (system {SERVICE_TYPES})",
                f"{where}.category",
                "code-invalid",
            )
        for k, code in codes:
            if not (1 <= len(code) <= 2 and code.isalnum()):
                raise refused(
                    f"{code!r} is not an X12 service type code (1-2 letters or digits, e.g. 30)",
                    f"{where}.category.coding[{k}].code",
                    "code-invalid",
                )
            found.append(code)
    paths["service_types"] = req.at("item")
    return found or ["30"]
