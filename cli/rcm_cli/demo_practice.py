"""The demo's organizations: a client of the local issuer for each, the practice profile each sets up once
(claims ``PUT /v1/practice``), and the phase file both share while their days run side by side."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcm_cli.demo_clinic import Practice
from rcm_cli.issuer import SCOPES, Issuer

if TYPE_CHECKING:
    from rcm_cli.demo import Demo

# How far back the profile the demo sets up is in effect: each run of the demo bills the day before the last
# one billed, and a new version cannot start before the one in effect (nothing changes in place).
PROFILE_BACKDATE = timedelta(days=365)


def saved_client(tenant: str) -> Path:
    """Where the demo keeps its client of the local issuer for ``tenant`` (mode 0600, beside the issuer's state):
    ``demo-client.json`` for the first organization, as before, ``demo-client-<tenant>.json`` for the others."""
    folder = Issuer.embedded().folder
    first = os.environ.get("RCM_DEMO_TENANT", "default")
    return folder / ("demo-client.json" if tenant == first else f"demo-client-{tenant}.json")


def issuer_client(tenant: str) -> tuple[str, str]:
    """A client of the local issuer for ``tenant``, registered once and reused while the issuer knows it."""
    issuer = Issuer.embedded()
    saved = saved_client(tenant)
    if saved.exists():
        data = json.loads(saved.read_text())
        known = json.loads(issuer.clients_file.read_text()) if issuer.clients_file.exists() else {}
        if data["client_id"] in known and known[data["client_id"]]["org"] == tenant:
            return data["client_id"], data["client_secret"]
    issuer.ensure_key()
    client_id, secret = issuer.create_client(tenant, list(SCOPES), name=f"rcm demo ({tenant})")
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"client_id": client_id, "client_secret": secret}, fh)
    return client_id, secret


def _same(found: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """What of the profile the demo needs differs in the one in effect (stored values are normalized: ZIP
    codes and phones as digits)."""

    def digits(value: str) -> str:
        return "".join(ch for ch in value if ch.isdigit())

    out = []
    if found["legal_name"] != wanted["legal_name"]:
        out.append("legal_name")
    if found["billing_providers"][0]["npi"] != wanted["billing_providers"][0]["npi"]:
        out.append("billing_providers.0.npi")
    statement, ours = found["statement"], wanted["statement"]
    if statement["name"] != ours["name"] or digits(statement["phone"]) != digits(ours["phone"]):
        out.append("statement")
    pairs = {(c["submitter_id"], c["receiver_id"]) for c in found["connections"]}
    if not {(c["submitter_id"], c["receiver_id"]) for c in wanted["connections"]} <= pairs:
        out.append("connections")
    return out


async def ensure_practice(demo: Demo, practice: Practice, day: date) -> dict[str, Any]:
    """The organization's profile as the demo needs it, in effect on the day billed: the one there already
    when it matches, else a version in effect from a year before (so later runs, which bill earlier days,
    find it too). A different profile in effect is the organization's own: the demo stops rather than
    replace it."""
    wanted = practice.profile(day - PROFILE_BACKDATE)
    found = await demo.call("GET", "claims", "/v1/practice", params={"on": day.isoformat()}, missing_ok=True)
    if found is not None:
        differs = _same(found, wanted)
        if not differs:
            return dict(found)
        raise RuntimeError(
            f"organization {demo.tenant!r} has a practice profile of its own (version {found['version']}: "
            f"{', '.join(differs)} differ from {practice.name}'s); run the demo for another organization "
            "(RCM_DEMO_TENANT, RCM_DEMO_SECOND_TENANT)"
        )
    return dict(await demo.call("PUT", "claims", "/v1/practice", json=wanted))


def labelled(say: Any, label: str) -> Any:
    """The second organization's output: each line named, its progress lines (rewritten in place) left out,
    since one organization's on a terminal is enough."""

    def out(text: str = "", end: str = "\n") -> None:
        if end == "" or not text.strip():
            return
        say(f"[{label}] {text.strip()}")

    return out


async def free_day(demo: Demo) -> date:
    """The day to bill: yesterday, or the day before the earliest this organization billed already (the same
    encounters again would rightly be held as duplicates)."""
    taken = {c["service_from"] for c in (await demo.claims()).values()}
    day = datetime.now(UTC).date() - timedelta(days=1)
    while day.isoformat() in taken:
        day -= timedelta(days=1)
    return day


class PhaseBoard:
    """The phase the demo announces in ``RCM_DEMO_PHASE_FILE`` (fault-injection runs restart the APIs only
    while it reads ``waiting-on-payers``): with two organizations' days running side by side, the demo is
    waiting only while every one of them is."""

    def __init__(self, waiting: str) -> None:
        self.waiting = waiting
        self.phases: dict[str, str] = {}

    def announce(self, tenant: str, name: str) -> str | None:
        """Record ``tenant``'s phase; the phase to write to the file (None: no file configured)."""
        self.phases[tenant] = name
        if not os.environ.get("RCM_DEMO_PHASE_FILE"):
            return None
        busy = [p for p in self.phases.values() if p != self.waiting]
        shown = busy[0] if busy else self.waiting
        Path(os.environ["RCM_DEMO_PHASE_FILE"]).write_text(shown)
        return shown
