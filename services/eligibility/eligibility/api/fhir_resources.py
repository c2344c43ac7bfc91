"""A stored check as FHIR: the CoverageEligibilityRequest it asked and the CoverageEligibilityResponse its normalized
271 makes (both with the check's id), the patient, coverage and payer contained in each. Pure.

What the 271 does not say is left out: no benefit, amount or term is made up. The out-of-pocket maximum is typed
with the code the CARIN Digital Insurance Card guide gives it (coverage-copay-type#maxoutofpocket): benefit-type
has no code for it. An amount the payer says is left (EB06 29) is kept as is in the REMAINING extension; usedMoney
is the amount met (EB06 24), else the plan amount less the amount left.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rcm_shared.fhir import concept, instant, money
from rcm_shared.x12.sets.x270 import EligibilityResponse, Member

from eligibility.api.fhir_request_in import NPI, PAYER_ID, SERVICE_TYPES
from eligibility.domain.normalize import NETWORK

BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
COPAY_TYPE = "http://terminology.hl7.org/CodeSystem/coverage-copay-type"
NETWORK_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-network"
UNIT_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-unit"
TERM_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-term"
RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
REJECT_REASON = "https://codesystem.x12.org/005010/901"  # AAA03, as the Da Vinci PAS guide names X12's code list
REMAINING = "https://rcm.example.org/fhir/StructureDefinition/benefit-remaining"
UNITS = {"IND": "individual", "FAM": "family"}
# EB06 of a limit -> benefit-term: calendar, service and contract years, years; lifetime; day.
TERMS = {"21": "annual", "22": "annual", "23": "annual", "25": "annual", "32": "lifetime", "7": "day"}
SEX = {"F": "female", "M": "male", "U": "unknown"}


def _amount(text: Any) -> Decimal | None:
    return None if text is None else Decimal(str(text))


def _person(ident: str, asked: dict[str, Any] | None, said: Member | None) -> dict[str, Any]:
    """A contained Patient: as the request named the person, else as the 271 did (an ingested 271's)."""
    person: dict[str, Any] = {"resourceType": "Patient", "id": ident}
    if asked:
        name = {"family": asked["last_name"], "given": [asked["first_name"]]}
        born, sex = asked.get("birth_date"), asked.get("sex")
    elif said:
        name = {"family": said.last} | ({"given": [said.first]} if said.first else {})
        born, sex = said.birth_date.isoformat() if said.birth_date else None, said.sex
    else:
        return person
    person["name"] = [name]
    if sex in SEX:
        person["gender"] = SEX[sex]
    if born:
        person["birthDate"] = born
    return person


def _parties(row: Any, answer: EligibilityResponse | None, *, answered: bool) -> tuple[list[dict[str, Any]], Any]:
    """The contained resources a check's resources reference (the patient, the subscriber of a dependent, the
    payer, the coverage) and the patient's reference: Patient/<id> when the request referenced one."""
    asked = row.request or {}  # {} for an ingested 271: the 271's names then
    said_subscriber, said_dependent = (answer.subscriber, answer.dependent) if answer else (None, None)
    dependent = bool(asked.get("dependent")) if asked else said_dependent is not None
    contained: list[dict[str, Any]] = []
    if row.patient_id:
        patient: dict[str, Any] = {"reference": f"Patient/{row.patient_id}"}
    else:
        patient = {"reference": "#patient"}
        said = said_dependent if dependent else said_subscriber
        contained.append(_person("patient", asked.get("dependent") or asked.get("subscriber"), said))
    subscriber = patient
    if dependent:
        subscriber = {"reference": "#subscriber"}
        contained.append(_person("subscriber", asked.get("subscriber"), said_subscriber))
    relationship = (row.fhir_request or {}).get("relationship") or (None if dependent else "self")
    normalized = row.normalized or {}
    payer = {
        "resourceType": "Organization",
        "id": "insurer",
        "identifier": [{"system": PAYER_ID, "value": row.payer_id}],
        "name": normalized.get("payer_name") or asked.get("payer_name") or row.payer_id,
    }
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": "coverage",
        "status": "active",
        "subscriber": subscriber,
        "subscriberId": row.member_id,
        "beneficiary": patient,
        "payor": [{"reference": "#insurer"}],
    }
    if relationship:
        coverage["relationship"] = concept(RELATIONSHIP, relationship)
    if answered:
        coverage |= _plan(normalized)
    return [*contained, payer, coverage], patient


def _plan(normalized: dict[str, Any]) -> dict[str, Any]:
    """What the payer said about the coverage itself: its period, group and plan."""
    found: dict[str, Any] = {}
    start, end = normalized.get("coverage_start"), normalized.get("coverage_end")
    if start or end:
        found["period"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    classes = []
    if normalized.get("group_number"):
        classes.append({"type": concept(COVERAGE_CLASS, "group"), "value": normalized["group_number"]})
    if normalized.get("plan"):
        classes.append(
            {"type": concept(COVERAGE_CLASS, "plan"), "value": normalized["plan"], "name": normalized["plan"]}
        )
    if classes:
        found["class"] = classes
    return found


def _common(kind: str, row: Any) -> dict[str, Any]:
    fhir = row.fhir_request or {}
    found: dict[str, Any] = {
        "resourceType": kind,
        "id": row.id,
        "meta": {"lastUpdated": instant(row.created_at)},
    }
    return found | {"status": "active", "purpose": fhir.get("purpose") or ["benefits"]}


def _serviced(row: Any) -> dict[str, Any]:
    end = (row.request or {}).get("service_date_end")
    start = row.service_date.isoformat() if isinstance(row.service_date, date) else str(row.service_date)
    return {"servicedPeriod": {"start": start, "end": end}} if end else {"servicedDate": start}


def _provider(row: Any, answer: EligibilityResponse | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The provider who asked: as the request named it, else by NPI alone (the practice's billing provider)."""
    named = (row.request or {}).get("provider")
    if not named:
        return [], _npi_of(row, answer)
    ident = [{"system": NPI, "value": named["npi"]}]
    if named.get("first_name"):
        name = [{"family": named["name"], "given": [named["first_name"]]}]
        return [{"resourceType": "Practitioner", "id": "provider", "identifier": ident, "name": name}], {
            "reference": "#provider"
        }
    return [{"resourceType": "Organization", "id": "provider", "identifier": ident, "name": named["name"]}], {
        "reference": "#provider"
    }


def eligibility_request(row: Any, answer: EligibilityResponse | None) -> dict[str, Any]:
    """The CoverageEligibilityRequest a check asked (an ingested 271's: what it answered)."""
    contained, patient = _parties(row, answer, answered=False)
    provider_contained, provider = _provider(row, answer)
    return _common("CoverageEligibilityRequest", row) | {
        "contained": [*contained, *provider_contained],
        "patient": patient,
        **_serviced(row),
        "created": instant(row.created_at),
        **({"provider": provider} if provider else {}),
        "insurer": {"reference": "#insurer"},
        "insurance": [{"focal": True, "coverage": {"reference": "#coverage"}}],
        "item": [{"category": concept(SERVICE_TYPES, code)} for code in row.service_types.split()],
    }


def eligibility_response(row: Any, answer: EligibilityResponse | None) -> dict[str, Any]:
    """The CoverageEligibilityResponse of a check's normalized 271."""
    normalized = row.normalized or {}
    status = normalized.get("status", row.status)
    contained, patient = _parties(row, answer, answered=True)
    insurance: dict[str, Any] = {"coverage": {"reference": "#coverage"}}
    if status != "error":
        insurance["inforce"] = status == "active"
        period = _plan(normalized).get("period")
        if period:
            insurance["benefitPeriod"] = period
        terms = _terms(answer) if answer else {}
        items = [_item(b, terms) for b in normalized.get("benefits", [])]
        if items:
            insurance["item"] = items
    found = _common("CoverageEligibilityResponse", row) | {
        "contained": contained,
        "patient": patient,
        **_serviced(row),
        "created": instant(row.created_at),
        **({"requestor": requestor} if (requestor := _npi_of(row, answer)) else {}),
        "request": {"reference": f"CoverageEligibilityRequest/{row.id}"},
        "outcome": "error" if status == "error" else "complete",
        "disposition": _disposition(status, normalized),
        "insurer": {"reference": "#insurer"},
        "insurance": [insurance],
    }
    errors = [_error(e) for e in normalized.get("errors", [])]
    return found | ({"error": errors} if errors else {})


def _npi_of(row: Any, answer: EligibilityResponse | None) -> dict[str, Any] | None:
    """The provider by NPI; an ingested 271 naming its provider without an id, by the name it gives (FHIR has no
    empty values); naming neither, None (the element is left out)."""
    if row.provider_npi:
        return {"identifier": {"system": NPI, "value": row.provider_npi}}
    name = answer.provider_name.strip() if answer and answer.provider_name else ""
    return {"display": name} if name else None


def _disposition(status: str, normalized: dict[str, Any]) -> str:
    plan = f": {normalized['plan']}" if normalized.get("plan") else ""
    if status == "active":
        return f"Coverage active{plan}"
    if status == "inactive":
        return f"Coverage inactive{plan}"
    reasons = "; ".join(f"AAA {e.get('code')}: {e.get('next_step')}" for e in normalized.get("errors", []))
    return f"Rejected by the payer ({reasons})" if reasons else "The payer's answer holds no coverage"


def _error(e: dict[str, Any]) -> dict[str, Any]:
    code = {"text": e.get("next_step") or "rejected by the payer"}
    if e.get("code"):
        code |= concept(REJECT_REASON, str(e["code"]))
    return {"code": code}


def _terms(answer: EligibilityResponse) -> dict[tuple[str, str, str | None], str]:
    """Per slot of the normalized benefits (service type, network, coverage level), the benefit-term its
    deductible and out-of-pocket limits share in the 271 (EB06); slots whose limits disagree or have no term
    of the three get none."""
    seen: dict[tuple[str, str, str | None], set[str | None]] = {}
    for b in answer.benefits:
        if b.code not in ("C", "G") or b.amount is None or b.time_period in ("24", "29"):
            continue
        for st in b.service_types or ["30"]:
            key = (st, NETWORK.get(b.in_network or "", "unknown"), b.coverage_level)
            seen.setdefault(key, set()).add(TERMS.get(b.time_period or ""))
    return {key: next(iter(terms)) for key, terms in seen.items() if len(terms) == 1 and None not in terms}  # type: ignore[misc]


def _item(b: dict[str, Any], terms: dict[tuple[str, str, str | None], str]) -> dict[str, Any]:
    item: dict[str, Any] = {"category": concept(SERVICE_TYPES, b["service_type"])}
    if b["network"] in ("in", "out"):
        item["network"] = concept(NETWORK_SYSTEM, b["network"])
    if b.get("coverage_level") in UNITS:
        item["unit"] = concept(UNIT_SYSTEM, UNITS[b["coverage_level"]])
    term = terms.get((b["service_type"], b["network"], b.get("coverage_level")))
    if term:
        item["term"] = concept(TERM_SYSTEM, term)
    benefits = [
        *_accumulator(concept(BENEFIT_TYPE, "deductible", "Deductible"), b.get("deductible") or {}),
        *_accumulator(concept(COPAY_TYPE, "maxoutofpocket", "Maximum out of pocket"), b.get("out_of_pocket") or {}),
    ]
    copay = _amount(b.get("copay"))
    if copay is not None:
        benefits.append({"type": concept(BENEFIT_TYPE, "copay", "Copayment per service"), "allowedMoney": money(copay)})
    rate = _amount(b.get("coinsurance"))
    if rate is not None:
        percent = (rate * 100).normalize()
        share = (
            {"allowedUnsignedInt": int(percent)}
            if percent == percent.to_integral_value()
            else {"allowedString": f"{percent}%"}
        )
        benefits.append({"type": concept(BENEFIT_TYPE, "copay-percent", "Copayment Percent per service")} | share)
    if benefits:
        item["benefit"] = benefits
    if b.get("prior_authorization_required") is not None:
        item["authorizationRequired"] = b["prior_authorization_required"]
    if b.get("limitations"):
        item["description"] = "; ".join(b["limitations"])
    return item


def _accumulator(kind: dict[str, Any], amounts: dict[str, Any]) -> list[dict[str, Any]]:
    """A deductible or out-of-pocket maximum: the plan amount allowed, the amount met used, the amount left in
    the REMAINING extension; none of them given, no benefit."""
    limit, met, left = (_amount(amounts.get(k)) for k in ("limit", "met", "remaining"))
    if limit is None and met is None and left is None:
        return []
    used = (
        met if met is not None else (limit - left if limit is not None and left is not None and left <= limit else None)
    )
    benefit: dict[str, Any] = {"type": kind}
    if left is not None:
        benefit["extension"] = [{"url": REMAINING, "valueMoney": money(left)}]
    if limit is not None:
        benefit["allowedMoney"] = money(limit)
    if used is not None:
        benefit["usedMoney"] = money(used)
    return [benefit]
