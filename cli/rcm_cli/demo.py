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
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rcm_shared.tracing import configure_tracing, root_span, shutdown_tracing

from rcm_cli.issuer import SCOPES, Issuer
from rcm_cli.services import SERVICES

SANDBOX_PORT = 8009
ISSUER_PORT = 8010
CLINIC = {
    "npi": "1234567893",
    "name": "Valley Family Clinic",
    "taxonomy": "207Q00000X",
    "tax_id": "123456789",
    "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "627011234"},
}
DOCTORS = [
    {"npi": "1679576722", "name": "Smith", "first_name": "John", "is_person": True, "taxonomy": "207R00000X"},
    {"npi": "1003000126", "name": "Jones", "first_name": "Mary", "is_person": True, "taxonomy": "207Q00000X"},
]
WALK_INS = frozenset({"coverage_ended", "member_id_typo"})  # seen without an eligibility check
PAYERS = {
    "ACME01": {"payer_id": "ACME01", "name": "ACME HEALTH PLAN", "filing_indicator": "CI"},
    "MCRB1": {"payer_id": "MCRB1", "name": "MEDICARE PART B", "filing_indicator": "MB"},
}
CROSSOVER = "crossover"
CROSSOVER_PAYERS = {"MGAP1": {"payer_id": "MGAP1", "name": "MEDIGAP MUTUAL", "filing_indicator": "CI"}}
LAST = ["Garcia", "Smith", "Nguyen", "Johnson", "Patel", "Brown", "Kowalski", "Okafor", "Miller", "Rossi", "Chen"]
FIRST = ["Ana", "James", "Linh", "Mary", "Raj", "Olivia", "Piotr", "Ngozi", "Robert", "Giulia", "Wei", "Sofia"]
STREETS = ["Elm St", "Oak Ave", "Maple Dr", "Lincoln Rd", "Cedar Ln"]
# Visits: (diagnoses, [(code, charge, diagnosis pointers)]). Real ICD-10-CM and CPT/HCPCS codes.
VISITS: list[tuple[list[str], list[tuple[str, str, list[int]]]]] = [
    (["I10"], [("99213", "150.00", [1])]),
    (["E11.9", "I10"], [("99214", "220.00", [1, 2]), ("83036", "45.00", [1]), ("36415", "20.00", [1])]),
    (["J06.9"], [("99212", "95.00", [1])]),
    (["E78.5"], [("99213", "150.00", [1]), ("80061", "70.00", [1]), ("36415", "20.00", [1])]),
    (["R07.9"], [("99214", "220.00", [1]), ("93000", "75.00", [1])]),
    (["Z23"], [("90686", "40.00", [1]), ("90471", "35.00", [1])]),
    (["N39.0"], [("99213", "150.00", [1]), ("81002", "15.00", [1])]),
    (["D64.9"], [("99213", "150.00", [1]), ("85025", "45.00", [1]), ("36415", "20.00", [1])]),
    (["R05.9"], [("99203", "190.00", [1]), ("71046", "120.00", [1])]),
]
# scenario -> (weight, what the billing office does with its denial, final state of the claim(s))
SCENARIOS: dict[str, tuple[int, str, str]] = {
    "clean": (70, "", "paid"),
    "missing_authorization": (6, "resubmit with the authorization number", "corrected -> replacement paid"),
    "non_covered_line": (4, "write off the acupuncture line", "closed"),
    "bundled_line": (4, "write off the bundled lab", "closed"),
    "coverage_ended": (3, "bill the patient", "closed"),
    "member_id_typo": (5, "fix the member id, send again", "paid"),
    "truncated_diagnosis": (4, "held by the scrubber; code completed, sent", "paid"),
    "duplicate_entry": (4, "held by the scrubber; the second entry voided", "void"),
    # the payer loses the claim: no 277CA, no 835; the follow-up list and a 276 find it was never received
    "payer_never_answers": (3, "follow up: 276 inquiry, the payer has no record", "submitted"),
    # a Medicare patient with a Medigap plan (named on the claim as secondary): Medicare forwards the claim
    # (835 CLP02 19, NM1*TT) and the Medigap plan sends its own 835; no secondary claim from us. Not drawn by
    # weight: the first Medicare clean visit of the day is one, and any other whose member has such a plan.
    CROSSOVER: (0, "none: Medicare forwards the claim, the Medigap plan pays its part", "paid"),
    # the payer's check is short by a recoupment whose PLB its 835 leaves out: the ERA is held unbalanced;
    # the payment poster checks it (every claim foots, only the check total differs) and releases it
    "held_remittance": (3, "835 held (check short, PLB missing); reviewed and released", "paid"),
    # paid, then found billed in error: voided (frequency 8, the payer's claim number); the payer takes its
    # payment back (CLP02 22) and both the claim and its void claim end void
    "void_after_payment": (3, "void the paid claim; the payer reverses its payment", "void"),
}
VOIDED = "void_after_payment"
UNANSWERED = "payer_never_answers"
HELD = "held_remittance"
WAITING = "waiting-on-payers"  # the phase in which the demo only reads
RETRY_SECONDS = float(os.environ.get("RCM_DEMO_RETRY_SECONDS", "90"))


def retry_after(response: httpx.Response) -> float:
    """The wait a 429 asks for (Retry-After in seconds; a date or nothing: 1 s), at most 10 s."""
    try:
        return min(10.0, max(0.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


@dataclass
class Encounter:
    number: int
    scenario: str
    payer_id: str
    member_id: str
    document: dict[str, Any]
    true_member_id: str | None = None  # the id on the card, for a typo the office fixes
    true_diagnoses: list[str] | None = None  # the codes the chart supports, for a truncated code
    claim_ids: list[str] = field(default_factory=list)


def _urls() -> dict[str, str]:
    offset = int(os.environ.get("RCM_PORT_OFFSET", "0"))
    urls = {s.name: f"http://127.0.0.1:{s.port}" for s in SERVICES}
    urls["sandbox"] = f"http://127.0.0.1:{SANDBOX_PORT + offset}"
    urls["issuer"] = f"http://127.0.0.1:{ISSUER_PORT + offset}"
    return urls


def clinic_day(
    rng: random.Random, patients: int, rosters: dict[str, list[dict[str, Any]]], day: date
) -> list[Encounter]:
    """A day of encounters: mostly clean visits, and a share of the errors a real office makes."""
    active = {
        p: [
            m
            for m in r
            if m["coverage_end"] is None and not m.get("claims_unanswered") and not m.get("remittance_short_paid")
        ]
        for p, r in rosters.items()
    }
    short_paid = [m for m in rosters["ACME01"] if m.get("remittance_short_paid")]
    lost = [m for m in rosters["ACME01"] if m.get("claims_unanswered")]
    ended = [m for m in rosters["ACME01"] if m["coverage_end"] is not None]
    used: set[str] = set()
    names = list(SCENARIOS)
    weights = [SCENARIOS[n][0] for n in names]
    out: list[Encounter] = []
    for n in range(1, patients + 1):
        scenario = rng.choices(names, weights)[0]
        if scenario == "duplicate_entry" and not out:
            scenario = "clean"
        if scenario == "duplicate_entry":
            original = next((e for e in reversed(out) if e.scenario == "clean"), None)
            if original is not None:
                out.append(Encounter(n, scenario, original.payer_id, original.member_id, original.document))
                continue
            scenario = "clean"
        if scenario == UNANSWERED and not [m for m in lost if m["member_id"] not in used]:
            scenario = "clean"  # every member whose claims the payer loses has a visit already
        if scenario == HELD and not [m for m in short_paid if m["member_id"] not in used]:
            scenario = "clean"
        payer_id = "MCRB1" if scenario == "clean" and rng.random() < 0.35 else "ACME01"
        pool = ended if scenario == "coverage_ended" else lost if scenario == UNANSWERED else active[payer_id]
        if payer_id == "MCRB1" and not any(e.scenario == CROSSOVER for e in out):
            pool = [m for m in pool if m.get("crossover_payer_id")] or pool
        if scenario == HELD:
            pool = short_paid
        member = rng.choice([m for m in pool if m["member_id"] not in used] or pool)
        if scenario == "clean" and member.get("crossover_payer_id") in CROSSOVER_PAYERS:
            scenario = CROSSOVER
        used.add(member["member_id"])
        member_id = member["member_id"]
        dx, lines = rng.choice(VISITS)
        dx, lines = list(dx), list(lines)
        chart = dx
        prior_auth = None
        if scenario == "missing_authorization":
            dx, lines = ["M17.11"], [("73721", "1200.00", [1])]
        elif scenario == "non_covered_line":
            dx, lines = ["M54.50"], [("99213", "150.00", [1]), ("97810", "95.00", [1])]
        elif scenario == "bundled_line":
            dx, lines = ["E11.9"], [("80053", "60.00", [1]), ("80048", "45.00", [1]), ("36415", "20.00", [1])]
        if scenario in ("missing_authorization", "non_covered_line", "bundled_line"):
            chart = dx
        elif scenario == "truncated_diagnosis":
            dx = [dx[0].split(".")[0], *dx[1:]]  # the category without its subcategory (E11 for E11.9)
        typed_id = member_id
        if scenario == "member_id_typo":
            typed_id = member_id[:-2] + member_id[-1] + member_id[-2]
            if typed_id == member_id or any(typed_id == m["member_id"] for m in rosters[payer_id]):
                typed_id = member_id + "0"
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
        if payer_id == "MCRB1":
            birth = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 25))
        doc = {
            "kind": "professional",
            "billing_provider": CLINIC,
            "rendering_provider": rng.choice(DOCTORS),
            "facility_code": "11",
            "subscriber": {
                "last_name": rng.choice(LAST),
                "first_name": rng.choice(FIRST),
                "birth_date": birth.isoformat(),
                "sex": rng.choice(["F", "M"]),
                "member_id": typed_id,
                "address": {
                    "line1": f"{rng.randrange(10, 999)} {rng.choice(STREETS)}",
                    "city": "Springfield",
                    "state": "IL",
                    "postal_code": "62704",
                },
            },
            "payer": PAYERS[payer_id],
            "diagnoses": dx,
            "prior_authorization": prior_auth,
            "lines": [
                {
                    "procedure_code": code,
                    "charge": charge,
                    "units": "1",
                    "service_date": day.isoformat(),
                    "diagnosis_pointers": ptr,
                }
                for code, charge, ptr in lines
            ],
        }
        if scenario == CROSSOVER:  # the Medigap card, entered as the claim's secondary payer
            card = {**doc["subscriber"], "member_id": member["crossover_member_id"]}  # type: ignore[dict-item]
            doc["secondary_payer"] = {**CROSSOVER_PAYERS[member["crossover_payer_id"]], "subscriber": card}
        out.append(
            Encounter(
                n,
                scenario,
                payer_id,
                typed_id,
                doc,
                true_member_id=member_id if typed_id != member_id else None,
                true_diagnoses=chart if dx != chart else None,
            )
        )
    return out


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


# Planted PHI for leak tests (RCM_DEMO_CANARY=1): one clean visit's patient carries these values (its member
# id is the roster's, for the payer to find it), every free-text field the demo sends carries them too, and
# they must show up nowhere they do not belong (logs, event payloads).
CANARY = {
    "last_name": "Canarylast",
    "first_name": "Canaryfirst",
    "birth_date": "1931-03-17",
    "ssn": "078-05-1120",
    "line1": "12 Canaryplant Rd",
    "city": "Canaryville",
    "member_id": "CNRY0001931",  # typed into notes: a member id, distinct from any of the rosters'
}
CANARY_TEXT = " ".join(CANARY[k] for k in ("first_name", "last_name", "line1", "city", "birth_date", "member_id"))
# Request fields where people type text: a note, a reason, a letter. (A value without a space is a code.)
FREE_TEXT_FIELDS = frozenset({"note", "notes", "reason", "comment", "appeal_letter", "description", "memo"})


def plant_canary(encounters: list[Encounter]) -> Encounter | None:
    target = next((e for e in encounters if e.scenario == "clean" and e.payer_id == "ACME01"), None)
    if target is not None:
        subscriber = target.document["subscriber"]
        subscriber.update({k: CANARY[k] for k in ("last_name", "first_name", "birth_date")})
        subscriber["address"] = {**subscriber["address"], "line1": CANARY["line1"], "city": CANARY["city"]}
    return target


def with_canary_text(body: Any) -> Any:
    """``body`` with the canary's name, address, birth date and member id added to each free-text value (a
    field of ``FREE_TEXT_FIELDS`` holding text with a space), as a caller's notes would quote a patient."""
    if isinstance(body, dict):
        return {
            k: f"{v} ({CANARY_TEXT})"
            if k in FREE_TEXT_FIELDS and isinstance(v, str) and " " in v.strip()
            else with_canary_text(v)
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [with_canary_text(v) for v in body]
    return body


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
        await wait_denial_money(demo, ours, _event_wait(encounters))
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


async def work_follow_up(demo: Demo, encounters: list[Encounter], ours: set[str]) -> dict[str, Any]:
    """The follow-up list as it stands 8 days after submission (the payers' 277CA window is 7): the claims
    the payer never answered; a 276 for each; the payer's 277 answers, and what they say to do next."""
    as_of = (datetime.now(UTC).date() + timedelta(days=8)).isoformat()
    listed = [
        i
        for i in await demo.call("GET", "claims", "/v1/follow-up", params={"as_of": as_of, "limit": 5000})
        if i["claim_id"] in ours
    ]
    sent = await demo.call("POST", "claims", "/v1/follow-up/inquiries", json={"as_of": as_of})
    asked = {cid for s in sent for cid in s["claim_ids"]}
    deadline = time.monotonic() + _event_wait(encounters)
    items = listed
    while time.monotonic() < deadline:  # the 277s come back through the clearinghouse
        items = [
            i
            for i in await demo.call("GET", "claims", "/v1/follow-up", params={"as_of": as_of, "limit": 5000})
            if i["claim_id"] in ours
        ]
        if all(i["last_answer"] for i in items if i["claim_id"] in asked):
            break
        await asyncio.sleep(0.5)
    lost = sorted(cid for e in encounters if e.scenario == UNANSWERED for cid in e.claim_ids)
    reasons = Counter(i["reason"] for i in listed)
    actions = Counter(i["next_action"] for i in items)
    demo.say(
        f"  follow-up as of {as_of}: {len(listed)} claim(s) listed ("
        + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        + f"), {len(sent)} 276 inquiries, next actions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(actions.items()))
    )
    result: dict[str, Any] = {
        "as_of": as_of,
        "listed": sorted(i["claim_id"] for i in listed),
        "reasons": dict(reasons),
        "inquiries": len(sent),
        "answers": {i["claim_id"]: (i["last_answer"] or {}).get("codes", []) for i in items},
        "next_actions": dict(actions),
        "never_answered": lost,
    }
    return result


async def work_held_remittances(demo: Demo, encounters: list[Encounter]) -> dict[str, Any]:
    """The held-835 queue, as the payment poster works it: an ERA whose claims each foot but whose check total
    is short of them (a recoupment taken from the check, its PLB missing from the file) is checked against the
    payer's remittance letter and released as sent, with a note; anything else held stays for a person."""
    ours = {cid for e in encounters if e.scenario == HELD for cid in e.claim_ids}
    deadline = time.monotonic() + _event_wait(encounters)
    queue: dict[str, dict[str, Any]] = {}
    while ours and time.monotonic() < deadline:  # the payer's 835s come in with the others, by the clearinghouse
        held = await demo.call("GET", "remittance", "/v1/remittances", params={"status": "held", "limit": 500})
        for r in held:
            if r["id"] not in queue:
                queue[r["id"]] = r | {
                    "set": await demo.call("GET", "remittance", f"/v1/remittances/{r['id']}/held-set")
                }
        if ours <= {c["claim_id"] for r in queue.values() for c in r["set"]["claims"]}:
            break
        await asyncio.sleep(0.5)
    released, left = [], []
    for r in queue.values():
        claims = r["set"]["claims"]
        if not {c["claim_id"] for c in claims} & ours:
            continue  # another day's held ERA: not this run's to decide
        if all(c["off_by_cents"] == 0 for c in claims) and r["imbalance_cents"] < 0:
            note = (
                f"check {r['trace_number']} short by {-r['imbalance_cents'] / 100:.2f}: recoupment per the payer's "
                "letter, PLB missing from the 835; every claim foots, posted as sent"
            )
            await demo.call("POST", "remittance", f"/v1/remittances/{r['id']}/release", json={"note": note})
            released.append({"id": r["id"], "imbalance_cents": r["imbalance_cents"], "claims": len(claims)})
        else:
            left.append(r["id"])
    found = {c["claim_id"] for r in queue.values() for c in r["set"]["claims"]}
    demo.say(
        f"  held 835s: {len(released)} released after review "
        f"({sum(-r['imbalance_cents'] for r in released) / 100:,.2f} recouped, PLBs missing), "
        f"{len(left)} left for review, {len(ours - found)} expected claim(s) not seen"
    )
    return {"released": released, "left": left, "missing": sorted(ours - found)}


async def work_scrubber_holds(
    demo: Demo, encounters: list[Encounter], entered: dict[str, dict[str, Any]]
) -> Counter[str]:
    """Claims the scrubber held: complete a truncated code from the chart, void a second entry."""
    done: Counter[str] = Counter()
    for e in encounters:
        for cid in e.claim_ids:
            if entered[cid]["state"] != "draft":
                continue
            rules = {x["rule"] for x in entered[cid]["edits"] if x["severity"] == "error"}
            if "DUP001" in rules:
                await demo.call("POST", "claims", f"/v1/claims/{cid}/void")
                done["duplicate voided"] += 1
            elif e.true_diagnoses:
                doc = json.loads(json.dumps(e.document)) | {"diagnoses": e.true_diagnoses}
                await demo.call("PUT", "claims", f"/v1/claims/{cid}", json=doc)
                done["diagnosis completed"] += 1
    return done


def _event_wait(encounters: list[Encounter]) -> float:
    """How long to wait for what follows by events (denials opened, 277 answers): 30 s for a small day,
    longer for a large one (a 5,000-patient day under chaos had half its denials after 30 s, and the rest
    were never worked)."""
    return 30.0 + 0.1 * len(encounters)


async def work_denials(demo: Demo, encounters: list[Encounter], ours: set[str], day: date) -> Counter[str]:
    """What the billing office does with each denial and rejection of the day's claims."""
    by_claim = {cid: e for e in encounters for cid in e.claim_ids}
    worked: Counter[str] = Counter()
    deadline = time.monotonic() + _event_wait(encounters)
    expected = sum(
        1
        for e in encounters
        if e.scenario
        in ("missing_authorization", "non_covered_line", "bundled_line", "coverage_ended", "member_id_typo")
    )
    queue: list[dict[str, Any]] = []
    while time.monotonic() < deadline:  # denials arrive by event, just after the claims' states move
        queue = [d for d in await demo.pages("denials", "/v1/denials") if d["claim_id"] in ours]
        if len({d["claim_id"] for d in queue}) >= expected:
            break
        await asyncio.sleep(0.5)
    if os.environ.get("RCM_DEMO_CANARY") and queue:
        # free text is where people type PHI: a note carrying an SSN must reach no log line and no event
        note = f"caller gave SSN {CANARY['ssn']} for {CANARY['first_name']} {CANARY['last_name']}"
        await demo.call(
            "POST", "denials", f"/v1/denials/{queue[0]['id']}/actions", json={"action": "comment", "note": note}
        )
    for d in queue:
        e = by_claim.get(d["claim_id"])
        if e is None or d["status"] not in ("open", "in_progress"):
            continue
        path = f"/v1/denials/{d['id']}/actions"
        if e.scenario == "missing_authorization":
            auth = f"AUTH{e.number:06d}"
            await demo.call(
                "POST",
                "denials",
                path,
                json={
                    "action": "resubmit",
                    "note": "authorization obtained",
                    "correction": {"prior_authorization": auth},
                },
            )
            worked["resubmitted with authorization"] += 1
        elif e.scenario == "member_id_typo" and e.true_member_id:
            doc = json.loads(json.dumps(e.document))
            doc["subscriber"]["member_id"] = e.true_member_id
            await demo.call("PUT", "claims", f"/v1/claims/{d['claim_id']}", json=doc)
            await demo.call("POST", "claims", f"/v1/claims/{d['claim_id']}/submit")
            await demo.call(
                "POST",
                "denials",
                path,
                json={"action": "comment", "note": "member id corrected from the card, claim sent again"},
            )
            worked["member id fixed and sent again"] += 1
        elif e.scenario == "coverage_ended":
            await demo.call(
                "POST", "denials", path, json={"action": "bill_patient", "note": "coverage ended; patient self-pay"}
            )
            worked["billed to the patient"] += 1
        else:
            await demo.call(
                "POST", "denials", path, json={"action": "write_off", "note": f"{d['category']}: not billable"}
            )
            worked["written off"] += 1
    return worked


async def wait_denial_money(demo: Demo, ours: set[str], timeout: float) -> int:
    """Until remittance has posted the money of every denial of ours billed to the patient or written off (it
    reads the resolutions from the bus, as claims does): the statements then bill what was transferred.
    Returns the denials whose money is posted."""
    moved: list[dict[str, Any]] = []
    while True:
        page = await demo.call(
            "GET",
            "denials",
            "/v1/denials",
            params={"status": ["billed_patient", "written_off"], "limit": 500, "offset": len(moved)},
        )
        moved += page
        if len(page) < 500:
            break
    waiting = {d["id"]: d["claim_id"] for d in moved if d["claim_id"] in ours}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for denial_id, claim_id in list(waiting.items()):
            postings = await demo.call("GET", "remittance", f"/v1/claims/{claim_id}/postings")
            if any(p["denial_id"] == denial_id for p in postings.get("denial_postings", [])):
                del waiting[denial_id]
        if waiting:
            await asyncio.sleep(0.5)
    if waiting:
        demo.say(f"  {len(waiting)} denial(s) billed to the patient or written off are not posted yet")
    return len(moved) - len(waiting)


async def void_paid_claims(demo: Demo, encounters: list[Encounter]) -> Counter[str]:
    """Visits found billed in error after the payer paid them: the office voids each claim (a frequency-8
    claim naming the payer's claim number, which the 835 gave) and sends the void; the payer reverses its
    payment, and the claim is void once that reversal is posted."""
    done: Counter[str] = Counter()
    for e in encounters:
        for cid in e.claim_ids if e.scenario == VOIDED else []:
            claim = await demo.call("GET", "claims", f"/v1/claims/{cid}")
            if not claim["payer_claim_control_number"]:
                done["not numbered by the payer yet"] += 1  # a void would be refused (409): nothing to name
                continue
            void = await demo.call("POST", "claims", f"/v1/claims/{cid}/void")
            if void["state"] != "ready":
                done[f"void claim left in {void['state']}"] += 1
                continue
            await demo.call("POST", "claims", f"/v1/claims/{void['id']}/submit")
            done["paid claims voided"] += 1
    return done


def expected_state(e: Encounter, claim: dict[str, Any], claims: dict[str, dict[str, Any]]) -> str:
    if e.scenario == CROSSOVER:
        if claim["id"] not in e.claim_ids:  # a secondary claim to the plan Medicare forwarded to: billed twice
            return "absent (Medicare forwarded the claim; no secondary claim)"
        # paid by Medicare, and done only once the Medigap plan's own 835 has come
        return "paid" if claim.get("crossover_state") == "answered" else "paid, crossover payer answered"
    if e.scenario == "missing_authorization":
        return "corrected" if claim["frequency"] == "1" else "paid"
    return SCENARIOS[e.scenario][2]


async def wait_final(
    demo: Demo, encounters: list[Encounter], ours: set[str], timeout: float
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    claims: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        claims = await demo.claims(ours)
        if not mismatches(encounters, claims):
            break
        await asyncio.sleep(1.0)
    return claims


def _replacements(claims: dict[str, dict[str, Any]], cid: str) -> list[str]:
    return [k for k, v in claims.items() if v.get("original_claim_id") == cid]


def mismatches(encounters: list[Encounter], claims: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for e in encounters:
        for cid in e.claim_ids + [r for c in e.claim_ids for r in _replacements(claims, c)]:
            claim = claims.get(cid)
            if claim is None:
                out.append({"claim": cid, "scenario": e.scenario, "expected": "present", "actual": "missing"})
                continue
            want = expected_state(e, claim, claims)
            if claim["state"] != want:
                out.append({"claim": cid, "scenario": e.scenario, "expected": want, "actual": claim["state"]})
    return out


def _money(cents: int) -> str:
    return f"{cents / 100:>12,.2f}"


async def summarize(
    demo: Demo, encounters: list[Encounter], claims: dict[str, dict[str, Any]], seconds: float
) -> dict[str, Any]:
    say = demo.say
    states = Counter(c["state"] for c in claims.values())
    kpis = await demo.call("GET", "claims", "/v1/reports/kpis")
    aging = await demo.call("GET", "claims", "/v1/reports/ar-aging")
    sem = asyncio.Semaphore(16)

    async def postings(cid: str) -> dict[str, Any]:
        async with sem:
            return dict(await demo.call("GET", "remittance", f"/v1/claims/{cid}/postings"))

    # Every claim that reached a payer, replacements included: each was billed and each was answered
    # (except the ones the payer lost, which the follow-up list shows).
    lost = {cid for e in encounters if e.scenario == UNANSWERED for cid in e.claim_ids}
    sent = [cid for cid, c in claims.items() if c["state"] not in ("draft", "void", "ready") and cid not in lost]
    every = await asyncio.gather(*(postings(cid) for cid in sent))
    billed = sum(claims[cid]["charge_cents"] for cid in sent)
    paid = sum(p["totals_cents"].get("payment", 0) for p in every)
    patient = sum(p["patient_responsibility_cents"] for p in every)
    contractual = sum(v for p in every for k, v in p["totals_cents"].items() if k != "payment") - patient
    # what the denials work then moved out of insurance A/R (the 835s' adjustments above include it)
    denial_money = {"patient_transfer": 0, "write_off": 0}
    for p in every:
        for d in p.get("denial_postings", []):
            denial_money[d["kind"]] = denial_money.get(d["kind"], 0) + d["amount_cents"]
    wrong = mismatches(encounters, claims)
    say("\nclaims by final state: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    say("money (every claim sent, replacements included, as the payers' 835s posted it)")
    say(f"  billed                        {_money(billed)}")
    say(f"  allowed                       {_money(paid + patient)}")
    say(f"  paid by payers                {_money(paid)}")
    say(f"  adjusted (contract, denials)  {_money(contractual)}")
    say(f"  patient responsibility        {_money(patient)}")
    say(f"  unaccounted                   {_money(billed - paid - contractual - patient)}")
    say(f"  denied, billed to patients    {_money(denial_money['patient_transfer'])}")
    say(f"  denied, written off           {_money(denial_money['write_off'])}")
    say(
        "KPIs (claims service): "
        + ", ".join(
            f"{k} {kpis[k]}"
            for k in (
                "clean_claim_rate",
                "first_pass_yield",
                "denial_rate",
                "average_days_to_payment",
                "net_collection_rate",
            )
        )
    )
    say(
        "insurance A/R: "
        + (
            "; ".join(f"{a['payer_id']} {a['total_cents'] / 100:,.2f} in {a['claims']} claims" for a in aging)
            or "none open"
        )
    )
    if wrong:
        say(f"{len(wrong)} claim(s) did not reach the state their scenario dictates:")
        for w in wrong[:20]:
            say(f"  {w['claim']} ({w['scenario']}): expected {w['expected']}, is {w['actual']}")
    else:
        say(f"every claim reached the state its scenario dictates ({seconds:.0f} s)")
    return {
        "seconds": round(seconds, 1),
        "encounters": [
            asdict(e) | {"document": None, "canary": e.document["subscriber"].get("last_name") == CANARY["last_name"]}
            for e in encounters
        ],
        "states": dict(states),
        "mismatches": wrong,
        "kpis": kpis,
        "ar_aging": aging,
        "money": {
            "billed_cents": billed,
            "allowed_cents": paid + patient,
            "paid_cents": paid,
            "adjusted_cents": contractual,
            "patient_responsibility_cents": patient,
            "unaccounted_cents": billed - paid - contractual - patient,
            "patient_transfer_cents": denial_money["patient_transfer"],
            "written_off_cents": denial_money["write_off"],
        },
    }
