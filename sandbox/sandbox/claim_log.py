"""What the payers know of each claim (``claims.jsonl`` in the spool), and the 277 status each answers a 276
inquiry with from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rcm_shared.x12.sets.x276 import Status, StatusInquiry


class ClaimLog:
    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self._claims: dict[str, dict[str, object]] | None = None

    def known(self) -> dict[str, dict[str, object]]:
        if self._claims is None:
            self._claims = {}
            if self.path.exists():
                for line in self.path.read_text().splitlines():
                    entry = json.loads(line)
                    self._claims.setdefault(entry.pop("claim_id"), {}).update(entry)
        return self._claims

    def remember(self, entries: list[dict[str, object]]) -> None:
        known = self.known()
        with self.path.open("a") as fh:
            for entry in entries:
                fh.write(json.dumps(entry, sort_keys=True) + "\n")
                known.setdefault(str(entry["claim_id"]), {}).update({k: v for k, v in entry.items() if k != "claim_id"})

    def sent_by(self, claim_id: str, submitter: str) -> dict[str, object] | None:
        """What is known of a claim this submitter sent (a claim logged before submitters were: any submitter's);
        None for a claim never received, or received from another submitter."""
        known = self.known().get(claim_id)
        if known is None or known.get("submitter", submitter) != submitter:
            return None
        return known

    def status_of(self, q: StatusInquiry, submitter: str) -> tuple[Status, str | None]:
        """STC for one inquired claim: not found, rejected, in process, or finalized (paid or denied)."""
        known = self.sent_by(q.claim_id, submitter)
        today = datetime.now(UTC).date()
        if known is None or known.get("state") == "lost":
            return Status("A4", "35", effective_date=today), None  # claim/encounter not found
        icn = str(known["icn"]) if known.get("icn") else None
        if known.get("state") == "rejected":
            category, code = str(known["ack"]).split(":", 1)
            return Status(category, code, effective_date=today), None
        due = float(str(known.get("due", "inf")))
        if "paid" not in known or due > self.clock():
            return Status("P1", "20", effective_date=today), icn  # pending: in process
        paid = Decimal(str(known["paid"]))
        if paid > 0:
            return Status("F1", "65", effective_date=today, paid=paid), icn  # finalized: paid
        return Status("F2", "1", effective_date=today, paid=Decimal(0)), icn  # finalized: denied, see the 835
