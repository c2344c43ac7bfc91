"""What the billing office reads: the work queue by priority, a denial with its history and appeal letter, the
appeal letter as PDF, and the analytics of a period."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rcm_shared.errors import NotFound
from rcm_shared.unit import Unit

from denials.domain.triage import priority, recovery_probability
from denials.repository import DenialRepository


async def work_queue(
    unit: Unit,
    *,
    status: Sequence[str],
    category: str | None,
    payer_id: str | None,
    assignee: str | None,
    limit: int,
    offset: int,
) -> list[tuple[Any, float, float]]:
    """Denials sorted by priority: recoverable amount x probability of recovery x urgency of the deadline."""
    repo = DenialRepository(unit)
    rows = await repo.matching(status, category=category, payer_id=payer_id, assignee=assignee)
    won: dict[tuple[str, str], int] = {}
    lost: dict[tuple[str, str], int] = {}
    for payer, cat, st, n in await repo.outcomes():
        tally = won if st == "recovered" else lost
        tally[(payer, cat)] = tally.get((payer, cat), 0) + n
    today = datetime.now(UTC).date()
    scored = []
    for row in rows:
        p = recovery_probability(
            row.category, won.get((row.payer_id, row.category), 0), lost.get((row.payer_id, row.category), 0)
        )
        scored.append((row, p, priority(row.amount_cents, p, row.deadline, today)))
    # a total order (id last), so that pages of the queue neither repeat nor skip a denial
    scored.sort(key=lambda x: (-x[2], x[0].deadline or date.max, x[0].opened_at, x[0].id))
    return scored[offset : offset + limit]


@dataclass(frozen=True)
class Detail:
    """A denial, its history in order, and its latest appeal letter's text."""

    row: Any
    history: list[Any]
    appeal_letter: str | None


async def detail(unit: Unit, denial_id: str) -> Detail:
    repo = DenialRepository(unit)
    row = await repo.get(denial_id)
    return Detail(row, await repo.history(denial_id), await repo.letter(denial_id))


async def appeal_pdf(unit: Unit, denial_id: str) -> bytes:
    pdf = await DenialRepository(unit).letter(denial_id, pdf=True)
    if pdf is None:
        raise NotFound(f"no appeal letter for denial {denial_id}")
    return base64.b64decode(pdf)


def _breakdown(rows: list[Any], key: str) -> list[dict[str, Any]]:
    out: dict[str, list[int]] = {}
    for r in rows:
        keys = r.carcs if key == "carc" else [getattr(r, key)]
        for k in keys or ["(none)"]:
            out.setdefault(k, [0, 0])
            out[k][0] += 1
            out[k][1] += r.amount_cents
    return [{"key": k, "denials": v[0], "amount_cents": v[1]} for k, v in sorted(out.items())]


async def analytics(unit: Unit, since: date | None, until: date | None) -> dict[str, Any]:
    """The denial rate, the denials opened by payer, category and CARC, what was recovered and how fast, for
    the days from ``since`` to ``until`` (by default the 90 days up to today)."""
    until = until or datetime.now(UTC).date()
    since = since or until - timedelta(days=90)
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    repo = DenialRepository(unit)
    adjudicated, denied = await repo.adjudicated(since, until)
    rows = await repo.opened_between(start, end)
    resolved = [r for r in rows if r.resolved_at is not None]
    recovered = sum(r.recovered_cents for r in rows)
    denied_amount = sum(r.amount_cents for r in rows)
    days = [(r.resolved_at - r.opened_at).total_seconds() / 86400 for r in resolved]
    return {
        "since": since,
        "until": until,
        "adjudicated_claims": adjudicated,
        "denied_claims": denied,
        "denial_rate": round(denied / adjudicated, 4) if adjudicated else 0.0,
        "by_payer": _breakdown(rows, "payer_id"),
        "by_category": _breakdown(rows, "category"),
        "by_carc": _breakdown(rows, "carc"),
        "avoidable_share": round(sum(1 for r in rows if r.avoidable == "yes") / len(rows), 4) if rows else 0.0,
        "recovered_cents": recovered,
        "recovery_rate": round(recovered / denied_amount, 4) if denied_amount else 0.0,
        "average_days_to_resolve": round(sum(days) / len(days), 2) if days else None,
    }
