"""What the remittance service does, one module per capability. A use case takes a ``Unit`` (one
transaction); those that commit in several transactions of their own (an 835's sets, one each) take the
service's ``Units``."""

from __future__ import annotations

from rcm_shared.unit import Units
from sqlalchemy.ext.asyncio import AsyncEngine

from remittance.models import bus

SOURCE = "/remittance"


def service_units(engine: AsyncEngine | None = None, topic_prefix: str = "") -> Units:
    """The units of this service on ``engine`` (none: on connections the caller holds)."""
    return Units(bus, source=SOURCE, topic_prefix=topic_prefix, engine=engine)
