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
import json
import os
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rcm_shared.tracing import configure_tracing, root_span, shutdown_tracing

from rcm_cli.demo_clinic import (
    CANARY,
    CLINIC,
    DOCTORS,
    HELD,
    PAYERS,
    SCENARIOS,
    UNANSWERED,
    WALK_INS,
    Encounter,
    clinic_day,
    plant_canary,
    with_canary_text,
)
from rcm_cli.demo_office import (
    event_wait,
    void_paid_claims,
    wait_denial_money,
    work_denials,
    work_follow_up,
    work_held_remittances,
    work_scrubber_holds,
)
from rcm_cli.demo_report import summarize, wait_final
from rcm_cli.issuer import SCOPES, Issuer
from rcm_cli.services import SERVICES

__all__ = [
    "CANARY",
    "CLINIC",
    "DOCTORS",
    "PAYERS",
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
    issuer = Issuer.embedded()
    saved = issuer.folder / "demo-client.json"
    if saved.exists():
        data = json.loads(saved.read_text())
        if data["client_id"] in json.loads(issuer.clients_file.read_text() if issuer.clients_file.exists() else "{}"):
            return data["client_id"], data["client_secret"]
    issuer.ensure_key()
    client_id, secret = issuer.create_client(
        os.environ.get("RCM_DEMO_TENANT", "default"), list(SCOPES), name="rcm demo"
    )
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"client_id": client_id, "client_secret": secret}, fh)
    return client_id, secret


class Demo:
    def __init__(self, client: httpx.AsyncClient, urls: dict[str, str], tenant: str, say: Any) -> None:
        self.http = client
        self.urls = urls
        self.headers = {"X-Tenant-ID": tenant, "X-Actor": "rcm-demo"}
        self.say = say

    async def login(self) -> None:
        """A bearer token from the issuer (client credentials); without an issuer, none (auth off)."""
        client_id, secret = demo_credentials()
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

    async def call(self, method: str, service: str, path: str, **kw: Any) -> Any:
        """One API call. A service that is restarting (connection refused, 502/503/504) is waited for up to
        ``RETRY_SECONDS``: a read is sent again after any transport error; a write only when it never left
        (connection refused), since a write cut off mid-way may have been applied. A 429 (over the API's rate
        limit: nothing was done) is sent again after its Retry-After, for up to ``RETRY_SECONDS`` as well. A
        401 (the token expired) gets a new token and one more try."""
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
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {service}{path}: {response.status_code} {response.text[:400]}")
        return response.json() if response.content else None

    async def phase(self, name: str) -> None:
        """Announce the demo's phase in ``RCM_DEMO_PHASE_FILE`` (for fault-injection runs, which restart the
        APIs only while the demo merely reads). Leaving the waiting phase waits for every API to be back."""
        path = os.environ.get("RCM_DEMO_PHASE_FILE")
        if not path:
            return
        Path(path).write_text(name)
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


async def run_demo(patients: int, seed: int, timeout: float, say: Any = print) -> dict[str, Any]:
    """The demo is the hospital system's client: with tracing configured (OTEL_TRACES_EXPORTER), its day is
    one trace whose context every API call carries, so each claim's path through the services is in it."""
    configure_tracing("rcm-demo", "cli")
    try:
        with root_span("rcm demo clinic day", **{"rcm.demo.seed": str(seed), "rcm.demo.patients": str(patients)}):
            return await _run_day(patients, seed, timeout, say)
    finally:
        shutdown_tracing()


async def _run_day(patients: int, seed: int, timeout: float, say: Any) -> dict[str, Any]:
    started = time.monotonic()
    rng = random.Random(seed)
    urls = _urls()
    tenant = os.environ.get("RCM_DEMO_TENANT", "default")  # the demo client's organization
    async with httpx.AsyncClient(timeout=60) as client:
        demo = Demo(client, urls, tenant, say)
        await demo.wait_up(30)
        await demo.login()
        rosters = {
            p: await demo.call("GET", "sandbox", f"/v1/payers/{p}/members", params={"limit": 5000}) for p in PAYERS
        }
        # The same seed gives the same day; a stack that already billed a day gets the day before it
        # (the same encounters again would rightly be held as duplicates).
        taken = {c["service_from"] for c in (await demo.claims()).values()}
        day = datetime.now(UTC).date() - timedelta(days=1)
        while day.isoformat() in taken:
            day -= timedelta(days=1)
        encounters = clinic_day(rng, patients, rosters, day)
        if os.environ.get("RCM_DEMO_CANARY"):
            plant_canary(encounters)
        say(
            f"clinic day {day}: {len(encounters)} encounters (seed {seed}); scenarios: "
            + ", ".join(f"{k} {v}" for k, v in sorted(Counter(e.scenario for e in encounters).items()))
        )

        # 1. eligibility, in one batch, as the night before the appointments
        await demo.phase("eligibility")
        checks = [
            {
                "provider": {"npi": CLINIC["npi"], "name": CLINIC["name"]},
                "payer_id": e.payer_id,
                "payer_name": PAYERS[e.payer_id]["name"],
                "subscriber": {
                    "member_id": e.member_id,
                    "first_name": e.document["subscriber"]["first_name"],
                    "last_name": e.document["subscriber"]["last_name"],
                    "birth_date": e.document["subscriber"]["birth_date"],
                },
                "service_date": day.isoformat(),
                "service_types": ["30"],
            }
            for e in encounters
            if e.scenario not in WALK_INS
        ]
        batch = await demo.call(
            "POST", "eligibility", "/v1/eligibility/batches", json={"checks": checks, "per_payer_concurrency": 8}
        )
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = await demo.call("GET", "eligibility", f"/v1/eligibility/batches/{batch['id']}")
            say(f"\r  eligibility: {status['done'] + status['failed']}/{status['total']} checked", end="")
            if status["pending"] == 0:
                break
            await asyncio.sleep(0.5)
        say("")
        verdicts: Counter[str] = Counter()
        sem = asyncio.Semaphore(16)

        async def verdict(check_id: str | None) -> str:
            if not check_id:
                return "failed"
            async with sem:
                return str((await demo.call("GET", "eligibility", f"/v1/eligibility/checks/{check_id}"))["status"])

        verdicts.update(await asyncio.gather(*(verdict(i.get("check_id")) for i in status.get("items", []))))
        say("  eligibility results: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))

        # 2. charge entry (scrubbed) and 3. submission
        await demo.phase("charge-entry")
        for start in range(0, len(encounters), 200):
            chunk = encounters[start : start + 200]
            created = await demo.call("POST", "claims", "/v1/claim-batches", json=[e.document for e in chunk])
            for e, c in zip(chunk, created, strict=True):
                e.claim_ids.append(c["id"])
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
        say(
            f"patient statements: {len(statements['statements'])} accounts with a balance, "
            f"{sum(s['amount_due_cents'] for s in statements['statements']) / 100:,.2f} due"
        )
    return summary
