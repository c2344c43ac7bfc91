"""The whole revenue cycle across real processes: `rcm run` (broker, 4 APIs, 4 workers, the sandbox
clearinghouse), then `rcm demo` pushes a seeded day of 200 claims through it, as a user would.

Asserted from the outside, over the services' APIs: every claim reaches the state its scenario
dictates; every claim payment balances (billed = paid + adjustments + patient responsibility) and
the claims, remittance and denials services agree on the money to the cent; each denial is in the
queue once; the claims resubmitted with an authorization are paid in the second round.
Runs on SQLite and, with TEST_POSTGRES_URL (CI), on PostgreSQL (one schema per service).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from demo_fhir import check_fhir_visit
from demo_practices import check_envelopes, check_isolation, check_statement_headers, check_underpayments, token
from otlp_collector import Collector
from rcm_cli.broker import free_port
from rcm_cli.demo import RETRY_SECONDS, SCENARIOS, retry_after
from rcm_cli.procs import RunningStack
from rcm_shared.x12.carc import CONTRACTUAL_CARCS, CONTRACTUAL_GROUPS
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("eligibility", "claims", "remittance", "denials")
PATIENTS = 200


def _stack_env(tmp: Path, pg_url: str | None) -> tuple[dict[str, str], int, list[str]]:
    offset = free_port() % 1000 + 21000 - 8001
    env = {
        **os.environ,
        "AUTH_MODE": "on",
        "RCM_VAR_DIR": str(tmp / "var"),
        "RCM_PORT_OFFSET": str(offset),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "SANDBOX_SEED": "11",
        "SANDBOX_DELAY_SCALE": "0.5",
        "RCM_DEMO_CANARY": "1",
    }
    schemas = []
    for name in SERVICES:
        env.pop(f"{name.upper()}_DATABASE_URL", None)
        env.pop(f"{name.upper()}_DB_SCHEMA", None)
        if pg_url:
            schema = f"e2e_{name}_{uuid.uuid4().hex[:8]}"
            env[f"{name.upper()}_DATABASE_URL"] = pg_url
            env[f"{name.upper()}_DB_SCHEMA"] = schema
            schemas.append(schema)
    return env, offset, schemas


def _get(http: httpx.Client, url: str, **params: Any) -> Any:
    """A read as a client within the API's rate limit makes it: a 429 is read again after its Retry-After
    (the books' check reads every claim's postings, faster than a client's 200 requests/s on a fast machine)."""
    deadline = time.monotonic() + RETRY_SECONDS
    response = http.get(url, params=params)
    while response.status_code == 429 and time.monotonic() < deadline:
        time.sleep(retry_after(response))
        response = http.get(url, params=params)
    assert response.status_code == 200, (url, response.text[:500])
    return response.json()


def _pages(http: httpx.Client, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list (limit/offset)."""
    out: list[dict[str, Any]] = []
    while True:
        page = _get(http, url, limit=500, offset=len(out), **params)
        out += page
        if len(page) < 500:
            return out


def _all_claims(http: httpx.Client, base: str) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in _pages(http, f"{base}/v1/claims")}


def _token(offset: int, var: Path, tenant: str | None = None) -> str:
    """A bearer token for the demo's client (auth is on) of ``tenant`` (the first organization's when None),
    from the stack's own issuer."""
    return token(offset, var, tenant)


def released_imbalance(r: dict[str, Any]) -> int:
    """What a posted remittance's BPR02 may differ from its claim payments minus its PLBs by: nothing, unless
    it was held and an operator released it as the payer sent it; then exactly the imbalance the hold
    recorded (BPR02 - (claim payments - PLBs)), with the decision (who, why) on record."""
    if r["review_decision"] is None:
        return 0
    assert r["review_decision"] == "released" and r["reviewed_by"] and r["review_note"], r
    assert r["imbalance_cents"] is not None and r["hold_reasons"], r
    return int(r["imbalance_cents"])


def _check_books(offset: int, summary: dict[str, Any], var: Path, tenant: str | None = None) -> dict[str, int]:
    """The books of one organization's day (``summary``), read with its token (the first organization's when
    ``tenant`` is None)."""
    claims_url = f"http://127.0.0.1:{8002 + offset}"
    remit_url = f"http://127.0.0.1:{8003 + offset}"
    denials_url = f"http://127.0.0.1:{8004 + offset}"
    figures: Counter[str] = Counter()
    with httpx.Client(timeout=30) as http:
        assert http.get(f"{claims_url}/v1/claims").status_code == 401  # auth is on
        http.headers["Authorization"] = f"Bearer {_token(offset, var, tenant)}"
        claims = _all_claims(http, claims_url)
        # every remittance: each claim payment balances to the cent, and BPR02 = the claim payments - the
        # provider-level adjustments (off by its recorded imbalance only when released after review)
        remittances = _pages(http, f"{remit_url}/v1/remittances")
        assert remittances
        for r in remittances:
            payments = _pages(http, f"{remit_url}/v1/remittances/{r['id']}/claims")
            assert len(payments) == r["claim_count"], r
            paid = sum(p["paid_cents"] for p in payments)
            assert r["total_paid_cents"] == paid - r["plb_total_cents"] + released_imbalance(r), r
            for p in payments:
                adjusted = sum(a["amount_cents"] for a in p["adjustments"])
                patient = sum(a["amount_cents"] for a in p["adjustments"] if a["group"] == "PR")
                assert p["charge_cents"] == p["paid_cents"] + adjusted, p
                assert p["patient_responsibility_cents"] == patient, p
                figures["claim payments"] += 1
                figures["reversals"] += p["status_code"] == "22"
            figures["remittances"] += 1
            figures["released after review"] += r["review_decision"] == "released"
            assert r["status"] != "held", r  # the day's held 835s were all worked
        # claims and remittance agree on every claim the payers answered
        lost = {cid for e in summary["encounters"] if e["scenario"] == "payer_never_answers" for cid in e["claim_ids"]}
        for cid, c in claims.items():
            if c["state"] in ("draft", "ready", "void") or cid in lost:
                assert cid not in lost or c["state"] == "submitted", c  # the payer never answered
                continue
            posted = _get(http, f"{remit_url}/v1/claims/{cid}/postings")
            assert posted["payments"], f"{cid} ({c['state']}) has no posting"
            assert c["paid_cents"] == posted["totals_cents"].get("payment", 0), (cid, c["paid_cents"], posted)
            assert c["patient_responsibility_cents"] == posted["patient_responsibility_cents"], cid
            # one standing payment per claim, besides a crossover payer's answer to a claim forwarded to it
            standing = [
                p
                for p in posted["payments"]
                if p["status_code"] != "22" and not p["reversed_by"] and not p.get("crossover_of")
            ]
            assert [p["charge_cents"] for p in standing] == [c["charge_cents"]], (cid, posted["payments"])
        # voids of paid claims: the payment taken back by the payer's reversal; the claim and its void are void
        voided = [cid for e in summary["encounters"] if e["scenario"] == "void_after_payment" for cid in e["claim_ids"]]
        for cid in voided:
            posted = _get(http, f"{remit_url}/v1/claims/{cid}/postings")
            assert claims[cid]["state"] == "void" and posted["totals_cents"].get("payment", 0) == 0, (cid, posted)
            assert posted["payments"][-1]["status_code"] == "22" and posted["patient_responsibility_cents"] == 0, cid
            (void_claim,) = [c for c in claims.values() if c["original_claim_id"] == cid]
            assert (void_claim["frequency"], void_claim["state"]) == ("8", "void"), void_claim
            figures["paid claims voided"] += 1
        # denials: once each in the queue, for money the remittance really denied
        denials: list[dict[str, Any]] = []
        for status in (
            "open",
            "in_progress",
            "resubmitted",
            "recovered",
            "written_off",
            "billed_patient",
            "closed",
            "superseded",
        ):
            denials += _pages(http, f"{denials_url}/v1/denials", status=status)
        keys = Counter((d["claim_id"], d["line_number"], d["payer_claim_control_number"]) for d in denials)
        assert not [k for k, n in keys.items() if n > 1], "a denial is in the queue twice"
        for d in denials:
            assert 0 < d["amount_cents"] <= claims[d["claim_id"]]["charge_cents"], d
        figures["denials"] = len(denials)
        figures["denial money checks"] = _check_denial_money(http, denials_url, claims_url, remit_url, claims, denials)
        # the second round: replacements sent with the authorization were paid
        by_scenario = {cid: e["scenario"] for e in summary["encounters"] for cid in e["claim_ids"]}
        replacements = [c for c in claims.values() if c["frequency"] == "7"]
        assert len(replacements) == sum(1 for s in by_scenario.values() if s == "missing_authorization")
        for c in replacements:
            assert by_scenario[c["original_claim_id"]] == "missing_authorization"
            assert c["state"] == "paid" and c["document"]["prior_authorization"], c
            assert c["paid_cents"] + c["patient_responsibility_cents"] > 0, c
            recovered = [d for d in denials if d["claim_id"] == c["original_claim_id"]]
            assert [d["status"] for d in recovered] == ["recovered"], recovered
        figures["replacements paid"] = len(replacements)
        # crossovers: Medicare forwarded each to the Medigap plan (CLP02 19, NM1*TT), which answered with its own
        # 835 for the same claim; no secondary claim was billed by us (it would be a duplicate, CO-18)
        crossovers = [cid for cid, s in by_scenario.items() if s == "crossover"]
        assert crossovers
        for cid in crossovers:
            c = claims[cid]
            assert (c["state"], c["crossover_payer_id"], c["crossover_state"]) == ("paid", "MGAP1", "answered"), c
            assert not [o for o in claims.values() if o["original_claim_id"] == cid], cid
            paid = _get(http, f"{remit_url}/v1/claims/{cid}/postings")["payments"]
            assert [p["status_code"] for p in paid] == ["19", "2"] and paid[1]["crossover_of"] == paid[0]["id"], paid
        figures["crossovers answered"] = len(crossovers)
        # the audit trail: every claim's postings read above is on record, and every chain holds
        read = {cid for cid, c in claims.items() if c["state"] not in ("draft", "ready", "void") and cid not in lost}
        recorded: set[str] = set()
        offset_ = 0
        while True:
            page = _get(http, f"{remit_url}/v1/audit", limit=1000, offset=offset_)
            recorded |= {
                r["resource_id"]
                for r in page
                if r["resource"] == "/v1/claims/{claim_id}/postings" and r["action"] == "read" and r["status"] == 200
            }
            if len(page) < 1000:
                break
            offset_ += 1000
        assert read <= recorded, sorted(read - recorded)[:5]
        for port in (8001, 8002, 8003, 8004):
            verdict = _get(http, f"http://127.0.0.1:{port + offset}/v1/audit/verify")
            assert verdict["ok"] and verdict["rows"] > 0, (port, verdict)
            figures["audit rows"] += verdict["rows"]
    return dict(figures)


def _check_denial_money(
    http: httpx.Client,
    denials_url: str,
    claims_url: str,
    remit_url: str,
    claims: dict[str, Any],
    denials: list[dict[str, Any]],
) -> int:
    """A denial billed to the patient or written off moved its amount, to the cent, out of the claim's insurance
    balance (claims) and into remittance's denial postings; a transfer is on the patient's ledger for that claim;
    insurance A/R is the sum of the claims' insurance balances. A move the payer's later word took back (the
    denial's history says ``move_undone``; it is recovered or superseded then) is undone in both, once; one it
    did not is not undone in either; a denial whose money never moved has no posting."""
    checks = 0
    moved: dict[str, dict[str, int]] = {}
    kinds = {"billed_patient": "patient_transfer", "written_off": "write_off"}
    for d in denials:
        actions: list[str] = [d["status"]]
        if d["status"] in ("recovered", "superseded"):  # moved, then taken back? its history says
            actions = [h["action"] for h in _get(http, f"{denials_url}/v1/denials/{d['id']}")["history"]]
        posted = _get(http, f"{remit_url}/v1/claims/{d['claim_id']}/postings")
        mine = [p for p in posted["denial_postings"] if p["denial_id"] == d["id"]]
        moves = [kinds[a] for a in actions if a in kinds]
        if not moves:
            assert mine == [], (d, mine)
            continue
        (kind,) = moves
        undone = {"patient_transfer": "transfer_undone", "write_off": "write_off_undone"}[kind]
        expected = [(kind, d["amount_cents"])]
        if "move_undone" in actions:
            expected.append((undone, -d["amount_cents"]))
        assert [(p["kind"], p["amount_cents"]) for p in mine] == expected, (d, actions, posted)
        net = sum(p["amount_cents"] for p in mine)
        money = moved.setdefault(d["claim_id"], {"patient_transfer": 0, "write_off": 0})
        money[kind] += net
        if kind == "patient_transfer":
            account = _get(http, f"{remit_url}/v1/patient-accounts/{mine[0]['account_id']}")
            owed = {c["claim_id"]: c["balance_cents"] for c in account["claims"]}
            assert owed.get(d["claim_id"], 0) == net + posted["patient_responsibility_cents"], (d, account)
        checks += 1
    for cid, c in claims.items():
        money = moved.get(cid, {"patient_transfer": 0, "write_off": 0})
        assert (c["patient_transfer_cents"], c["written_off_cents"]) == (money["patient_transfer"], money["write_off"])
        if c["state"] == "closed":
            assert c["insurance_balance_cents"] == 0, c
    # insurance A/R as claims reports it, against what remittance posted: each open claim's charge less the
    # payments, the contractual adjustments (the shared code list), the patient's share and the denials'
    # net moves, as the 835s and the denial postings have them
    open_with_payer = ("submitted", "accepted", "rejected", "denied", "partially_paid", "appealed")
    owed, credit = 0, 0
    for cid, c in claims.items():
        if c["state"] not in open_with_payer or c["frequency"] == "8":
            continue
        posted = http.get(f"{remit_url}/v1/claims/{cid}/postings")
        while posted.status_code == 429:
            time.sleep(retry_after(posted))
            posted = http.get(f"{remit_url}/v1/claims/{cid}/postings")
        balance = c["charge_cents"]
        if posted.status_code != 404:  # 404: nothing posted yet, the whole charge is owed
            p = posted.json()
            contractual = sum(
                e["amount_cents"]
                for e in p["ledger"]
                if e["group_code"] in CONTRACTUAL_GROUPS and e["reason_code"] in CONTRACTUAL_CARCS
            )
            denied_moves = sum(d["amount_cents"] for d in p["denial_postings"])
            balance -= p["totals_cents"].get("payment", 0) + contractual + p["patient_responsibility_cents"]
            balance -= denied_moves
        owed += max(balance, 0)
        credit += min(balance, 0)
    aging = _get(http, f"{claims_url}/v1/reports/ar-aging")
    assert (sum(a["total_cents"] for a in aging), sum(a["credit_cents"] for a in aging)) == (owed, credit)
    return checks


def _check_day(summary: dict[str, Any]) -> None:
    """One organization's day as the demo summed it up: every claim in the state its scenario dictates, the
    money accounted for, the held 835s and the follow-up worked, the statements billing what patients owe."""
    assert not summary["mismatches"] and summary["money"]["unaccounted_cents"] == 0, summary["mismatches"][:10]
    scenarios = Counter(e["scenario"] for e in summary["encounters"])
    # the held 835s (a check short by a recoupment whose PLB the payer left out): reviewed and released
    # (a check that pays nothing has no recoupment to be short by: its 835 balances and is posted)
    held = summary["held_remittances"]
    assert bool(held["released"] or held["nothing_paid"]) == bool(scenarios["held_remittance"]), held
    assert not held["left"] and not held["missing"], held
    # insurance follow-up: exactly the claims the payer never answered, each asked about with a 276,
    # each answered by a 277 saying the payer has no record of it
    follow = summary["follow_up"]
    lost = follow["never_answered"]
    assert bool(lost) == bool(scenarios["payer_never_answers"]), follow
    assert follow["listed"] == lost and follow["reasons"] == ({"no_277ca": len(lost)} if lost else {}), follow
    assert follow["inquiries"] == len(lost), follow
    assert follow["next_actions"] == ({"resubmit": len(lost)} if lost else {}), follow
    assert all(codes == ["A4:35"] for codes in follow["answers"].values()), follow
    # patient statements: every patient with a balance got one, for the patient responsibility the 835s
    # posted (no claim of the day has a second payer), to the cent
    statements = summary["statements"]
    assert (
        statements
        and sum(s["amount_due_cents"] for s in statements)
        == summary["money"]["patient_responsibility_cents"] + summary["money"]["patient_transfer_cents"]
    )
    # the denials worked moved money: a coverage-ended claim billed to its patient, denied lines written off
    assert (summary["money"]["patient_transfer_cents"] > 0) == bool(scenarios["coverage_ended"]), summary["money"]
    assert summary["money"]["written_off_cents"] > 0, summary["money"]


def _check_practices(offset: int, summary: dict[str, Any], var: Path) -> dict[str, int]:
    """Each organization's 837s carry its own billing provider and submitter, each one's statements its own
    header, and neither sees the other's claims, remittances or denials; their underpayment worklists hold
    the variances the payers introduced, to the cent."""
    practices = summary["practices"]
    urls = {name: f"http://127.0.0.1:{port + offset}" for name, port in zip(SERVICES, range(8001, 8005), strict=True)}
    tokens = {p["tenant"]: _token(offset, var, None if p is practices[0] else p["tenant"]) for p in practices}
    entered = {t: {cid for e in day["encounters"] for cid in e["claim_ids"]} for t, day in summary["tenants"].items()}
    figures = check_isolation(urls, tokens, entered)
    urls["sandbox"] = f"http://127.0.0.1:{8009 + offset}"
    figures.update(check_underpayments(urls, tokens, summary["underpayments"]))
    clients = {t: httpx.Client(timeout=30, headers={"Authorization": f"Bearer {b}"}) for t, b in tokens.items()}
    try:
        listed = {t: set(_all_claims(http, urls["claims"])) for t, http in clients.items()}
        figures.update(check_envelopes(var, practices, listed))
        for p in practices:
            run = summary["tenants"][p["tenant"]]["statements"]
            header = check_statement_headers(clients[p["tenant"]], urls["remittance"], p, run)
            figures[f"statements of {p['tenant']} with its header"] = header
    finally:
        for http in clients.values():
            http.close()
    return figures


def _run_cycle(tmp: Path, pg_url: str | None) -> None:
    env, offset, schemas = _stack_env(tmp, pg_url)
    plans = tmp / "wide-plans.jsonl"
    if pg_url is None:  # every process logs the statements SQLite would run over a whole table or tenant
        env["RCM_SQLITE_PLAN_LOG"] = str(plans)
    collector = Collector()  # every process exports its spans here over OTLP/HTTP, as to a real collector
    env.update(
        OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint, OTEL_BSP_SCHEDULE_DELAY="500"
    )
    stack = RunningStack(env, ROOT)
    try:
        stack.wait_ready()
        out = tmp / "demo.json"
        started = time.monotonic()
        demo = subprocess.run(
            [
                sys.executable,
                "-m",
                "rcm_cli.main",
                "demo",
                "--patients",
                str(PATIENTS),
                "--seed",
                "5",
                "--timeout",
                "150",
                "--json",
                str(out),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        took = time.monotonic() - started
        (tmp / "demo.out").write_text(demo.stdout + demo.stderr)  # what the demo printed, for a failure's reader
        assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-3000:]
        summary = json.loads(out.read_text())
        assert not summary["mismatches"], summary["mismatches"][:10]
        scenarios = Counter(e["scenario"] for e in summary["encounters"])
        assert sum(scenarios.values()) == PATIENTS and len(scenarios) == len(SCENARIOS), scenarios  # every kind occurs
        assert summary["held_remittances"]["released"], summary["held_remittances"]
        # two organizations billed side by side, each under its own practice (the first's day is the summary's)
        practices = summary["practices"]
        assert [p["tenant"] for p in practices] == list(summary["tenants"]) and len(practices) == 2, practices
        assert summary["tenants"][practices[0]["tenant"]]["encounters"] == summary["encounters"]
        assert len(summary["tenants"][practices[1]["tenant"]]["encounters"]) == PATIENTS // 4
        assert len({(p["npi"], p["submitter_id"], p["statement_name"]) for p in practices}) == 2
        figures: dict[str, int] = {}
        for p in practices:
            day = summary["tenants"][p["tenant"]]
            _check_day(day)
            first = p is practices[0]
            books = _check_books(offset, day, tmp / "var", None if first else p["tenant"])
            figures.update(books if first else {f"{k} ({p['tenant']})": v for k, v in books.items()})
        figures.update(_check_practices(offset, summary, tmp / "var"))
        figures.update(check_fhir_visit(offset, summary, tmp / "var"))  # one visit in through Claim/$submit
        figures["canary checks"] = _no_canary_leaks(offset, summary, tmp / "var", env)
        print(f"\n{'postgres' if pg_url else 'sqlite'}: demo {took:.0f} s; states {summary['states']}; {figures}")
        print("KPIs", {k: summary["kpis"][k] for k in ("clean_claim_rate", "first_pass_yield", "denial_rate")})
        # days to payment run to the 835s' payment dates: the sandbox's payers pay 14 to 21 days after receipt
        assert 14 <= summary["kpis"]["average_days_to_payment"] <= 21, summary["kpis"]
        assert figures["reversals"] > 0 and summary["states"].get("closed", 0) > 0
        assert stack.stop() == 0  # Ctrl-C: every process ends cleanly
        _check_traces(collector, summary)
        if pg_url is None:
            _check_plans(plans)
    finally:
        stack.stop()
        collector.close()
        if pg_url and schemas:
            _drop(pg_url, schemas)


# Statements whose plans read a whole table or a tenant's whole range, reviewed: each reads a table that stays
# small, or has to read every row it names. Anything else found by RCM_SQLITE_PLAN_LOG fails the test.
REVIEWED_WIDE_PLANS = {
    # one row per worker process
    r"FROM worker_heartbeat WHERE worker_heartbeat.updated_at >= \?$": "SCAN worker_heartbeat",
    # the relay's queue: a partial index that holds the unpublished rows only, read in order up to the batch
    r"FROM outbox_event WHERE outbox_event.published_at IS NULL ORDER BY outbox_event.id LIMIT": "unpublished",
    # migration claims_0010, once: the claims entered before claims_0005 get their next payer
    r"^UPDATE claim SET next_payer_id = json_extract\(document": "migration claims_0010",
    # migration remittance_0010, once: SQLite drops a unique constraint by rebuilding the table, read first
    r"^SELECT sql FROM \(SELECT \* FROM sqlite_master UNION ALL SELECT \* FROM sqlite_temp_master\)": "0010",
    # the audit chain's last row: the rowid read backwards, one step
    r"^SELECT audit_event.hash FROM audit_event ORDER BY audit_event.id DESC LIMIT": "SCAN audit_event",
    # pages of lists in an index's order: the read stops at the page
    r"FROM claim WHERE claim.tenant_id = \? ORDER BY claim.created_at, claim.id LIMIT": "ix_claim_tenant_created",
    r"FROM remittance WHERE remittance.tenant_id = \? ORDER BY remittance.received_at DESC": "ix_remittance_tenant_received",
    # reads of the whole tenant by nature: the statement run (every account's balance), the KPI report;
    # and the audit trail's pages, in the order of ix_audit_event_tenant_id (the read stops at the page).
    # A statement run bills every account that owes, however old its balance, so it sums each account's
    # ledger as of its date; ix_patient_ledger_account gives the grouping order. An index led by
    # (tenant_id, created_at) would only hide the read from this check: a run is as of today or a recent
    # cycle day, so the cutoff leaves nearly every row of the tenant in range.
    r"FROM patient_ledger WHERE patient_ledger.tenant_id = \? AND patient_ledger.created_at < \? "
    r"GROUP BY patient_ledger.account_id$": "statement run",
    r"FROM claim WHERE claim.tenant_id = \? AND claim.frequency = \?": "KPI report",
    # keyed by the tenant alone: a tenant's few practice profile versions
    r"WHERE practice_profile.tenant_id = \?( AND practice_profile.version < \?)?$": "practice profile",
    # a tenant's practice profile versions, one per change of its practice (a handful in years): the one in
    # effect on a date, or the latest, is picked from all of them
    r"FROM practice_profile WHERE practice_profile.tenant_id = \? (AND practice_profile.effective_from <= \? "
    r"AND \(practice_profile.effective_to IS NULL OR practice_profile.effective_to >= \?\) )?ORDER BY "
    r"practice_profile\.(effective_from|version) DESC LIMIT": "practice profile versions",
    # migration remittance_0014, once: copies of a clearinghouse connection's pair dropped before its unique index
    r"^DELETE FROM practice_connection WHERE id NOT IN \(SELECT min\(id\) FROM practice_connection": "0014",
    # migration claims_0019, once: each master-data row stored before it gets its version number
    r"^UPDATE (practice_provider|service_facility|payer_enrollment|charge_master_item) SET version = "
    r"\(SELECT count\(\*\)": "0019",
    # migration denials_0010, once: the 835 lines compared before it are marked matched by position
    r"^UPDATE line_adjudication SET billed_line_number=line_adjudication.line_number": "0010",
    # whether the tenant configured any payer enrollment (PM007 applies only then): its first row answers
    r"^SELECT EXISTS \(SELECT \* FROM payer_enrollment WHERE payer_enrollment.tenant_id = \?\)": "enrollments",
    r"FROM audit_event WHERE audit_event.tenant_id = \? ORDER BY audit_event.id LIMIT": "audit pages",
    # migration eligibility_0008, once: the answers stored before it are never reused
    r"^UPDATE eligibility_check SET asked_for=\?$": "0008",
    # migration remittance_0015, once: each claim payment's last change, from its posting or its reversal's
    r"^UPDATE claim_payment SET updated_at = (posted_at|\(SELECT r.posted_at FROM claim_payment r WHERE)": "0015",
    # a batch migration (alembic, SQLite) reading an index's definition to rebuild it
    r"^SELECT sql FROM sqlite_master WHERE name = \? AND type = 'index'$": "alembic batch",
}


def _check_plans(log: Path) -> None:
    """No statement of the whole cycle reads a whole table or a tenant's whole range unless reviewed above:
    SQLite plans by the schema and the statement alone, so what scans here scans a production file of a
    million claims (a bulk read by ids walked every claim of the tenant before filter_only)."""
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    unreviewed = [
        f"{entry['sql'][:600]}\n    {entry['plan']}"
        for entry in found
        if not any(re.search(pattern, entry["sql"]) for pattern in REVIEWED_WIDE_PLANS)
    ]
    assert not unreviewed, "statements that read a whole table or tenant:\n" + "\n".join(unreviewed)


def _check_traces(collector: Collector, summary: dict[str, Any]) -> None:
    """One claim's trace spans every service: the demo (the hospital system's client) starts it and each
    call carries it; the claim's events carry it into the workers that consume them. The payer's 835 carries
    no trace context (X12 has no place for it), so its file starts a second trace: remittance -> claims and
    denials. No span holds patient data."""
    from rcm_cli.demo import CANARY

    spans = collector.spans()
    assert spans, "no span reached the collector"
    (claim_id,) = [cid for e in summary["encounters"] if e["canary"] for cid in e["claim_ids"]]
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for s in spans:
        by_trace.setdefault(s["trace_id"], []).append(s)
    (day,) = [t for t, ss in by_trace.items() if any(s["name"] == "rcm demo clinic day" for s in ss)]
    in_day = by_trace[day]
    services = {s["service"] for s in in_day}
    assert {"rcm-demo", "eligibility", "claims", "remittance", "denials", "sandbox"} <= services, services
    mine = [s for s in in_day if s["attributes"].get("cloudevents.event_subject") == claim_id]
    consumers = {(s["service"], s["name"]) for s in mine}
    assert ("remittance", "process claims.claim.status-changed") in consumers, consumers
    # denials prices the claim's billed lines under the payer's contract from its status events (expected
    # payment), so the day's trace reaches it by those too, besides its API
    assert ("denials", "process claims.claim.status-changed") in consumers, consumers
    ids = {s["span_id"] for s in in_day}
    orphans = [s["name"] for s in in_day if s["parent_id"] and s["parent_id"] not in ids]
    assert not orphans, f"spans whose parent never arrived: {orphans[:5]}"
    # the 835's trace: the file's ingestion, then the claim payment consumed by claims and denials
    paid = [
        s
        for s in spans
        if s["attributes"].get("cloudevents.event_subject") == claim_id
        and s["name"] == "process remittance.claim.adjudicated"
    ]
    assert {s["service"] for s in paid} == {"claims", "denials"}, paid
    roots = {s["name"] for s in by_trace[paid[0]["trace_id"]] if not s["parent_id"]}
    assert roots == {"ingest 835 file"}, roots
    # ids only: no planted demographic value in any span name or attribute
    blob = json.dumps(spans).lower()
    for value in ("last_name", "first_name", "birth_date", "ssn", "line1", "city", "member_id"):
        assert CANARY[value].lower() not in blob, f"canary {CANARY[value]!r} in a span"
    print(f"traces: {len(spans)} spans in {len(by_trace)} traces; the demo's trace has {len(in_day)} spans")


def _no_canary_leaks(offset: int, summary: dict[str, Any], var: Path, env: dict[str, str]) -> int:
    """The planted patient's name, address, birth date and member id (on the claim, and typed into every
    free-text field the demo sent: notes, reasons): in no log line of any process, and in no event payload
    or header except the claim's member id where a consumer needs it (eligibility.check_completed). And
    every event of the run validates against its published contract."""
    import asyncio

    from rcm_cli.demo import CANARY
    from rcm_shared.db import create_engine
    from sqlalchemy import select

    (claim_id,) = [cid for e in summary["encounters"] if e["canary"] for cid in e["claim_ids"]]
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {_token(offset, var)}"}) as http:
        claim = _get(http, f"http://127.0.0.1:{8002 + offset}/v1/claims/{claim_id}")
    member_id = claim["document"]["subscriber"]["member_id"]
    assert claim["state"] == "paid" and claim["document"]["subscriber"]["last_name"] == CANARY["last_name"]
    demographics = [
        CANARY["last_name"],
        CANARY["first_name"],
        CANARY["birth_date"],
        CANARY["birth_date"].replace("-", ""),
        CANARY["ssn"],  # typed into a denial note by the demo
        CANARY["ssn"].replace("-", ""),
        CANARY["line1"],
        CANARY["city"],
        CANARY["member_id"],  # typed into every note and reason, with the name, address and birth date
    ]
    # positive control: the planted values did travel, in the 837 the clearinghouse received
    sent = "".join(p.read_text() for p in (var / "sandbox" / "received").glob("*.x12")).lower()
    assert CANARY["last_name"].lower() in sent and member_id.lower() in sent
    assert CANARY["line1"].lower() in sent
    checked = 0
    logs = sorted((var / "log").glob("*.log"))
    assert {"sandbox.log", "claims-api.log", "denials-worker.log"} <= {p.name for p in logs}, logs
    for log_file in logs:
        text_ = log_file.read_text(errors="replace").lower()
        checked += 1
        for value in [*demographics, member_id]:
            assert value.lower() not in text_, f"canary {value!r} in {log_file.name}"

    validators: dict[tuple[str, str], Any] = {}

    async def outboxes() -> int:
        rows = 0
        for name in SERVICES:
            models = __import__(f"{name}.models", fromlist=["bus"])
            url = env.get(f"{name.upper()}_DATABASE_URL") or f"sqlite+aiosqlite:///{var / (name + '.db')}"
            engine = create_engine(url, schema=env.get(f"{name.upper()}_DB_SCHEMA") or name)
            async with engine.connect() as conn:
                for row in await conn.execute(select(models.bus.outbox)):
                    # every event emitted in the run matches its contract (contracts/schemas)
                    version = dict(row.headers).get("ce_schemaversion", "1")
                    validator = validators.get((row.event_type, version))
                    if validator is None:
                        path = ROOT / "contracts" / "schemas" / f"{row.event_type}.v{version}.json"
                        validator = validators[(row.event_type, version)] = jsonschema_rs.validator_for(
                            json.loads(path.read_text())
                        )
                    validator.validate(json.loads(row.payload))
                    blob = (row.payload + json.dumps(row.headers)).lower()
                    for value in demographics:
                        assert value.lower() not in blob, f"canary {value!r} in a {row.event_type} event"
                    if row.event_type != "eligibility.check_completed":
                        assert member_id.lower() not in blob, f"the member id in a {row.event_type} event"
                    rows += 1
                if name == "denials":  # positive control: the notes with the canary were kept where typed
                    notes = [n or "" for (n,) in await conn.execute(select(models.denial_event.c.note))]
                    assert any(CANARY["ssn"] in n for n in notes)
                    assert sum(CANARY["member_id"] in n and CANARY["line1"] in n for n in notes) > 1
            await engine.dispose()
        return rows

    events = asyncio.run(outboxes())
    assert events > 500
    return checked + events


def _drop(pg_url: str, schemas: list[str]) -> None:
    import asyncio

    from rcm_shared.db import create_engine

    async def drop() -> None:
        engine = create_engine(pg_url, schema="public")
        async with engine.begin() as conn:
            for schema in schemas:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()

    asyncio.run(drop())


def test_a_seeded_day_runs_the_whole_cycle_on_sqlite(tmp_path: Path) -> None:
    _run_cycle(tmp_path, None)


@pytest.mark.postgres
def test_a_seeded_day_runs_the_whole_cycle_on_postgres(tmp_path: Path, postgres_base_url: str | None) -> None:
    from rcm_shared.testing import need_postgres

    _run_cycle(tmp_path, need_postgres(postgres_base_url))
