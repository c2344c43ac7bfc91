"""Drop-in route for integrations built on the Change Healthcare (Optum) Medical Network Eligibility v3
JSON API - the shape Stedi also serves: the same field names in and out, mapped onto our 270/271 engine,
so a hospital system switches by changing its base URL. Labels are our own words."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rcm_shared.web import ProblemError, actor_of, audit_entry, audited, tenant_of
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.sets.x270 import Benefit, EligibilityResponse, Member, RequestError

from eligibility.api.routes import refused
from eligibility.api.schemas import CheckCreate
from eligibility.domain.normalize import NEXT_STEPS
from eligibility.use_cases.checks import CheckRefused, PayerUnavailable, answer_of, run_check

router = APIRouter(prefix="/change/medicalnetwork/eligibility", tags=["compatibility"])
LABELS = {
    "1": "active coverage",
    "6": "inactive",
    "A": "co-insurance",
    "B": "co-payment",
    "C": "deductible",
    "F": "limitations",
    "G": "out of pocket (stop loss)",
    "L": "primary care provider",
    "R": "other or additional payor",
    "I": "non-covered",
}
TIME = {
    "23": "calendar year",
    "29": "remaining",
    "22": "service year",
    "24": "year to date",
    "27": "visit",
    "26": "episode",
    "32": "lifetime",
}


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ChcProvider(Loose):
    npi: str
    organizationName: str | None = None
    firstName: str | None = None
    lastName: str | None = None


class ChcPerson(Loose):
    firstName: str
    lastName: str
    dateOfBirth: str = Field(pattern=r"^\d{8}$")
    gender: str | None = None
    memberId: str | None = None


class ChcEncounter(Loose):
    dateOfService: str | None = Field(default=None, pattern=r"^\d{8}$")
    beginningDateOfService: str | None = Field(default=None, pattern=r"^\d{8}$")
    endDateOfService: str | None = Field(default=None, pattern=r"^\d{8}$")
    serviceTypeCodes: list[str] = ["30"]


class ChcRequest(Loose):
    controlNumber: str = Field(pattern=r"^\d{9}$")
    tradingPartnerServiceId: str
    tradingPartnerName: str | None = None
    provider: ChcProvider
    subscriber: ChcPerson
    dependents: list[ChcPerson] = []
    encounter: ChcEncounter = ChcEncounter()


def _d(text: str | None) -> date | None:
    return datetime.strptime(text, "%Y%m%d").date() if text else None


def _ymd(d: date | None) -> str | None:
    return d.strftime("%Y%m%d") if d else None


def to_check(req: ChcRequest) -> CheckCreate:
    enc = req.encounter
    start = _d(enc.dateOfService or enc.beginningDateOfService) or date.today()
    dep = req.dependents[0] if req.dependents else None
    sex = {"M": "M", "F": "F"}.get((req.subscriber.gender or "").upper()[:1])
    data = {
        "provider": {
            "npi": req.provider.npi,
            "name": req.provider.organizationName or req.provider.lastName or "PROVIDER",
            "first_name": None if req.provider.organizationName else req.provider.firstName,
        },
        "payer_id": req.tradingPartnerServiceId,
        "payer_name": req.tradingPartnerName or req.tradingPartnerServiceId,
        "subscriber": {
            "member_id": req.subscriber.memberId or "",
            "first_name": req.subscriber.firstName,
            "last_name": req.subscriber.lastName,
            "birth_date": _d(req.subscriber.dateOfBirth),
            "sex": sex,
        },
        "dependent": {"first_name": dep.firstName, "last_name": dep.lastName, "birth_date": _d(dep.dateOfBirth)}
        if dep
        else None,
        "service_date": start,
        "service_date_end": _d(enc.endDateOfService),
        "service_types": enc.serviceTypeCodes,
    }
    return CheckCreate.model_validate(data)


# DTP01 qualifiers by the names Optum's benefitsDateInformation gives them
DATE_NAMES = {
    "096": "discharge",
    "102": "issue",
    "152": "effectiveDateOfChange",
    "193": "periodStart",
    "194": "periodEnd",
    "198": "completion",
    "290": "coordinationOfBenefits",
    "291": "plan",
    "292": "benefit",
    "295": "primaryCareProvider",
    "304": "latestVisitOrConsultation",
    "307": "eligibility",
    "318": "added",
    "340": "cobraBegin",
    "341": "cobraEnd",
    "342": "premiumPaidtoDateBegin",
    "343": "premiumPaidToDateEnd",
    "346": "planBegin",
    "347": "planEnd",
    "348": "benefitBegin",
    "349": "benefitEnd",
    "356": "eligibilityBegin",
    "357": "eligibilityEnd",
    "382": "enrollment",
    "435": "admission",
    "442": "dateOfDeath",
    "458": "certification",
    "472": "service",
    "539": "policyEffective",
    "540": "policyExpiration",
    "636": "dateOfLastUpdate",
    "771": "status",
}


def present(values: dict[str, Any]) -> dict[str, Any]:
    """The fields that have a value: where we have none, Optum's schema has no null (a string, an object)
    and its clients test for the field's presence, so the field is left out."""
    return {k: v for k, v in values.items() if v is not None}


def _period(start: date, end: date | None) -> str:
    return f"{_ymd(start)}-{_ymd(end)}" if end and end != start else str(_ymd(start))


def _benefit(b: Benefit) -> dict[str, Any]:
    out: dict[str, Any] = {"code": b.code, "name": LABELS.get(b.code, b.code), "serviceTypeCodes": b.service_types}
    optional = {
        "coverageLevelCode": b.coverage_level,
        "insuranceTypeCode": b.insurance_type,
        "planCoverage": b.plan,
        "timeQualifierCode": b.time_period,
        "timeQualifier": TIME.get(b.time_period or ""),
        "benefitAmount": str(b.amount) if b.amount is not None else None,
        "benefitPercent": str(b.percent) if b.percent is not None else None,
        "quantityQualifierCode": b.quantity_qualifier,
        "benefitQuantity": str(b.quantity) if b.quantity else None,
        "authOrCertIndicator": b.authorization_required,
        "inPlanNetworkIndicatorCode": b.in_network,
        "additionalInformation": [{"description": m} for m in b.messages],
        "benefitsDateInformation": {DATE_NAMES.get(q, q): _period(s, e) for q, s, e in b.dates},
        "benefitsRelatedEntities": [
            present(
                {
                    "entityIdentifier": e.entity,
                    "entityName": e.name,
                    "entityFirstname": e.first,
                    "entityIdentification": e.id_qualifier,
                    "entityIdentificationValue": e.id,
                }
            )
            for e in b.related
        ],
    }
    out.update({k: v for k, v in optional.items() if v not in (None, [], {})})
    return out


def _member(m: Member) -> dict[str, Any]:
    return present(
        {
            "memberId": m.member_id,
            "firstName": m.first,
            "lastName": m.last,
            "dateOfBirth": _ymd(m.birth_date),
            "gender": m.sex,
        }
    )


def _error(e: RequestError) -> dict[str, Any]:
    return present(
        {
            "field": "AAA",
            "code": e.reason,
            "description": NEXT_STEPS.get(e.reason, "request rejected"),
            "followupAction": e.follow_up,
            "location": f"Loop {e.loop}",
            "possibleResolutions": NEXT_STEPS.get(e.reason, "correct the request and resend"),
        }
    )


def to_response(req: ChcRequest, r: EligibilityResponse) -> dict[str, Any]:
    member = r.subscriber
    plan_begin = next((s for q, s, _e in r.dates if q in ("346", "291", "356", "307")), None)
    plan_end = next((e or s for q, s, e in r.dates if q in ("347", "357") or (q in ("291", "307") and e)), None)
    group = next((v for q, v in (member.references if member else []) if q == "6P"), None)
    statuses = [b for b in r.benefits if b.code in ("1", "6", "7", "8")]
    return present(
        {
            "controlNumber": req.controlNumber,
            "tradingPartnerServiceId": req.tradingPartnerServiceId,
            "provider": present({"providerName": r.provider_name or None, "npi": r.provider_id or None}),
            "subscriber": _member(member) if member else None,
            "dependents": [_member(r.dependent)] if r.dependent else [],
            "payer": present({"name": r.payer_name or None, "payorIdentification": r.payer_id or None}),
            "planInformation": {"groupNumber": group} if group else {},
            "planDateInformation": present({"planBegin": _ymd(plan_begin), "planEnd": _ymd(plan_end)}),
            "planStatus": [
                present(
                    {
                        "statusCode": b.code,
                        "status": LABELS.get(b.code, b.code),
                        "planDetails": b.plan,
                        "serviceTypeCodes": b.service_types,
                    }
                )
                for b in statuses
            ],
            "benefitsInformation": [_benefit(b) for b in r.benefits],
            "errors": [_error(e) for e in r.errors],
        }
    )


@router.post("/v3", summary="Change Healthcare Eligibility v3 compatible: same JSON in and out")
async def chc_v3(request: Request) -> dict[str, Any]:
    tenant = tenant_of(request)
    try:
        req = ChcRequest.model_validate(await request.json())
        check = to_check(req)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise ProblemError(422, "Invalid request", "the request did not validate; see errors", errors=errors) from None
    except ValueError as exc:
        raise ProblemError(400, "Malformed JSON", str(exc)) from None
    state = request.app.state
    try:
        result = await run_check(
            state.units, tenant, actor_of(request), state.settings, state.failover, check, audit_entry(request, 200)
        )
    except CheckRefused as exc:
        raise refused(exc) from None
    except PayerUnavailable as exc:
        raise ProblemError(502, "Payer unavailable", str(exc)) from None
    except X12Error as exc:
        raise invalid_271(exc) from None
    if not result.cached:  # its audit row went in with the check's rows
        audited(request, 200)
    return to_response(req, answer_of(result.row, check.subscriber.member_id))


def invalid_271(exc: X12Error) -> ProblemError:
    """A 271 we cannot read: a problem detail naming the segment and element, its ``errors`` in the shape of
    Optum's (clients of the v3 API read them there)."""
    where = " ".join(
        part
        for part in (
            f"segment {exc.position}" if exc.position is not None else None,
            exc.segment_id,
            f"element {exc.element:02d}" if exc.element is not None else None,
        )
        if part
    )
    error = present(
        {
            "field": f"{exc.segment_id}{exc.element:02d}"
            if exc.segment_id and exc.element is not None
            else exc.segment_id,
            "code": exc.code,
            "description": exc.message,
            "location": where or None,
            "possibleResolutions": "the payer's 271 is malformed: try again later or ask the payer",
        }
    )
    return ProblemError(502, "Invalid 271 from the payer", str(exc), x12=exc.as_dict(), errors=[error])
