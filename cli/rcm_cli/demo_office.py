"""The demo's billing office at work: scrubber holds fixed, held remittances released, denials worked,
paid claims voided, the follow-up list worked a week later."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rcm_cli.demo_clinic import CANARY, HELD, PAYERS, UNANSWERED, VOIDED, WALK_INS, Encounter, Practice

if TYPE_CHECKING:
    from rcm_cli.demo import Demo


async def check_eligibility(
    demo: Demo, practice: Practice, encounters: list[Encounter], day: date, timeout: float
) -> Counter[str]:
    """Eligibility in one batch, as the night before the appointments (walk-ins are seen unchecked): the
    verdicts, counted."""
    say = demo.say
    checks = [
        {
            "provider": {"npi": practice.clinic["npi"], "name": practice.clinic["name"]},
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
    return verdicts


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
    deadline = time.monotonic() + event_wait(encounters)
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


async def _paid_nothing(demo: Demo, claim_ids: set[str]) -> set[str]:
    """The claims among these posted with no payment at all: a check that pays nothing has no recoupment to
    be short by, so the payer's 835 for them balances and is posted, not held."""
    out = set()
    for cid in sorted(claim_ids):
        posted = await demo.call("GET", "remittance", f"/v1/claims/{cid}/postings", missing_ok=True)
        if posted and posted["payments"] and not any(p["paid_cents"] for p in posted["payments"]):
            out.add(cid)
    return out


async def work_held_remittances(demo: Demo, encounters: list[Encounter]) -> dict[str, Any]:
    """The held-835 queue, as the payment poster works it: an ERA whose claims each foot but whose check total
    is short of them (a recoupment taken from the check, its PLB missing from the file) is checked against the
    payer's remittance letter and released as sent, with a note; anything else held stays for a person."""
    ours = {cid for e in encounters if e.scenario == HELD for cid in e.claim_ids}
    deadline = time.monotonic() + event_wait(encounters)
    queue: dict[str, dict[str, Any]] = {}
    nothing: set[str] = set()
    while ours and time.monotonic() < deadline:  # the payer's 835s come in with the others, by the clearinghouse
        held = await demo.call("GET", "remittance", "/v1/remittances", params={"status": "held", "limit": 500})
        for r in held:
            if r["id"] not in queue:
                queue[r["id"]] = r | {
                    "set": await demo.call("GET", "remittance", f"/v1/remittances/{r['id']}/held-set")
                }
        found = {c["claim_id"] for r in queue.values() for c in r["set"]["claims"]}
        nothing |= await _paid_nothing(demo, ours - found - nothing)
        if ours <= found | nothing:
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
    missing = ours - found - nothing
    demo.say(
        f"  held 835s: {len(released)} released after review "
        f"({sum(-r['imbalance_cents'] for r in released) / 100:,.2f} recouped, PLBs missing), "
        f"{len(left)} left for review, {len(nothing)} posted (nothing paid, so no recoupment), "
        f"{len(missing)} expected claim(s) not seen"
    )
    return {"released": released, "left": left, "nothing_paid": sorted(nothing), "missing": sorted(missing)}


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


def event_wait(encounters: list[Encounter]) -> float:
    """How long to wait for what follows by events (denials opened, 277 answers): 30 s for a small day,
    longer for a large one (a 5,000-patient day under chaos had half its denials after 30 s, and the rest
    were never worked)."""
    return 30.0 + 0.1 * len(encounters)


async def work_denials(demo: Demo, encounters: list[Encounter], ours: set[str], day: date) -> Counter[str]:
    """What the billing office does with each denial and rejection of the day's claims."""
    by_claim = {cid: e for e in encounters for cid in e.claim_ids}
    worked: Counter[str] = Counter()
    deadline = time.monotonic() + event_wait(encounters)
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
