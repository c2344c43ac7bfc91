"""Who is billed, read from a posted claim's Coverage: the payer (its Organization's payer id), the subscriber
and the patient (a Patient or RelatedPerson: name, birth date, gender, address) and their relationship, the
member id and group number. Each value comes with the element it was read from (`Where`), for the problems
charge entry finds in it later. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcm_shared.fhir import Body, Found

from claims.api import fhir_codes as fc
from claims.api.fhir_refs import Loc, check_keys, coded, held, identifier_of, refuse

Where = dict[Loc, str]  # a location in the command -> the FHIRPath it was read from
INSURANCE_READ = {"id", "sequence", "focal", "coverage", "preAuthRef", "identifier"}


@dataclass(frozen=True)
class Parties:
    """A coverage's payer, subscriber and patient (None when the subscriber is the patient), as the
    command's `payer`, `subscriber` and `patient` (or a later payer's `subscriber` and `relationship`)."""

    payer: dict[str, Any]
    subscriber: dict[str, Any]
    patient: dict[str, Any] | None
    relationship: str  # SBR02: the subscriber's relationship to the patient, 18 self
    where: Where


def _name(found: Found) -> tuple[dict[str, Any], Where]:
    names = [n for n in found.get("name") or [] if n.get("use") != "old"]
    if not names:
        raise refuse(found.at("name"), "a name (family and given) is required on the claim", "required")
    official = next((n for n in names if n.get("use") in ("official", "usual")), names[0])
    i = (found.get("name") or []).index(official)
    given = official.get("given") or []
    values: dict[str, Any] = {"last_name": official.get("family")}
    if given:
        values["first_name"] = given[0]
    if len(given) > 1:
        values["middle_name"] = " ".join(given[1:])
    at = found.at(f"name[{i}]")
    where: Where = {
        ("last_name",): f"{at}.family",
        ("first_name",): f"{at}.given[0]",
        ("middle_name",): f"{at}.given[1]",
    }
    return {k: v for k, v in values.items() if v is not None}, where


def address(found: Found) -> tuple[dict[str, Any] | None, Where]:
    """The resource's current address (home first) as the command's address, or None when it has none. A
    Location has one address, people a list."""
    raw = found.get("address")
    listed = isinstance(raw, list)
    every = raw if listed else [raw] if raw else []
    current = [a for a in every if a.get("use") != "old" and not (a.get("period") or {}).get("end")]
    if not current:
        return None, {}
    chosen = next((a for a in current if a.get("use") == "home"), current[0])
    at = found.at(f"address[{every.index(chosen)}]" if listed else "address")
    if chosen.get("country") and chosen["country"].upper() not in ("US", "USA", "UNITED STATES"):
        raise refuse(f"{at}.country", "the 837 takes US addresses only here")
    lines = chosen.get("line") or []
    if len(lines) > 2:
        raise refuse(f"{at}.line[2]", "an address has at most two lines on the 837")
    postal = chosen.get("postalCode")
    values = {
        "line1": lines[0] if lines else None,
        "line2": lines[1] if len(lines) > 1 else None,
        "city": chosen.get("city"),
        "state": chosen.get("state"),
        "postal_code": postal.replace("-", "") if isinstance(postal, str) else None,
    }
    where: Where = {
        ("address",): at,
        ("address", "line1"): f"{at}.line[0]",
        ("address", "line2"): f"{at}.line[1]",
        ("address", "city"): f"{at}.city",
        ("address", "state"): f"{at}.state",
        ("address", "postal_code"): f"{at}.postalCode",
    }
    return {k: v for k, v in values.items() if v is not None}, where


def person(found: Found) -> tuple[dict[str, Any], Where]:
    """A Patient or RelatedPerson as the command's person: name, birth date, sex, address."""
    if found.logical:  # an identifier (and a display) only: none of what the 837 says of the person
        raise refuse(
            found.path,
            f"send the {found.type} with the claim (contained, or a Bundle entry) and reference it: the claim "
            "needs its name, birth date and address, which a reference by identifier does not carry",
        )
    values, where = _name(found)
    if found.get("birthDate"):
        values["birth_date"] = found.get("birthDate")
        where[("birth_date",)] = found.at("birthDate")
    if found.get("gender"):
        if found.get("gender") not in fc.GENDER:  # the models take any code: the value set is checked here
            raise refuse(found.at("gender"), f"gender is one of {', '.join(fc.GENDER)}", "invalid")
        values["sex"] = fc.GENDER[found.get("gender")]
        where[("sex",)] = found.at("gender")
    place, at = address(found)
    if place is not None:
        values["address"] = place
        where |= at
    return values, where


def medical_record_numbers(patient: Found) -> list[tuple[str, str]]:
    """The patient's MRNs: identifiers in our MRN system, or of type MR (HL7 v2 table 0203) in the sender's."""
    out = []
    for i, ident in enumerate(patient.get("identifier") or []):
        of_type = coded(ident.get("type"), (fc.IDENTIFIER_TYPE,)) == "MR"
        if ident.get("value") and ident.get("system") and (ident["system"] == fc.MRN or of_type):
            out.append(held(str(ident["system"]), str(ident["value"]), patient.at(f"identifier[{i}]")))
    return out


def payer(refs: Body, coverage: Found) -> tuple[dict[str, Any], Where]:
    """The coverage's payor: an Organization known by its payer id; the filing indicator (SBR09) from
    Coverage.type when it is coded in our system (else the payer enrollment's, as in charge entry)."""
    payors = coverage.get("payor") or []
    if len(payors) != 1:
        raise refuse(coverage.at("payor"), "a coverage has one payor here: the Organization billed")
    org = refs.resolve(payors[0], coverage.at("payor[0]"), coverage, ("Organization",))
    found = identifier_of(org, fc.PAYER_ID)
    if found is None:
        raise refuse(
            org.at("identifier"), f"the payer's Organization needs its payer id (system {fc.PAYER_ID})", "required"
        )
    payer_id, at = found
    values = {"payer_id": payer_id, "name": org.get("name")}
    indicator = coded(coverage.get("type"), (fc.FILING_INDICATOR,))
    if indicator:
        values["filing_indicator"] = indicator
    where: Where = {("payer_id",): at, ("name",): org.at("name"), ("filing_indicator",): coverage.at("type")}
    return {k: v for k, v in values.items() if v is not None}, where


def parties(refs: Body, patient: Found, coverage: Found) -> Parties:
    """The payer, subscriber and patient of a coverage of the claim's patient."""
    if coverage.get("status") != "active":
        raise refuse(coverage.at("status"), f"the coverage is {coverage.get('status')}: bill an active one", "invalid")
    beneficiary = refs.resolve(coverage.get("beneficiary"), coverage.at("beneficiary"), coverage, ("Patient",))
    if beneficiary.path != patient.path:
        raise refuse(coverage.at("beneficiary"), "the coverage's beneficiary must be the claim's patient", "invalid")
    relationship = coded(coverage.get("relationship"), (fc.RELATIONSHIP,))
    holder = coverage.get("subscriber")
    subscriber = (
        refs.resolve(holder, coverage.at("subscriber"), coverage, ("Patient", "RelatedPerson")) if holder else patient
    )
    if relationship is None:
        if subscriber.path != patient.path:
            raise refuse(coverage.at("relationship"), "say how the patient is related to the subscriber", "required")
        relationship = "self"
    if relationship == "self" and subscriber.path != patient.path:
        raise refuse(
            coverage.at("subscriber"), "relationship self: the subscriber must be the claim's patient", "invalid"
        )
    if relationship != "self" and subscriber.path == patient.path:
        raise refuse(
            coverage.at("subscriber"), f"relationship {relationship}: name the subscriber (a RelatedPerson)", "required"
        )
    if relationship not in fc.SBR02:
        raise refuse(coverage.at("relationship"), f"the relationship {relationship!r} has no 837 code here")
    payer_values, payer_where = payer(refs, coverage)
    insured, insured_where = person(subscriber)
    member = {"member_id": coverage.get("subscriberId")}
    groups = [
        (i, c)
        for i, c in enumerate(coverage.get("class") or [])
        if coded(c.get("type"), (fc.COVERAGE_CLASS,)) == "group"
    ]
    if groups:
        member["group_number"] = groups[0][1].get("value")
    where: Where = {("payer", *k): v for k, v in payer_where.items()}
    where |= {("subscriber", *k): v for k, v in insured_where.items()}
    where[("subscriber", "member_id")] = coverage.at("subscriberId")
    if groups:
        where[("subscriber", "group_number")] = coverage.at(f"class[{groups[0][0]}].value")
    subscriber_values = {**insured, **{k: v for k, v in member.items() if v is not None}}
    if relationship == "self":
        return Parties(payer_values, subscriber_values, None, fc.SBR02["self"], where)
    patient_values, patient_where = person(patient)
    where |= {("patient", *k): v for k, v in patient_where.items()}
    where[("patient", "relationship")] = coverage.at("relationship")
    return Parties(
        payer_values,
        subscriber_values,
        {**patient_values, "relationship": fc.PAT01[relationship]},
        fc.SBR02[relationship],
        where,
    )


def insurance(refs: Body, claim: Found, patient: Found) -> tuple[dict[str, Any], Where]:
    """The claim's focal coverage as the command's payer, subscriber, patient and prior authorization, and the
    coverage after it (by sequence) as its secondary payer. The focal one comes first: a claim to a later payer
    needs the earlier ones' adjudication, which the claims service sends itself when the primary has paid."""
    entries = sorted(enumerate(claim.get("insurance") or []), key=lambda e: e[1]["sequence"])
    focal = [i for i, e in entries if e.get("focal")]
    if len(focal) != 1:
        raise refuse(claim.at("insurance"), "one insurance must be focal: the coverage billed", "required")
    at = claim.at(f"insurance[{focal[0]}]")
    if entries[0][0] != focal[0]:
        raise refuse(f"{at}.focal", "the focal coverage comes first: the claims service bills later payers itself")
    for i, entry in entries:
        check_keys(entry, claim.at(f"insurance[{i}]"), INSURANCE_READ, {"claimResponse": "prior payers' answers"})
        if i != focal[0] and entry.get("preAuthRef"):
            raise refuse(claim.at(f"insurance[{i}].preAuthRef"), "a prior authorization goes with the focal coverage")
    first = entries[0][1]
    found = parties(refs, patient, refs.resolve(first.get("coverage"), f"{at}.coverage", claim, ("Coverage",)))
    doc: dict[str, Any] = {"payer": found.payer, "subscriber": found.subscriber}
    where = dict(found.where)
    if found.patient is not None:
        doc["patient"] = found.patient
    auths = first.get("preAuthRef") or []
    if len(auths) > 1:
        raise refuse(f"{at}.preAuthRef[1]", "one prior authorization number per claim")
    if auths:
        doc["prior_authorization"], where[("prior_authorization",)] = auths[0], f"{at}.preAuthRef[0]"
    if len(entries) > 2:
        raise refuse(claim.at(f"insurance[{entries[2][0]}]"), "one payer after the billed one (a secondary) at most")
    if len(entries) == 2:
        j, entry = entries[1]
        then = parties(
            refs,
            patient,
            refs.resolve(entry.get("coverage"), claim.at(f"insurance[{j}].coverage"), claim, ("Coverage",)),
        )
        doc["secondary_payer"] = {**then.payer, "subscriber": then.subscriber, "relationship": then.relationship}
        for k, v in then.where.items():
            if k[0] in ("payer", "subscriber"):
                where[("secondary_payer", *(k[1:] if k[0] == "payer" else k))] = v
    insurer = claim.get("insurer")
    if insurer:
        named = identifier_of(refs.resolve(insurer, claim.at("insurer"), claim, ("Organization",)), fc.PAYER_ID)
        if named is not None and named[0] != found.payer["payer_id"]:
            raise refuse(claim.at("insurer"), "the insurer is not the focal coverage's payor", "invalid")
    return doc, where
