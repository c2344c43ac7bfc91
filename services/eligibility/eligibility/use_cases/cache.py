"""Recent answers: a check asked again within the TTL is answered with the stored answer, from this process's
memory when it has seen it, else from the database."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from rcm_shared.db import per_engine
from rcm_shared.unit import Units
from sqlalchemy.ext.asyncio import AsyncEngine

from eligibility.domain.inquiry import CheckCreate, asked_for

AnswerKey = tuple[str, str, str, date, str, str]
"""What an answer is reused for: tenant, payer, member, date of service, service types (as stored), and
whom it is about (the dependent, else the subscriber: ``asked_for``)."""


def _key_of(row: Any) -> AnswerKey:
    return (row.tenant_id, row.payer_id, row.member_id, row.service_date, row.service_types, row.asked_for)


class RecentAnswers:
    """The process's recent active answers by what they answer (``AnswerKey``): asking again within the
    TTL is answered from memory, without a database connection (a read connection and the lookup would be a
    large part of a cached check's CPU). Bounded: the least recently used go first.

    A miss reads the database, where every process's answers are; rows are never changed once stored, so
    a remembered row is the stored one. As in the database lookup the newest active answer wins - among
    those this process has seen: another API process's newer answer is not seen here until this one's
    expires (both are within the TTL)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._rows: OrderedDict[AnswerKey, Any] = OrderedDict()

    def get(self, key: AnswerKey, since: datetime) -> Any | None:
        row = self._rows.get(key)
        if row is None:
            return None
        if row.created_at < since:
            del self._rows[key]
            return None
        self._rows.move_to_end(key)
        return row

    def put(self, row: Any) -> None:
        if row.status != "active":
            return
        key = _key_of(row)
        held = self._rows.get(key)
        if held is None or held.created_at <= row.created_at:
            self._rows[key] = row
        self._rows.move_to_end(key)
        if len(self._rows) > self._size:
            self._rows.popitem(last=False)

    @classmethod
    def of(cls, engine: AsyncEngine) -> RecentAnswers:
        return per_engine(engine, "recent-answers", cls)


def answer_key(tenant: str, body: CheckCreate) -> AnswerKey:
    person = body.dependent or body.subscriber  # whom the question is about
    whose = asked_for(person.last_name, person.first_name, person.birth_date)
    return (tenant, body.payer_id, body.subscriber.member_id, body.service_date, " ".join(body.service_types), whose)


def remember(units: Units, rows: Iterable[Any]) -> None:
    """Committed answers, the newest as the database lookup would find them."""
    recent = RecentAnswers.of(units.engine)
    for row in rows:
        recent.put(row)
