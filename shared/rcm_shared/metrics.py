"""Prometheus metrics: the API process serves ``/metrics`` (open, like the probes); a worker serves its
own on ``<SERVICE>_WORKER_METRICS_PORT`` (0: off), since consumer metrics live in that process.

API: request latency by route and status; the outbox backlog and the service's domain gauges (claims
by state, cents posted, ...), read from its database at scrape time. Worker: handler latency and
outcome per event type, dead-lettered messages, consumer lag per partition, events relayed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest, start_http_server
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rcm_shared.bus.tables import BusTables
from rcm_shared.db import read_connection

HTTP_LATENCY = Histogram(
    "rcm_http_request_duration_seconds",
    "API request latency",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOX_BACKLOG = Gauge("rcm_outbox_backlog_events", "Committed events not yet published", ["service"])
HANDLER_LATENCY = Histogram(
    "rcm_consumer_handler_duration_seconds",
    "Time to handle one consumed event, by outcome (handled, duplicate, retried, database_unreachable, dead_lettered)",
    ["service", "event_type", "outcome"],
)
DEAD_LETTERED = Counter("rcm_consumer_dead_lettered_total", "Messages sent to a DLQ topic", ["service", "topic"])
PASSED_OVER = Counter(
    "rcm_consumer_passed_over_total", "Events of no use to their handler, passed over (wants)", ["service", "type"]
)
INBOX_PRUNED = Counter("rcm_inbox_pruned_total", "Inbox rows removed past their retention", ["service"])
CONSUMER_LAG = Gauge("rcm_consumer_lag_messages", "High-water mark minus position", ["service", "topic", "partition"])
RELAYED = Counter("rcm_outbox_relayed_total", "Events published by the outbox relay", ["service"])
DOMAIN = Gauge("rcm_domain", "Domain figures of a service, by name and label", ["service", "name", "label"])

DomainHook = Callable[[AsyncConnection, str], Awaitable[None]]


async def refresh(engine: AsyncEngine, tables: BusTables, service: str, domain: DomainHook | None) -> None:
    """Figures read from the database when Prometheus scrapes."""
    async with read_connection(engine) as conn:
        outbox = tables.outbox
        backlog = (await conn.execute(select(func.count()).where(outbox.c.published_at.is_(None)))).scalar_one()
        OUTBOX_BACKLOG.labels(service).set(backlog)
        if domain is not None:
            DOMAIN.clear()  # a state with no rows left must not keep its last figure
            await domain(conn, service)


def grouped(*specs: tuple[str, Any, Any, Any]) -> DomainHook:
    """A domain hook from (name, table, group column, summed column or None for a count) specs, e.g.
    ("claims_by_state", claim, claim.c.state, None) or ("ledger_cents", ledger, ledger.c.entry_type, amount)."""

    async def hook(conn: AsyncConnection, service: str) -> None:
        for name, table, key, value in specs:
            aggregate = func.count() if value is None else func.coalesce(func.sum(value), 0)
            for label, figure in await conn.execute(select(key, aggregate).select_from(table).group_by(key)):
                DOMAIN.labels(service, name, str(label)).set(figure)

    return hook


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


def serve_worker_metrics(port: int, addr: str = "127.0.0.1") -> None:
    if port > 0:
        start_http_server(port, addr=addr)
