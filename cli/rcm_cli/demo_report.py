"""The end of the demo's day: the state each claim should reach, the wait for it, and the summary with KPIs."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rcm_cli.demo_clinic import CANARY, CROSSOVER, SCENARIOS, UNANSWERED, Encounter

if TYPE_CHECKING:
    from rcm_cli.demo import Demo


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
