"""What the billing office works from: the queue by priority, a denial with its history and appeal letter, the
appeal letter as PDF."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
