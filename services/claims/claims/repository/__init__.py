"""All the SQL of the claims service, every query scoped by the unit's tenant (but the worker's look for
pending deliveries and open tenants, which spans them)."""

from claims.repository.claims import ClaimsRepository
from claims.repository.reports import ReportsRepository
from claims.repository.submissions import SubmissionsRepository

__all__ = ["ClaimsRepository", "ReportsRepository", "SubmissionsRepository"]
