"""HTTP routes of the practice master data: the organization profile (versions by effective date), providers,
service facilities and payer enrollments, each tenant's own."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from rcm_shared.web import MAX_OFFSET, ActorDep, TenantDep, UnitsDep

from claims.api.deps import SettingsDep
from claims.api.practice_schemas import (
    AddressBody,
    EnrollmentCreate,
    EnrollmentRead,
    FacilityCreate,
    FacilityRead,
    ProfileRead,
    ProfileUpdate,
    ProviderCreate,
    ProviderRead,
)
from claims.domain.practice import (
    Address,
    BillingProvider,
    Connection,
    Enrollment,
    Facility,
    Profile,
    Provider,
    StatementHeader,
)
from claims.use_cases import practice

router = APIRouter(prefix="/v1", tags=["practice"])

OnQuery = Annotated[date | None, Query(description="the version in effect on this date; today when omitted")]
OnlyOnQuery = Annotated[date | None, Query(description="only the version of each in effect on this date")]
LimitQuery = Annotated[int, Query(ge=1, le=1000)]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
NEW_VERSION = (
    "From any date (today by default; backdated, or a same-day correction): on a date the newest version whose "
    "window holds it applies, and earlier versions stay as they were. 422 naming each field."
)


def _today() -> date:
    return datetime.now(UTC).date()


def _address(body: AddressBody) -> Address:
    return Address(**body.model_dump())


def _profile(body: ProfileUpdate) -> Profile:
    s = body.statement
    return Profile(
        version=0,
        effective_from=body.effective_from or _today(),
        legal_name=body.legal_name,
        billing_providers=tuple(
            BillingProvider(**{**p.model_dump(exclude={"address"}), "address": _address(p.address)})
            for p in body.billing_providers
        ),
        pay_to=_address(body.pay_to) if body.pay_to else None,
        statement=StatementHeader(**{**s.model_dump(exclude={"address"}), "address": _address(s.address)}),
        connections=tuple(Connection(**c.model_dump()) for c in body.connections),
    )


def _profile_read(p: Profile) -> ProfileRead:
    return ProfileRead.model_validate(asdict(p))


@router.get(
    "/practice",
    response_model=ProfileRead,
    summary="The organization profile in effect on a date (today by default)",
    description="404 when no version is in effect then.",
)
async def get_profile(units: UnitsDep, tenant: TenantDep, on: OnQuery = None) -> ProfileRead:
    async with units.read(tenant) as unit:
        return _profile_read(await practice.profile_on(unit, on or _today()))


@router.get("/practice/versions", response_model=list[ProfileRead], summary="Every version of the organization profile")
async def list_profiles(units: UnitsDep, tenant: TenantDep) -> list[ProfileRead]:
    async with units.read(tenant) as unit:
        return [_profile_read(p) for p in await practice.profile_versions(unit)]


@router.put(
    "/practice",
    response_model=ProfileRead,
    summary="A new version of the organization profile, effective from a date (today by default)",
    description="`claims.practice.changed` announces it. " + NEW_VERSION + " 409 when a connection's submitter "
    "and receiver ids are another organization's (inbound files are routed by them), the deployment's own ids "
    "(settings) included for any organization but the default.",
)
async def put_profile(
    body: ProfileUpdate, units: UnitsDep, tenant: TenantDep, actor: ActorDep, settings: SettingsDep
) -> ProfileRead:
    async with units.write(tenant, actor) as unit:
        return _profile_read(await practice.put_profile(unit, _profile(body), settings))


@router.get("/providers", response_model=list[ProviderRead], summary="Providers' versions, by NPI and version")
async def list_providers(
    units: UnitsDep,
    tenant: TenantDep,
    npi: Annotated[str | None, Query(max_length=10)] = None,
    on: OnlyOnQuery = None,
    limit: LimitQuery = 500,
    offset: OffsetQuery = 0,
) -> list[ProviderRead]:
    async with units.read(tenant) as unit:
        return [ProviderRead(**asdict(p)) for p in await practice.list_providers(unit, npi, on, limit, offset)]


@router.get("/providers/{npi}", response_model=ProviderRead, summary="A provider as in effect on a date")
async def get_provider(npi: str, units: UnitsDep, tenant: TenantDep, on: OnQuery = None) -> ProviderRead:
    async with units.read(tenant) as unit:
        return ProviderRead(**asdict(await practice.provider_on(unit, npi, on or _today())))


@router.post(
    "/providers",
    response_model=ProviderRead,
    status_code=201,
    summary="A new version of a provider (by NPI)",
    description=NEW_VERSION,
)
async def post_provider(body: ProviderCreate, units: UnitsDep, tenant: TenantDep, actor: ActorDep) -> ProviderRead:
    provider = Provider(**{**body.model_dump(), "effective_from": body.effective_from or _today()})
    async with units.write(tenant, actor) as unit:
        return ProviderRead(**asdict(await practice.add_provider(unit, provider)))


def _facility_read(f: Facility) -> FacilityRead:
    return FacilityRead.model_validate(asdict(f))


@router.get("/facilities", response_model=list[FacilityRead], summary="Service facilities' versions, by id and version")
async def list_facilities(
    units: UnitsDep,
    tenant: TenantDep,
    facility_id: Annotated[str | None, Query(max_length=30)] = None,
    on: OnlyOnQuery = None,
    limit: LimitQuery = 500,
    offset: OffsetQuery = 0,
) -> list[FacilityRead]:
    async with units.read(tenant) as unit:
        return [_facility_read(f) for f in await practice.list_facilities(unit, facility_id, on, limit, offset)]


@router.get("/facilities/{facility_id}", response_model=FacilityRead, summary="A service facility on a date")
async def get_facility(facility_id: str, units: UnitsDep, tenant: TenantDep, on: OnQuery = None) -> FacilityRead:
    async with units.read(tenant) as unit:
        return _facility_read(await practice.facility_on(unit, facility_id, on or _today()))


@router.post(
    "/facilities",
    response_model=FacilityRead,
    status_code=201,
    summary="A new version of a service facility (by facility_id; a new one is given an id when it has none)",
    description=NEW_VERSION,
)
async def post_facility(body: FacilityCreate, units: UnitsDep, tenant: TenantDep, actor: ActorDep) -> FacilityRead:
    values = body.model_dump(exclude={"address"})
    facility = Facility(
        **{
            **values,
            "facility_id": body.facility_id or "",
            "address": _address(body.address),
            "effective_from": body.effective_from or _today(),
        }
    )
    async with units.write(tenant, actor) as unit:
        return _facility_read(await practice.add_facility(unit, facility))


@router.get(
    "/payer-enrollments",
    response_model=list[EnrollmentRead],
    summary="Payer enrollments' versions, by payer and version",
)
async def list_enrollments(
    units: UnitsDep,
    tenant: TenantDep,
    payer_id: Annotated[str | None, Query(max_length=80)] = None,
    on: OnlyOnQuery = None,
    limit: LimitQuery = 500,
    offset: OffsetQuery = 0,
) -> list[EnrollmentRead]:
    async with units.read(tenant) as unit:
        found = await practice.list_enrollments(unit, payer_id, on, limit, offset)
        return [EnrollmentRead(**asdict(e)) for e in found]


@router.post(
    "/payer-enrollments",
    response_model=EnrollmentRead,
    status_code=201,
    summary="A new version of a payer enrollment (by payer_id)",
    description=NEW_VERSION + " The payer's ids per connection name connections of the practice profile.",
)
async def post_enrollment(
    body: EnrollmentCreate, units: UnitsDep, tenant: TenantDep, actor: ActorDep
) -> EnrollmentRead:
    enrollment = Enrollment(**{**body.model_dump(), "effective_from": body.effective_from or _today()})
    async with units.write(tenant, actor) as unit:
        return EnrollmentRead(**asdict(await practice.add_enrollment(unit, enrollment)))
