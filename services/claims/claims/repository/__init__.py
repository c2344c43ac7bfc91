"""All the SQL of the claims service, every query scoped by the unit's tenant (but the worker's look for
pending deliveries and open tenants, and the practice's connection lookup of inbound routing, which span them)."""

from claims.repository.charge_master import ChargeMasterRepository
from claims.repository.claims import ClaimsRepository
from claims.repository.practice import PracticeRepository
from claims.repository.reports import ReportsRepository
from claims.repository.submissions import SubmissionsRepository

__all__ = [
    "ChargeMasterRepository",
    "ClaimsRepository",
    "PracticeRepository",
    "ReportsRepository",
    "SubmissionsRepository",
]
