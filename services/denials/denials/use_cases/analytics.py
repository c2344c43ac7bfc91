"""The analytics of a period: the denial rate, the denials by payer, category and CARC, what was recovered and how
fast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from rcm_shared.unit import Unit

from denials.repository import DenialRepository


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
