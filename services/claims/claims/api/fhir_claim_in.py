"""A posted FHIR Claim (professional, use claim) read into charge entry's command, `ClaimCreate`: the same
command `POST /v1/claims` takes, so that the claim a FHIR client submits is the one the REST API would make.

What the claim says that would change the bill and the command cannot carry is refused (422, the element
named), never dropped; elements that do not change the bill (priority, created, enterer, subType, ...) are
accepted and not kept. The billing provider and the care team are referenced by NPI (`*_npi`): the
practice's master data resolves them on the date of service, as for any claim. Pure.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError
from rcm_shared.fhir import Body, FhirError, Found, Issue, unwrap

from claims.api import fhir_codes as fc
from claims.api.fhir_coverage_in import Where, address, insurance, medical_record_numbers
from claims.api.fhir_refs import Loc, check_keys, coded, held, identifier_of, refuse
from claims.domain.encounter import CHARGE_DIGITS, CHARGE_PLACES, UNITS_DIGITS, UNITS_PLACES, ClaimCreate
from claims.use_cases.fhir_claims import Submission

CENT = Decimal("0.01")
AMOUNT_DIGITS = 18  # the 837's amounts (CLM02, SV102, AMT02) are R 1/18: the most any amount of a claim has

CLAIM_READ = {
    # read
    *("identifier", "status", "type", "use", "patient", "provider", "insurer", "insurance", "careTeam"),
    *("diagnosis", "item", "total", "referral", "facility", "payee", "contained"),
    # accepted, not kept: they do not change the bill
    *("resourceType", "id", "meta", "text", "language", "created", "priority", "enterer", "fundsReserve"),
    *("billablePeriod", "subType"),
}
CLAIM_REFUSED = {
    "related": "a replacement or void of a claim goes through POST /v1/claims/{id}/correct or /void",
    "accident": "accident details (CLM11) are not supported",
    "supportingInfo": "supporting information is not supported",
    "procedure": "ICD-10-PCS procedures belong to institutional claims, which are not supported",
    "prescription": "prescriptions are not billed here",
    "originalPrescription": "prescriptions are not billed here",
}
ITEM_READ = {
    *("sequence", "careTeamSequence", "diagnosisSequence", "productOrService", "modifier", "servicedDate"),
    *("servicedPeriod", "quantity", "unitPrice", "factor", "net", "locationCodeableConcept"),
    *("id", "category", "encounter"),
}
ITEM_REFUSED = {
    "revenue": "revenue codes belong to institutional claims, which are not supported",
    "detail": "item details (packages, drug lines) are not supported",
    "udi": "device identifiers are not supported",
    "locationAddress": "give a line's place as locationCodeableConcept (a place-of-service code)",
    "locationReference": "give a line's place as locationCodeableConcept (a place-of-service code)",
}
DIAGNOSIS_READ = {"id", "sequence", "diagnosisCodeableConcept", "type"}
CARE_TEAM_READ = {"id", "sequence", "provider", "role", "responsible", "qualification"}


def read_submission(body: dict[str, Any]) -> Submission:
    """The charge-entry command of a `$submit` body (a Claim, a collection Bundle or a Parameters), with the
    claim's identifiers, its patient's MRNs and its total; a FhirError naming the element when it cannot be."""
    posted = unwrap(body, "Claim")
    return _Reader(posted.focus, posted).submission()


def _bounded(number: Decimal, at: str, digits: int, places: int, what: str) -> Decimal:
    """`number`, refused naming `at` when it has more than `digits - places` digits before the point: more than
    a claim carries (and more than the decimal context could quantize: FHIR decimals have no bound)."""
    if abs(number) >= Decimal(10) ** (digits - places):
        largest = Decimal(10) ** (digits - places) - Decimal(1).scaleb(-places)
        raise refuse(at, f"{what} is at most {largest:,}: more than a claim carries", "value")
    return number


def _money(value: dict[str, Any], at: str) -> Decimal:
    if value.get("currency", "USD") != "USD":
        raise refuse(f"{at}.currency", "amounts are in USD")
    if value.get("value") is None:
        raise refuse(f"{at}.value", "an amount has a value", "required")
    amount = _bounded(Decimal(str(value.get("value"))), f"{at}.value", AMOUNT_DIGITS, 2, "an amount")
    if amount != amount.quantize(CENT):
        raise refuse(f"{at}.value", "an amount has whole cents", "invalid")
    return amount.quantize(CENT)


def _units(value: Any, at: str) -> Decimal:
    """The number as charge entry writes it: 1, 1.5 (no trailing zeros, no exponent)."""
    number = _bounded(Decimal(str(value)), at, UNITS_DIGITS, UNITS_PLACES, "a quantity")
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


class _Reader:
    def __init__(self, claim: Found, refs: Body) -> None:
        self.claim = claim
        self.refs = refs
        self.where: Where = {(): claim.path}
        self.doc: dict[str, Any] = {"kind": "professional"}

    def at(self, element: str) -> str:
        return self.claim.at(element)

    def submission(self) -> Submission:
        c = self.claim
        check_keys(c.resource, c.path, CLAIM_READ, CLAIM_REFUSED)
        if c.get("status") != "active":
            raise refuse(self.at("status"), f"a claim submitted is active (not {c.get('status')})", "invalid")
        if c.get("use") != "claim":
            raise refuse(self.at("use"), f"use {c.get('use')!r} is not supported: only claims are billed here")
        kind = coded(c.get("type"), (fc.CLAIM_TYPE,))
        if kind != "professional":
            raise refuse(self.at("type"), f"claim type {kind!r} is not supported: professional claims (837P) are")
        identifiers = self._identifiers()
        patient = self.refs.resolve(c.get("patient"), self.at("patient"), c, ("Patient",))
        covered, where = insurance(self.refs, c, patient)
        self.doc |= covered
        self.where |= where
        self._provider()
        roles = self._care_team()
        sequences = self._diagnoses()
        self._items(sequences, roles)
        self._referral_facility_payee()
        total = _money(c.get("total"), self.at("total")) if c.get("total") else None
        try:
            command = ClaimCreate.model_validate(self.doc)
        except ValidationError as exc:
            issues = [Issue(e["msg"], "invalid", expression=self._expression(e["loc"])) for e in exc.errors()]
            raise FhirError(422, issues) from None
        return Submission(
            command,
            identifiers,
            tuple(medical_record_numbers(patient)),
            int(total * 100) if total is not None else None,
            self.at("total"),
        )

    def _expression(self, loc: Loc) -> str:
        """The element a problem at `loc` in the command was read from (the nearest one known)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.where:
                return self.where[loc[:end]]
        return self.claim.path

    def _identifiers(self) -> tuple[tuple[str, str], ...]:
        out = []
        for i, ident in enumerate(self.claim.get("identifier") or []):
            system, value = ident.get("system"), ident.get("value")
            if not system or not value:
                raise refuse(self.at(f"identifier[{i}]"), "an identifier needs a system and a value", "required")
            if system == fc.CLAIM_ID:
                raise refuse(self.at(f"identifier[{i}].system"), "claim ids in this system are this server's to give")
            out.append(held(str(system), str(value), self.at(f"identifier[{i}]")))
        return tuple(out)

    def _provider(self) -> None:
        c = self.claim
        provider = self.refs.resolve(c.get("provider"), self.at("provider"), c, ("Organization", "Practitioner"))
        npi = identifier_of(provider, fc.NPI)
        if npi is None:
            raise refuse(
                provider.at("identifier"), f"the billing provider is named by its NPI (system {fc.NPI})", "required"
            )
        self.doc["billing_provider_npi"], self.where[("billing_provider_npi",)] = npi

    def _care_team(self) -> dict[int, str]:
        """The rendering and referring providers by NPI; returns each member's role by its sequence."""
        roles: dict[int, str] = {}
        for i, member in enumerate(self.claim.get("careTeam") or []):
            at = self.at(f"careTeam[{i}]")
            check_keys(member, at, CARE_TEAM_READ, {})
            code = coded(member.get("role"), (fc.CARE_TEAM_ROLE, fc.CARIN_CARE_TEAM_ROLE))
            role = fc.CARE_TEAM_ROLES.get(code or "")
            if role is None:
                raise refuse(f"{at}.role", f"role {code!r} is not supported: primary (or rendering) and referring are")
            if f"{role}_npi" in self.doc:
                raise refuse(f"{at}.role", f"one {role.replace('_', ' ')} per claim")
            person = self.refs.resolve(member.get("provider"), f"{at}.provider", self.claim, ("Practitioner",))
            npi = identifier_of(person, fc.NPI)
            if npi is None:
                raise refuse(
                    person.at("identifier"), f"a care team member is named by its NPI (system {fc.NPI})", "required"
                )
            self.doc[f"{role}_npi"], self.where[(f"{role}_npi",)] = npi
            roles[member.get("sequence")] = role
        return roles

    def _diagnoses(self) -> dict[int, int]:
        """The diagnoses in sequence order, a principal one first; returns each one's position by sequence."""
        rows = []
        for i, entry in enumerate(self.claim.get("diagnosis") or []):
            at = self.at(f"diagnosis[{i}]")
            check_keys(entry, at, DIAGNOSIS_READ, {"diagnosisReference": "diagnoses are ICD-10-CM codes"})
            code = coded(entry.get("diagnosisCodeableConcept"), (fc.ICD10CM,))
            if code is None:
                raise refuse(f"{at}.diagnosisCodeableConcept", f"diagnoses are ICD-10-CM codes (system {fc.ICD10CM})")
            principal = any(coded(t, (fc.DIAGNOSIS_TYPE,)) == "principal" for t in entry.get("type") or [])
            rows.append((not principal, entry["sequence"], code, f"{at}.diagnosisCodeableConcept"))
        rows.sort()
        self.doc["diagnoses"] = [code for _p, _s, code, _at in rows]
        for n, (_p, _s, _code, at) in enumerate(rows):
            self.where[("diagnoses", n)] = at
        self.where[("diagnoses",)] = self.at("diagnosis")
        return {sequence: n + 1 for n, (_p, sequence, _c, _a) in enumerate(rows)}

    def _items(self, diagnoses: dict[int, int], roles: dict[int, str]) -> None:
        lines: list[dict[str, Any]] = []
        places: list[str | None] = []
        # in sequence order: the stored claim's lines are numbered so, and its ClaimResponse names them so
        items = sorted(enumerate(self.claim.get("item") or []), key=lambda e: e[1].get("sequence", 0))
        for n, (i, item) in enumerate(items):
            at = self.at(f"item[{i}]")
            check_keys(item, at, ITEM_READ, ITEM_REFUSED)
            line, place = self._line(item, at, diagnoses, roles)
            self.where |= {("lines", n, *k): v for k, v in self._line_where(item, at).items()}
            lines.append(line)
            places.append(place)
        # the claim's place of service is the first line's; a line elsewhere keeps its own (SV105)
        self.doc["lines"] = lines
        self.where[("lines",)] = self.at("item")
        if places and places[0] is not None:
            self.doc["facility_code"] = places[0]
            self.where[("facility_code",)] = self.at("item[0].locationCodeableConcept")
        for line, place in zip(lines, places, strict=True):
            if place is not None and place != self.doc.get("facility_code"):
                line["place_of_service"] = place

    def _line(
        self, item: dict[str, Any], at: str, diagnoses: dict[int, int], roles: dict[int, str]
    ) -> tuple[dict[str, Any], str | None]:
        product = item.get("productOrService") or {}
        code = coded(product, (fc.CPT, fc.HCPCS))
        if code is None:
            raise refuse(f"{at}.productOrService", f"bill a CPT ({fc.CPT}) or HCPCS ({fc.HCPCS}) code")
        line: dict[str, Any] = {"procedure_code": code}
        if product.get("text"):
            line["description"] = product["text"]
        modifiers = [coded(m, (fc.CPT, fc.HCPCS)) for m in item.get("modifier") or []]
        if None in modifiers:
            raise refuse(f"{at}.modifier[{modifiers.index(None)}]", "modifiers are CPT or HCPCS codes")
        line["modifiers"] = modifiers
        if item.get("servicedPeriod"):
            period = item["servicedPeriod"]
            if not period.get("start"):
                raise refuse(f"{at}.servicedPeriod.start", "a service period has a start", "required")
            line["service_date"] = period["start"][:10]
            if period.get("end"):
                line["service_date_end"] = period["end"][:10]
        elif item.get("servicedDate"):
            line["service_date"] = item["servicedDate"]
        else:
            raise refuse(f"{at}.serviced[x]", "each item has its date of service", "required")
        quantity = item.get("quantity") or {}
        units = _units(quantity.get("value", 1), f"{at}.quantity.value")
        line["units"] = units
        for missing in sorted({s for s in item.get("diagnosisSequence") or [] if s not in diagnoses}):
            n = item["diagnosisSequence"].index(missing)
            raise refuse(f"{at}.diagnosisSequence[{n}]", f"no diagnosis has sequence {missing}", "invalid")
        if item.get("diagnosisSequence"):
            line["diagnosis_pointers"] = [diagnoses[s] for s in item["diagnosisSequence"]]
        for n, sequence in enumerate(item.get("careTeamSequence") or []):
            if roles.get(sequence) != "rendering_provider":
                raise refuse(
                    f"{at}.careTeamSequence[{n}]",
                    "a line is rendered by the claim's rendering provider: other providers per line are not supported",
                )
        charge = self._charge(item, at, units)
        if charge is not None:
            line["charge"] = charge
        concept = item.get("locationCodeableConcept")
        place = coded(concept, (fc.PLACE_OF_SERVICE,)) if concept else None
        if concept and place is None:
            raise refuse(
                f"{at}.locationCodeableConcept", f"a line's place is a place-of-service code ({fc.PLACE_OF_SERVICE})"
            )
        return line, place

    def _charge(self, item: dict[str, Any], at: str, units: Decimal) -> Decimal | None:
        """The line's charge: its net, else unit price x quantity x factor (to the cent); None (the charge
        master prices it) when it has neither."""
        net = _money(item["net"], f"{at}.net") if item.get("net") else None
        if not item.get("unitPrice"):
            return net
        factor = Decimal(str(item.get("factor", 1)))
        product = _money(item["unitPrice"], f"{at}.unitPrice") * units * factor
        what = "a line's charge (unitPrice x quantity x factor)"
        computed = _bounded(product, f"{at}.unitPrice", CHARGE_DIGITS, CHARGE_PLACES, what).quantize(
            CENT, ROUND_HALF_UP
        )
        if net is not None and net != computed:
            raise refuse(f"{at}.net", f"net {net} is not unitPrice x quantity x factor ({computed})", "invalid")
        return computed

    @staticmethod
    def _line_where(item: dict[str, Any], at: str) -> Where:
        serviced = f"{at}.servicedPeriod" if item.get("servicedPeriod") else f"{at}.servicedDate"
        return {
            (): at,
            ("procedure_code",): f"{at}.productOrService",
            ("description",): f"{at}.productOrService.text",
            ("modifiers",): f"{at}.modifier",
            ("service_date",): serviced,
            ("service_date_end",): f"{at}.servicedPeriod.end",
            ("units",): f"{at}.quantity",
            ("diagnosis_pointers",): f"{at}.diagnosisSequence",
            ("charge",): f"{at}.net" if item.get("net") else f"{at}.unitPrice",
            ("place_of_service",): f"{at}.locationCodeableConcept",
        }

    def _referral_facility_payee(self) -> None:
        c = self.claim
        if c.get("referral"):
            number = (c.get("referral").get("identifier") or {}).get("value")
            if not number:
                raise refuse(self.at("referral"), "a referral is given by its number (Reference.identifier)")
            self.doc["referral_number"], self.where[("referral_number",)] = number, self.at("referral.identifier.value")
        if c.get("facility"):
            self._facility(self.refs.resolve(c.get("facility"), self.at("facility"), c, ("Location",)))
        payee = c.get("payee")
        if payee:
            if coded(payee.get("type"), (fc.PAYEE_TYPE,)) != "provider":
                raise refuse(self.at("payee.type"), "benefits are assigned to the provider: payee type provider only")
            if payee.get("party") and payee["party"] != c.get("provider"):
                raise refuse(
                    self.at("payee.party"),
                    "the payee is the billing provider (a pay-to address is in the practice profile)",
                )

    def _facility(self, place: Found) -> None:
        """A service facility of the practice (by its id in our facility-id system) or given whole."""
        known = identifier_of(place, fc.FACILITY_ID)
        if known is not None:
            self.doc["facility_id"], self.where[("facility_id",)] = known
            return
        values, located = address(place)
        npi = identifier_of(place, fc.NPI)
        self.doc["service_facility"] = {
            "name": place.get("name"),
            **({"address": values} if values else {}),
            **({"npi": npi[0]} if npi else {}),
        }
        self.where |= {("service_facility", *k): v for k, v in located.items()}
        self.where[("service_facility", "name")] = place.at("name")
        self.where[("service_facility",)] = place.path
