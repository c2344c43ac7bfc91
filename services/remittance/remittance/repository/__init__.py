"""All the SQL of the remittance service, one module per aggregate; every query scoped by the tenant."""

from __future__ import annotations

from typing import Self

from rcm_shared.unit import Unit
from sqlalchemy.ext.asyncio import AsyncConnection


class Repository:
    """The queries of one aggregate in one transaction, for one tenant."""

    def __init__(self, conn: AsyncConnection, tenant: str) -> None:
        self.conn = conn
        self.tenant = tenant

    @classmethod
    def of(cls, unit: Unit) -> Self:
        return cls(unit.conn, unit.tenant)
