"""Acknowledgment files no practice's connection claims (``rcm_shared.x12.routing``): set aside in the folder's
``failed/`` like a file that does not read, their ``.error.txt`` opening with ``MARK`` (why, and the ids), so
that the office can list them (``quarantined``) and tell them from unreadable ones. Moved back into the
folder, such a file is read again.

Only envelope ids are read back from a quarantined file: what it says of claims and patients stays in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.routing import Parties, Route, interchange_parties

MARK = "Quarantined: addressed to no practice"
ERROR_SUFFIX = ".error.txt"


def note(decided: Route) -> str:
    """The ``.error.txt`` of a quarantined file: ``MARK`` and the cause, the reason naming the ids, the fix."""
    return (
        f"{MARK} ({decided.cause})\n{decided.reason}.\nRegister the connection in the practice profile of the "
        "organization it belongs to (PUT /v1/practice), then move the file back into the folder: it is read again."
    )


@dataclass(frozen=True)
class Quarantined:
    file: str  # its name in failed/
    cause: str  # rcm_shared.x12.routing's NO_CONNECTION or SEVERAL_TENANTS
    reason: str  # the rest of the note: why, naming the ids, and what to do
    quarantined_at: datetime
    interchanges: tuple[Parties, ...]


def quarantined(folder: Path) -> list[Quarantined]:
    """The quarantined files waiting in ``folder``'s ``failed/``, oldest first (a file moved back into the
    folder is no longer listed)."""
    failed = folder / "failed"
    if not failed.is_dir():
        return []
    found = []
    for error in failed.glob("*" + ERROR_SUFFIX):
        head, _, rest = error.read_text().partition("\n")
        data = failed / error.name.removesuffix(ERROR_SUFFIX)
        if not head.startswith(MARK) or not data.is_file():
            continue
        try:
            interchanges = tuple(interchange_parties(data))
        except X12Error:  # changed since it was quarantined: the note still says why
            interchanges = ()
        cause = head.removeprefix(MARK).strip(" ()")
        at = datetime.fromtimestamp(error.stat().st_mtime, UTC)
        found.append(Quarantined(data.name, cause, rest.strip(), at, interchanges))
    return sorted(found, key=lambda q: (q.quarantined_at, q.file))
