"""`rcm demo`: a seeded clinic day pushed through the whole cycle of a running stack (`make run`), over
the services' REST APIs only, as a billing office would.

eligibility (batch) -> charge entry (scrubbed) -> submission (837 to the sandbox clearinghouse) -> 999,
277CA -> 835s posted by remittance -> denials worked (resubmit with the authorization, fix the member id
and resend, write off, bill the patient) -> second round -> summary with KPIs.

Each encounter has a scenario, drawn from the seed, that dictates the final state of its claim(s);
the demo reports any claim that did not get there.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
from rcm_shared.tracing import configure_tracing, root_span, shutdown_tracing

from rcm_cli.demo_clinic import (
    CANARY,
    CLINIC,
    DOCTORS,
    HELD,
    LAKESIDE,
    PAYERS,
    SCENARIOS,
    UNANSWERED,
    VALLEY,
    Encounter,
    Practice,
    clinic_day,
    plant_canary,
    with_canary_text,
)
from rcm_cli.demo_contracts import load_contracts, reconcile, report_lines
from rcm_cli.demo_fhir import fhir_visit, read_fhir_visit, submit_fhir_visit
from rcm_cli.demo_office import (
    check_eligibility,
    event_wait,
    void_paid_claims,
    wait_denial_money,
    work_denials,
    work_follow_up,
    work_held_remittances,
    work_scrubber_holds,
)
from rcm_cli.demo_practice import (
    PROFILE_BACKDATE,
    PhaseBoard,
    ensure_practice,
    free_day,
    issuer_client,
    labelled,
)
from rcm_cli.demo_report import summarize, wait_final
from rcm_cli.services import SERVICES

__all__ = [
    "CANARY",
    "CLINIC",
    "DOCTORS",
    "PAYERS",
    "PRACTICES",
    "RETRY_SECONDS",
    "SCENARIOS",
    "WAITING",
    "Demo",
    "Encounter",
    "demo_credentials",
    "retry_after",
    "run_demo",
]


SANDBOX_PORT = 8009


ISSUER_PORT = 8010


WAITING = "waiting-on-payers"  # the phase in which the demo only reads


RETRY_SECONDS = float(os.environ.get("RCM_DEMO_RETRY_SECONDS", "90"))


def retry_after(response: httpx.Response) -> float:
    """The wait a 429 asks for (Retry-After in seconds; a date or nothing: 1 s), at most 10 s."""
    try:
        return min(10.0, max(0.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


def _urls() -> dict[str, str]:
    offset = int(os.environ.get("RCM_PORT_OFFSET", "0"))
    urls = {s.name: f"http://127.0.0.1:{s.port}" for s in SERVICES}
    urls["sandbox"] = f"http://127.0.0.1:{SANDBOX_PORT + offset}"
    urls["issuer"] = f"http://127.0.0.1:{ISSUER_PORT + offset}"
    return urls


def demo_credentials() -> tuple[str, str]:
    """RCM_CLIENT_ID / RCM_CLIENT_SECRET, else a client of the local issuer registered for the demo once
    (its credentials kept beside the issuer's state, mode 0600)."""
    if os.environ.get("RCM_CLIENT_ID") and os.environ.get("RCM_CLIENT_SECRET"):
        return os.environ["RCM_CLIENT_ID"], os.environ["RCM_CLIENT_SECRET"]
    return issuer_client(os.environ.get("RCM_DEMO_TENANT", "default"))


# The organizations of the demo, side by side: the first bills --patients encounters, the second a smaller day.
PRACTICES = (VALLEY, LAKESIDE)


class Demo:
    """One organization's billing office at the APIs: its token, its tenant, its phase of the day."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        urls: dict[str, str],
        tenant: str,
        say: Any,
        credentials: Callable[[], tuple[str, str]] | None = None,
        board: PhaseBoard | None = None,
    ) -> None:
        self.http = client
        self.urls = urls
        self.tenant = tenant
        self.headers = {"X-Tenant-ID": tenant, "X-Actor": "rcm-demo"}
        self.say = say
        self.credentials = credentials  # None: the first organization's (demo_credentials)
        self.board = board or PhaseBoard(WAITING)

    async def login(self) -> None:
        """A bearer token from the issuer (client credentials); without an issuer, none (auth off)."""
        client_id, secret = self.credentials() if self.credentials else demo_credentials()
        try:
            response = await self.http.post(
                self.urls["issuer"] + "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            )
        except httpx.HTTPError as exc:
            raise RuntimeError(f"the token issuer at {self.urls['issuer']} is not reachable: {exc}") from exc
        if response.status_code != 200:
            raise RuntimeError(f"the token issuer refused the demo client: {response.text[:300]}")
        self.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    async def call(self, method: str, service: str, path: str, missing_ok: bool = False, **kw: Any) -> Any:
        """One API call. A service that is restarting (connection refused, 502/503/504) is waited for up to
        ``RETRY_SECONDS``: a read is sent again after any transport error; a write only when it never left
        (connection refused), since a write cut off mid-way may have been applied. A 429 (over the API's rate
        limit: nothing was done) is sent again after its Retry-After, for up to ``RETRY_SECONDS`` as well. A
        401 (the token expired) gets a new token and one more try. With ``missing_ok`` a 404 answers None."""
        deadline = time.monotonic() + RETRY_SECONDS
        pause = 0.2
        renewed = False
        if "json" in kw and os.environ.get("RCM_DEMO_CANARY"):
            kw["json"] = with_canary_text(kw["json"])
        while True:
            try:
                response = await self.http.request(method, self.urls[service] + path, headers=self.headers, **kw)
            except httpx.TransportError as exc:
                safe = method in ("GET", "HEAD") or isinstance(exc, httpx.ConnectError)
                if not safe or time.monotonic() > deadline:
                    raise
            else:
                if response.status_code == 401 and "Authorization" in self.headers and not renewed:
                    renewed = True  # the short-lived token ran out during a long day: a new one, then again
                    await self.login()
                    continue
                if response.status_code == 429 and time.monotonic() < deadline:
                    await asyncio.sleep(retry_after(response))
                    continue
                if response.status_code not in (502, 503, 504) or time.monotonic() > deadline:
                    break
            await asyncio.sleep(pause)
            pause = min(2.0, pause * 2)
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {service}{path}: {response.status_code} {response.text[:400]}")
        return response.json() if response.content else None

    async def phase(self, name: str) -> None:
        """Announce the demo's phase in ``RCM_DEMO_PHASE_FILE`` (for fault-injection runs, which restart the
        APIs only while the demo merely reads; ``PhaseBoard``: while every organization's day does). Leaving
        the waiting phase waits for every API to be back."""
        shown = self.board.announce(self.tenant, name)
        if shown is None:
            return
        if name != WAITING:
            await asyncio.sleep(0.5)  # a restart decided just before the write has happened by now
            await self.wait_up(RETRY_SECONDS)

    async def wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        missing: list[str] = []
        while time.monotonic() < deadline:
            missing = []
            for name, url in self.urls.items():
                try:
                    ok = (await self.http.get(url + "/healthz", timeout=2)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if not ok:
                    missing.append(name)
            if not missing:
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"not reachable: {', '.join(missing)} (start the stack with `make run` first)")

    async def pages(self, service: str, path: str) -> list[dict[str, Any]]:
        """Every item of a paged list (a large day has more than one page of claims or denials)."""
        out: list[dict[str, Any]] = []
        while True:
            page = await self.call("GET", service, path, params={"limit": 500, "offset": len(out)})
            out += page
            if len(page) < 500:
                return out

    async def claims(self, ids: set[str] | None = None) -> dict[str, dict[str, Any]]:
        out = {c["id"]: c for c in await self.pages("claims", "/v1/claims")}
        return {k: v for k, v in out.items() if ids is None or k in ids or v.get("original_claim_id") in ids}

    async def wait_settled(self, ids: set[str], label: str, timeout: float) -> dict[str, dict[str, Any]]:
        """Until no claim of ours waits on the payer (submitted / accepted) and the denial queue is fed."""
        deadline = time.monotonic() + timeout
        claims: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            claims = await self.claims(ids)
            waiting = [c for c in claims.values() if c["state"] in ("ready", "submitted", "accepted")]
            counts = Counter(c["state"] for c in claims.values())
            self.say(f"\r  {label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + " " * 10, end="")
            if not waiting:
                self.say("")
                return claims
            await asyncio.sleep(1.0)
        self.say("")
        return claims


async def run_demo(
    patients: int, seed: int, timeout: float, say: Any = print, second_patients: int | None = None
) -> dict[str, Any]:
    """The demo is the hospital system's client: with tracing configured (OTEL_TRACES_EXPORTER), its day is
    one trace whose context every API call carries, so each claim's path through the services is in it.
    Two organizations bill side by side: ``patients`` encounters at the first, ``second_patients`` (a
    quarter of them by default; 0: none) at the second."""
    configure_tracing("rcm-demo", "cli")
    second = patients // 4 if second_patients is None else second_patients
    try:
        with root_span("rcm demo clinic day", **{"rcm.demo.seed": str(seed), "rcm.demo.patients": str(patients)}):
            return await _run_days(patients, second, seed, timeout, say)
    finally:
        shutdown_tracing()


async def _run_days(patients: int, second_patients: int, seed: int, timeout: float, say: Any) -> dict[str, Any]:
    started = time.monotonic()
    rng = random.Random(seed)
    urls = _urls()
    tenants = [os.environ.get("RCM_DEMO_TENANT", "default"), os.environ.get("RCM_DEMO_SECOND_TENANT", "lakeside")]
    if tenants[0] == tenants[1]:
        raise RuntimeError(f"the two organizations of the demo are one ({tenants[0]}): set RCM_DEMO_SECOND_TENANT")
    board = PhaseBoard(WAITING)
    async with httpx.AsyncClient(timeout=60) as client:
        demos = [Demo(client, urls, tenants[0], say, board=board)]
        sizes = [patients]
        if second_patients:
            label = labelled(say, PRACTICES[1].name)
            demos.append(Demo(client, urls, tenants[1], label, lambda: issuer_client(tenants[1]), board))
            sizes.append(second_patients)
        await demos[0].wait_up(30)
        for demo in demos:
            await demo.login()
        rosters = {
            p: await demos[0].call("GET", "sandbox", f"/v1/payers/{p}/members", params={"limit": 5000}) for p in PAYERS
        }
        days: list[tuple[date, list[Encounter]]] = []
        seen: frozenset[str] = frozenset()  # members already seen today, at either practice
        for demo, practice, size in zip(demos, PRACTICES, sizes, strict=False):
            day = await free_day(demo)
            await ensure_practice(demo, practice, day)
            encounters = clinic_day(rng, size, rosters, day, practice, seen)
            seen |= {m for e in encounters for m in (e.member_id, e.true_member_id) if m}
            if os.environ.get("RCM_DEMO_CANARY") and demo is demos[0]:
                plant_canary(encounters)
            demo.say(
                f"clinic day {day} at {practice.name} (organization {demo.tenant}): {len(encounters)} encounters "
                f"(seed {seed}); scenarios: "
                + ", ".join(f"{k} {v}" for k, v in sorted(Counter(e.scenario for e in encounters).items()))
            )
            # the payers' contracts before any charge is entered: each line is priced as it is billed
            loaded = await load_contracts(demo, PAYERS, day, day - PROFILE_BACKDATE)
            demo.say("  payer contracts: " + ", ".join(f"{p} {what}" for p, what in loaded.items()))
            days.append((day, encounters))
        summaries = await asyncio.gather(
            *(
                _run_day(demo, practice, day, encounters, timeout, started)
                for demo, practice, (day, encounters) in zip(demos, PRACTICES, days, strict=False)
            )
        )
        # 7. the underpayment worklist of each organization, against what the payers paid off contract
        await demos[0].phase("underpayments")
        found = await reconcile(
            demos,
            {d.tenant: set(s["claim_ids"]) for d, s in zip(demos, summaries, strict=True)},
            event_wait([e for _day, encounters in days for e in encounters]),
        )
        for line in report_lines(found, {d.tenant: p.name for d, p in zip(demos, PRACTICES, strict=False)}):
            say(line)
    summary = dict(summaries[0])
    summary["underpayments"] = found
    summary["tenants"] = {demo.tenant: s for demo, s in zip(demos, summaries, strict=True)}
    summary["practices"] = [
        {
            "tenant": demo.tenant,
            "name": practice.name,
            "npi": practice.clinic["npi"],
            "submitter_id": practice.submitter_id,
            "statement_name": practice.statement["name"],
            "statement_phone": practice.statement["phone"],
        }
        for demo, practice in zip(demos, PRACTICES, strict=False)
    ]
    # every organization's claims must reach their states: the exit status and the checks read these
    summary["mismatches"] = [
        m | {"tenant": demo.tenant} for demo, s in zip(demos, summaries, strict=True) for m in s["mismatches"]
    ]
    return summary


async def _run_day(
    demo: Demo, practice: Practice, day: date, encounters: list[Encounter], timeout: float, started: float
) -> dict[str, Any]:
    """One organization's day, from eligibility to the statements, and its summary."""
    say = demo.say
    # 1. eligibility, in one batch, as the night before the appointments
    await demo.phase("eligibility")
    await check_eligibility(demo, practice, encounters, day, timeout)

    # 2. charge entry (scrubbed) and 3. submission
    await demo.phase("charge-entry")
    by_fhir = fhir_visit(encounters)  # one visit comes from the EHR over FHIR, the rest as the office's batch
    batch = [e for e in encounters if e is not by_fhir]
    for start in range(0, len(batch), 200):
        chunk = batch[start : start + 200]
        created = await demo.call("POST", "claims", "/v1/claim-batches", json=[e.document for e in chunk])
        for e, c in zip(chunk, created, strict=True):
            e.claim_ids.append(c["id"])
    if by_fhir is not None:
        by_fhir.claim_ids.append(await submit_fhir_visit(demo, practice, by_fhir, day))
    ours = {cid for e in encounters for cid in e.claim_ids}
    entered = await demo.claims(ours)
    ready = sorted(cid for cid, c in entered.items() if c["state"] == "ready")
    say(f"  charge entry: {len(ours)} claims, {len(ready)} clean, {len(ours) - len(ready)} held by the scrubber")
    fixed = await work_scrubber_holds(demo, encounters, entered)
    say("  scrubber holds worked: " + (", ".join(f"{k} {v}" for k, v in sorted(fixed.items())) or "none"))
    ready = sorted(cid for cid, c in (await demo.claims(ours)).items() if c["state"] == "ready")
    submissions = await demo.call("POST", "claims", "/v1/submissions", json={"claim_ids": ready}) if ready else []
    say(f"  submitted: {len(ready)} claims in {len(submissions)} 837 interchange(s)")
    remaining = max(5.0, timeout - (time.monotonic() - started))
    answered = {cid for e in encounters if e.scenario not in (UNANSWERED, HELD) for cid in e.claim_ids}
    await demo.phase(WAITING)
    await demo.wait_settled(answered, "round 1", remaining / 2)
    await demo.phase("held-remittances")
    held = await work_held_remittances(demo, encounters)

    # 4. work the denial queue
    await demo.phase("denials")
    worked = await work_denials(demo, encounters, ours, day)
    say("  denials worked: " + (", ".join(f"{k} {v}" for k, v in sorted(worked.items())) or "none"))
    voided = await void_paid_claims(demo, encounters)
    say("  voids: " + (", ".join(f"{k} {v}" for k, v in sorted(voided.items())) or "none"))
    remaining = max(5.0, timeout - (time.monotonic() - started))
    await demo.phase(WAITING)
    await demo.wait_settled(answered, "round 2", remaining)
    # give the denial-resolution events time to close their claims
    final = await wait_final(demo, encounters, ours, max(5.0, timeout - (time.monotonic() - started)))
    # 5. insurance follow-up, as the billing office works it a week later, and 6. patient statements
    await demo.phase("follow-up")
    follow_up = await work_follow_up(demo, encounters, ours)
    await wait_denial_money(demo, ours, event_wait(encounters))
    statements = await demo.call("POST", "remittance", "/v1/statements/runs", json={})
    summary = await summarize(demo, encounters, final, time.monotonic() - started)
    summary["follow_up"] = follow_up
    summary["held_remittances"] = held
    summary["statements"] = statements["statements"]
    summary["claim_ids"] = sorted(final)  # replacements and voids included
    if by_fhir is not None:
        summary["fhir_visit"] = await read_fhir_visit(demo, by_fhir.claim_ids[0])
    say(
        f"patient statements: {len(statements['statements'])} accounts with a balance, "
        f"{sum(s['amount_due_cents'] for s in statements['statements']) / 100:,.2f} due"
    )
    return summary
