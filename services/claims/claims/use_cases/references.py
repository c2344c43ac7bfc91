"""Charge entry's references to the practice's master data, resolved on the date of service (the claim's
earliest line): the billing provider (by NPI among the practice profile's, else the profile's first, with
the profile's pay-to address), the rendering, referring and attending providers (by NPI), the service
facility (by id, and its place of service when the claim gives none), the payer's enrollment (its claim
filing indicator when the claim gives none), and each line's description from the charge master; and the
envelope of the tenant's interchanges (its clearinghouse connection) with the payer's id at that connection.
A reference that resolves to nothing is left to the scrubber as a finding (``Unresolved``): an error keeps
the claim a draft.

The stored document holds what was resolved, so that the 837 and the events built from it later say what
was true on the date of service, whatever the master data says by then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from rcm_shared.errors import Conflict
from rcm_shared.unit import Unit

from claims.adapters.x12_out import DEFAULT_FILING_INDICATOR, Envelope, settings_envelope
from claims.config import ClaimsSettings
from claims.domain import charge_master as cm
from claims.domain import practice as pm
from claims.domain.encounter import AddressIn, ClaimCreate, FacilityIn, ProviderIn, ServiceLineIn
from claims.domain.scrubber import Unresolved
from claims.repository import ChargeMasterRepository
from claims.repository.practice import PracticeRepository

ROLES = ("rendering_provider", "referring_provider", "attending_provider")


@dataclass
class _Lookups:
    """The practice's master data read for a batch, each (key, date) once."""

    repo: PracticeRepository
    profiles: dict[date, pm.Profile | None] = field(default_factory=dict)
    providers: dict[tuple[str, date], pm.Provider | None] = field(default_factory=dict)
    facilities: dict[tuple[str, date], pm.Facility | None] = field(default_factory=dict)
    enrollments: dict[tuple[str, date], pm.Enrollment | None] = field(default_factory=dict)
    any_enrollment: bool | None = None

    async def profile(self, on: date) -> pm.Profile | None:
        if on not in self.profiles:
            self.profiles[on] = await self.repo.profile(on)
        return self.profiles[on]

    async def provider(self, npi: str, on: date) -> pm.Provider | None:
        if (npi, on) not in self.providers:
            self.providers[(npi, on)] = await self.repo.provider(npi, on)
        return self.providers[(npi, on)]

    async def facility(self, facility_id: str, on: date) -> pm.Facility | None:
        if (facility_id, on) not in self.facilities:
            self.facilities[(facility_id, on)] = await self.repo.facility(facility_id, on)
        return self.facilities[(facility_id, on)]

    async def enrollment(self, payer_id: str, on: date) -> pm.Enrollment | None:
        """The payer's enrollment on a date; nothing is read for a practice that configured none."""
        if self.any_enrollment is None:
            self.any_enrollment = await self.repo.any_enrollment()
        if not self.any_enrollment:
            return None
        if (payer_id, on) not in self.enrollments:
            self.enrollments[(payer_id, on)] = await self.repo.enrollment(payer_id, on)
        return self.enrollments[(payer_id, on)]


def _address(a: pm.Address) -> dict[str, Any]:
    return {k: v for k, v in asdict(a).items() if v is not None}


def _billing(p: pm.BillingProvider) -> dict[str, Any]:
    values = {"npi": p.npi, "name": p.name, "first_name": p.first_name, "is_person": p.is_person}
    return {
        **values,
        "taxonomy": p.taxonomy,
        "tax_id": p.tax_id,
        "tax_id_type": p.tax_id_type,
        "address": _address(p.address),
    }


def _person(p: pm.Provider) -> dict[str, Any]:
    return {"npi": p.npi, "name": p.name, "first_name": p.first_name, "is_person": True, "taxonomy": p.taxonomy}


def _facility(f: pm.Facility) -> dict[str, Any]:
    values = {"name": f.name, "npi": f.npi, "address": _address(f.address)}
    return {**values, "place_of_service": f.place_of_service}


def _checked(
    model: type[ProviderIn] | type[FacilityIn] | type[AddressIn], values: dict[str, Any], where: str, what: str
) -> Any:
    """The master data as the claim holds it, or the finding that it cannot be held (a field the claim
    refuses, e.g. a name too long for the 837)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return Unresolved("PM006", {"field": where, "what": what, "problem": f"refused: {fields}"})


async def resolve_references(unit: Unit, docs: Sequence[ClaimCreate]) -> list[tuple[ClaimCreate, list[Unresolved]]]:
    """Each document with its references to the practice's master data resolved on its date of service, and
    the references that resolved to nothing. A reference wins over the inline value it names; a document
    that references nothing and gives its billing provider reads nothing."""
    lookups = _Lookups(PracticeRepository(unit))
    return [await _resolve(doc, lookups) for doc in docs]


async def _resolve(doc: ClaimCreate, lookups: _Lookups) -> tuple[ClaimCreate, list[Unresolved]]:
    on = doc.service_from
    day = on.isoformat()
    update: dict[str, Any] = {}
    problems: list[Unresolved] = []

    def take(name: str, found: Any) -> None:
        if isinstance(found, Unresolved):
            problems.append(found)
        else:
            update[name] = found

    if doc.billing_provider_npi or doc.billing_provider is None:
        profile = await lookups.profile(on)
        if doc.billing_provider_npi:
            billing = profile.billing_provider_for(doc.billing_provider_npi) if profile else None
            if billing is None:
                known = ", ".join(p.npi for p in profile.billing_providers) if profile else "no profile then"
                problems.append(Unresolved("PM001", {"npi": doc.billing_provider_npi, "date": day, "known": known}))
        else:  # no billing provider at all: the profile's first (PM002 from the scrubber when there is none)
            billing = profile.billing_provider if profile else None
        if billing is not None:
            where = "billing_provider_npi" if doc.billing_provider_npi else "billing_provider"
            take("billing_provider", _checked(ProviderIn, _billing(billing), where, "billing provider"))
            if profile is not None and profile.pay_to is not None and doc.pay_to is None:
                take("pay_to", _checked(AddressIn, _address(profile.pay_to), "pay_to", "pay-to address"))
    for role in ROLES:
        npi = getattr(doc, f"{role}_npi")
        if not npi:
            continue
        person = await lookups.provider(npi, on)
        words = role.replace("_", " ")
        if person is None:
            problems.append(Unresolved("PM003", {"field": f"{role}_npi", "role": words, "npi": npi, "date": day}))
        else:
            take(role, _checked(ProviderIn, _person(person), f"{role}_npi", words))
    if doc.facility_id:
        facility = await lookups.facility(doc.facility_id, on)
        if facility is None:
            problems.append(Unresolved("PM004", {"facility": doc.facility_id, "date": day}))
        else:
            take("service_facility", _checked(FacilityIn, _facility(facility), "facility_id", "service facility"))
    enrollment = await lookups.enrollment(doc.payer.payer_id, on)
    if enrollment is None and lookups.any_enrollment:
        problems.append(Unresolved("PM007", {"payer": doc.payer.payer_id, "date": day}))
    if doc.payer.filing_indicator is None:
        indicator = enrollment.claim_filing_indicator if enrollment else DEFAULT_FILING_INDICATOR
        update["payer"] = doc.payer.model_copy(update={"filing_indicator": indicator})
    place = update.get("service_facility", doc.service_facility)
    if doc.facility_code is None and doc.kind == "professional" and place is not None and place.place_of_service:
        update["facility_code"] = place.place_of_service
    return (doc.model_copy(update=update) if update else doc), problems


class NoConnection(Conflict):
    """The tenant has no clearinghouse connection to send under: nothing is sent (its claims stay ready)."""

    default_title = "No clearinghouse connection"


async def sender_envelope(unit: Unit, settings: ClaimsSettings, on: date) -> Envelope:
    """The envelope of the tenant's interchanges sent on a date: its practice profile's clearinghouse connection
    in effect then (the first, when it has several). The settings' submitter and receiver are the default
    tenant's connection when its profile names none (a deployment for one practice); any other tenant without
    one cannot send (``NoConnection``): under the deployment's ids its answers would come back to the default
    tenant. The usage indicator (test or production) is the deployment's."""
    profile = await PracticeRepository(unit).profile(on)
    if profile is None or not profile.connections:
        if unit.tenant == settings.default_tenant:
            return settings_envelope(settings)
        having = "no practice profile" if profile is None else "a practice profile without a clearinghouse connection"
        raise NoConnection(
            f"nothing was sent: the organization has {having} in effect on {on.isoformat()}; enter its "
            "clearinghouse account (submitter and receiver ids) in the practice profile's connections "
            "(PUT /v1/practice), then submit again"
        )
    c = profile.connections[0]
    return Envelope(
        submitter_id=c.submitter_id,
        submitter_name=c.submitter_name,
        contact_name=c.contact_name or c.submitter_name,
        phone=c.contact_phone,
        receiver_id=c.receiver_id,
        receiver_name=c.receiver,
        usage=settings.usage_indicator,
        connection=c.name,
    )


async def payer_ids_at(unit: Unit, docs: Mapping[str, ClaimCreate], envelope: Envelope) -> dict[str, str]:
    """The payer id of each claim (by id) whose 837 or 276 names its payer otherwise than the claim does: the
    payer's id at the connection used, from the practice's enrollment with the payer in effect on the claim's
    date of service. Nothing is read when the envelope is the deployment's (no enrollment names it)."""
    if envelope.connection is None:
        return {}
    lookups = _Lookups(PracticeRepository(unit))
    out = {}
    for claim_id, doc in docs.items():
        enrollment = await lookups.enrollment(doc.payer.payer_id, doc.service_from)
        if enrollment is not None and envelope.connection in enrollment.connection_payer_ids:
            out[claim_id] = enrollment.connection_payer_ids[envelope.connection]
    return out


def _item_key(line: ServiceLineIn) -> cm.Key | None:
    """The charge-master item of a line: its procedure code and modifiers, else its revenue code."""
    code = (line.procedure_code or line.revenue_code or "").strip().upper()
    return (code, cm.modifiers_key(line.modifiers if line.procedure_code else ())) if code else None


async def describe_lines(unit: Unit, docs: Sequence[ClaimCreate]) -> list[ClaimCreate]:
    """The documents with each line that has no description given the charge master's description of its item
    in effect on its service date; a line no item describes keeps none. Nothing is read when every line has a
    description."""
    keys = {key for doc in docs for line in doc.lines if line.description is None and (key := _item_key(line))}
    if not keys:
        return list(docs)
    versions: dict[cm.Key, list[cm.Version]] = {}
    words: dict[str, str] = {}
    for version, description in await ChargeMasterRepository(unit).descriptions(keys):
        versions.setdefault((version.code, version.modifiers), []).append(version)
        words[version.id] = description
    out = []
    for doc in docs:
        lines = []
        for line in doc.lines:
            key = _item_key(line)
            item = cm.in_effect(versions.get(key, ()), line.service_date) if key and line.description is None else None
            lines.append(line.model_copy(update={"description": words[item.id]}) if item else line)
        out.append(doc.model_copy(update={"lines": lines}))
    return out
