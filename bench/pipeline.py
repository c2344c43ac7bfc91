"""Benchmark: the whole cycle end to end on a running stack, at a steady offered load and at saturation.

Starts `rcm run` (embedded broker and SQLite, or PostgreSQL with --postgres URL), with the sandbox's
payer delays at zero; the filedrop folders wake their loops when a file lands (change events) and are polled
every --poll seconds (0.2) besides; remittance takes an 835 once it has not changed for --settle seconds (0.2;
the service's default is 1). Claims of distinct roster members go in through the REST API in batches
(POST /v1/claim-batches, then POST /v1/submissions); the sandbox answers with 999s, 277CAs and 835s;
remittance posts them; the claims service moves each claim to its final state (paid, partially paid, denied).
First --warm-up claims (200) go through unmeasured. The steady phase sends a batch on schedule whether or not
the earlier ones were answered (open loop). Measured from the services' own tables:

- claims/s at saturation (4,000 claims sent by 4 clients at once): final claims / (last final status - first
  charge entry), and sustained: the rate between the 10th and the 90th percentile of final statuses, while
  every stage is busy (the first claims cross the stages alone; the last ones drain);
- latency per claim, p50 / p99: from the time its batch was due to be sent (steady phase) or its charge
  entry (claim.created_at, saturation) to its final status transition;
- CPU seconds and peak RSS per process (from /proc), for the stack's processes, and on PostgreSQL the CPU of
  the server's processes when it runs on this machine (it shares the two cores).

On PostgreSQL the schemas are new: after the warm-up, and again before the saturation phase (the tables have
grown tenfold), the bench runs ANALYZE on them, as autovacuum would on a live database within its first
minute (without statistics a lookup of 100-200 ids was planned as a scan of the whole tenant or consumer:
20-60 ms each, and the server spent as much CPU as the whole stack).

Target on this 2-core machine: >= 500 claims/s through the whole cycle (stretch 1,000), p99 < 2 s at
200 claims/s. Prints a table; --json writes the figures. Usage:
    python bench/pipeline.py [--claims 4000] [--senders 4] [--rate 200] [--seconds 10] [--poll 0.2] [--settle 0.2]
        [--warm-up 200] [--postgres URL] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rcm_cli.procs import RunningStack, cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"eligibility": 8001, "claims": 8002, "remittance": 8003, "denials": 8004}
FINAL = ("paid", "partially_paid", "denied")
T = {"X-Tenant-ID": "default"}
ID = re.compile(r"[A-Z0-9]{1,40}")  # a claim id as the API gives it


def _processes(pid: int) -> dict[int, str]:
    from rcm_cli.procs import command_line, descendants

    return {child: _label(command_line(child)) for child in descendants(pid)}


def _label(cmd: str) -> str:
    for needle, label in (
        ("tansu", "broker"),
        ("issuer", "issuer"),
        ("sandbox.main", "sandbox"),
        *((f"{s}.main", f"{s}-api") for s in SERVICES),
        *((f"{s}.worker", f"{s}-worker") for s in SERVICES),
    ):
        if needle in cmd:
            return label
    return "other"


def _peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _documents(http: httpx.Client, sandbox: str, n: int, day: str) -> list[dict[str, Any]]:
    """Clean office visits of distinct members (no prior authorization, covered codes)."""
    from rcm_cli.demo import CLINIC, DOCTORS, PAYERS

    members = []
    for payer in ("ACME01", "MCRB1"):
        roster = http.get(f"{sandbox}/v1/payers/{payer}/members", params={"limit": 5000}).json()
        # members whose claims the payer never answers, or answers in a short-paid 835 held for review, never
        # reach a final state without an operator
        members += [
            (payer, m["member_id"])
            for m in roster
            if m["coverage_end"] is None and not m.get("claims_unanswered") and not m.get("remittance_short_paid")
        ]
    if n > len(members):
        raise SystemExit(f"at most {len(members)} claims (one per roster member)")
    docs = []
    for i, (payer, member) in enumerate(members[:n]):
        docs.append(
            {
                "kind": "professional",
                "billing_provider": CLINIC,
                "rendering_provider": DOCTORS[i % len(DOCTORS)],
                "facility_code": "11",
                "subscriber": {
                    "last_name": "Bench",
                    "first_name": f"P{i}",
                    "birth_date": "1950-01-01" if payer == "MCRB1" else "1980-01-01",
                    "sex": "F",
                    "member_id": member,
                    "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
                },
                "payer": PAYERS[payer],
                "diagnoses": ["I10"],
                "lines": [
                    {
                        "procedure_code": "99213",
                        "charge": "150.00",
                        "units": "1",
                        "service_date": day,
                        "diagnosis_pointers": [1],
                    }
                ],
            }
        )
    return docs


def _send(http: httpx.Client, claims_url: str, docs: list[dict[str, Any]]) -> list[str]:
    created = http.post(f"{claims_url}/v1/claim-batches", json=docs)
    created.raise_for_status()
    ids = [c["id"] for c in created.json() if c["state"] == "ready"]
    if ids:
        http.post(f"{claims_url}/v1/submissions", json={"claim_ids": ids}).raise_for_status()
    held = len(created.json()) - len(ids)
    if held:  # e.g. two roster members the scrubber takes for one patient (DUP001): not sent, not waited for
        print(f"  {held} claim(s) held by the scrubber, not submitted", file=sys.stderr)
    return ids


def _send_all(http: httpx.Client, claims_url: str, docs: list[dict[str, Any]], batch: int, senders: int) -> list[str]:
    """``docs`` in batches of ``batch``, from ``senders`` clients at a time; the ids of the claims sent."""
    chunks = [docs[i : i + batch] for i in range(0, len(docs), batch)]
    with ThreadPoolExecutor(max_workers=senders) as pool:
        return [claim_id for ids in pool.map(lambda c: _send(http, claims_url, c), chunks) for claim_id in ids]


def _final_times(claims_db: str, pg: str | None, schema: str, ids: list[str]) -> dict[str, tuple[datetime, datetime]]:
    """claim id -> (charge entry, first final status) from the claims service's tables, for those of ``ids``
    that have reached a final status. Only these claims are read (by their keys): reading every claim's
    history each second cost the bench ~70 ms of CPU a look at 6,000 claims, taken from the stack's cores."""
    if not ids:
        return {}
    if not all(ID.fullmatch(claim_id) for claim_id in ids):
        raise SystemExit("the claims API returned an unexpected claim id")
    sql = (
        "SELECT c.id, c.created_at, min(t.at) FROM claim c JOIN claim_transition t"
        " ON t.tenant_id = c.tenant_id AND t.claim_id = c.id"
        f" WHERE c.tenant_id = '{T['X-Tenant-ID']}' AND c.id IN ({', '.join(repr(i) for i in ids)})"
        f" AND t.to_state IN ({', '.join(repr(s) for s in FINAL)}) GROUP BY c.id, c.created_at"
    )
    if pg:
        out = subprocess.run(
            ["psql", pg.replace("+asyncpg", ""), "-Atc", f"SET search_path TO {schema}; {sql}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [line.split("|") for line in out.splitlines() if line.count("|") == 2]
    else:
        with sqlite3.connect(claims_db) as conn:
            rows = conn.execute(sql).fetchall()

    def ts(v: Any) -> datetime:
        d = datetime.fromisoformat(str(v).replace(" ", "T"))
        return d if d.tzinfo else d.replace(tzinfo=UTC)

    return {r[0]: (ts(r[1]), ts(r[2])) for r in rows}


def _wait_final(times: Any, ids: list[str], timeout: float) -> dict[str, tuple[datetime, datetime]]:
    """Look once a second, for the claims not yet final, until all are or ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    got: dict[str, tuple[datetime, datetime]] = {}
    while time.monotonic() < deadline:
        got.update(times([claim_id for claim_id in ids if claim_id not in got]))
        if len(got) >= len(ids):
            break
        time.sleep(1.0)
    return got


def _postgres_cpu() -> float | None:
    """CPU seconds spent so far by the PostgreSQL server processes on this machine (the backends that have
    exited count in the postmaster's children's time); None when none is visible (a remote server)."""
    total, seen = 0.0, False
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or not (entry / "comm").read_text().startswith("postgres"):
                continue
        except OSError:
            continue
        seen = True
        total += cpu_seconds(int(entry.name), children=True)
    return total if seen else None


def _analyze(pg: str, schemas: Any) -> None:
    """Planner statistics for the new schemas, as autovacuum gathers them on a live database within its first
    minute (the bench is over sooner): without them PostgreSQL plans a lookup of 100-200 ids by tenant or
    consumer as a scan of every row of it and filters the ids one by one (20-60 ms a lookup, measured)."""
    for schema in schemas:
        tables = subprocess.run(
            [
                "psql",
                pg.replace("+asyncpg", ""),
                "-Atc",
                f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}'",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        sql = "; ".join(f"ANALYZE {schema}.{t}" for t in tables)
        subprocess.run(["psql", pg.replace("+asyncpg", ""), "-qc", sql], check=True, capture_output=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=4000, help="claims pushed at saturation")
    parser.add_argument("--rate", type=float, default=200.0, help="offered load of the steady phase (claims/s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the steady phase")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--senders", type=int, default=4, help="clients sending batches at once at saturation")
    parser.add_argument("--warm-up", type=int, default=200, help="claims sent and finished before measuring")
    parser.add_argument(
        "--poll",
        type=float,
        default=0.2,
        help="seconds between looks at the filedrop folders (sandbox, claims, remittance) besides change events",
    )
    parser.add_argument(
        "--settle", type=float, default=0.2, help="seconds an 835 must stay unchanged before remittance takes it"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "cli"))
    from rcm_cli.broker import free_port

    tmp = Path(tempfile.mkdtemp(prefix="rcm-pipeline-"))
    offset = free_port() % 1000 + 23000 - 8001
    env = {
        **os.environ,
        "AUTH_MODE": "off",
        "RCM_VAR_DIR": str(tmp / "var"),
        "RCM_PORT_OFFSET": str(offset),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "SANDBOX_DELAY_SCALE": "0",
        "CLAIMS_POLL_SECONDS": str(args.poll),
        "REMITTANCE_INBOUND_POLL_SECONDS": str(args.poll),
        "REMITTANCE_INBOUND_SETTLE_SECONDS": str(args.settle),
        "SANDBOX_POLL_SECONDS": str(args.poll),
        "LOG_LEVEL": "WARNING",
    }
    schemas = {}
    for name in SERVICES:
        env[f"{name.upper()}_LOG_LEVEL"] = "WARNING"
        env.pop(f"{name.upper()}_DATABASE_URL", None)
        if args.postgres:
            schemas[name] = f"bench_{name}_{uuid.uuid4().hex[:6]}"
            env[f"{name.upper()}_DATABASE_URL"] = args.postgres
            env[f"{name.upper()}_DB_SCHEMA"] = schemas[name]
    stack = RunningStack(env, ROOT)
    claims_url = f"http://127.0.0.1:{8002 + offset}"
    claims_db = str(tmp / "var" / "claims.db")
    results: dict[str, Any] = {"backend": "postgresql" if args.postgres else "sqlite", "phases": {}}
    try:
        try:
            stack.wait_ready()
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None
        procs = _processes(stack.pid)
        day = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
        steady_n = int(args.rate * args.seconds)
        with httpx.Client(timeout=300, headers=T) as http:
            warm = args.warm_up
            docs = _documents(http, f"http://127.0.0.1:{8009 + offset}", warm + steady_n + args.claims, day)
            warm_docs, docs = docs[:warm], docs[warm:]

            def times(ids: list[str]) -> dict[str, tuple[datetime, datetime]]:
                return _final_times(claims_db, args.postgres, schemas.get("claims", ""), ids)

            # 0. warm-up, not measured: a fresh process's first claims compile statements, open pooled
            # connections, fill caches and start the consumers' fetch loops (the first batch took 1.7 s where
            # later ones took 0.5-1 s; at 2,000 claims that one batch alone set the p99)
            warm_ids = _send_all(http, claims_url, warm_docs, args.batch, 1)
            if len(_wait_final(times, warm_ids, 120)) < len(warm_ids):
                raise SystemExit("the warm-up claims did not all reach a final state")
            if args.postgres:
                _analyze(args.postgres, schemas.values())
            cpu0 = {pid: cpu_seconds(pid) for pid in procs}
            pg_cpu0 = _postgres_cpu() if args.postgres else None

            # 1. steady offered load: one batch every batch/rate seconds, sent on time whether or not the
            # previous ones were answered (an open loop: a slow answer must not lower the load offered)
            start = time.monotonic()
            with ThreadPoolExecutor(max_workers=16) as pool:
                sent = []
                for i in range(0, steady_n, args.batch):
                    time.sleep(max(0.0, start + i / args.rate - time.monotonic()))
                    due = datetime.now(UTC)  # latency counts from here: time queued before the API too
                    sent.append((due, pool.submit(_send, http, claims_url, docs[i : i + args.batch])))
                offered_s = time.monotonic() - start
                due_of = {claim_id: due for due, future in sent for claim_id in future.result()}
            steady = list(due_of)
            got = _wait_final(times, steady, 300)
            lat = [(final - due_of[claim_id]).total_seconds() for claim_id, (_entry, final) in got.items()]
            results["phases"]["steady"] = {
                "offered_claims_per_s": round(steady_n / offered_s, 1),
                "claims": len(steady),
                "final": len(got),
                "p50_s": round(_pct(lat, 0.5), 3),
                "p99_s": round(_pct(lat, 0.99), 3),
            }
            # 2. saturation: everything at once, as fast as the API takes it from --senders clients at a time.
            # On PostgreSQL the statistics are refreshed first (the tables are ten times the size they were at
            # the warm-up's ANALYZE; autovacuum would have analyzed them again): planned on the warm-up's
            # statistics, a lookup of 100 patient accounts was a scan of all of them (8 ms a lookup, measured)
            if args.postgres:
                pg_before = _postgres_cpu()
                _analyze(args.postgres, schemas.values())
                if pg_cpu0 is not None and pg_before is not None:  # the ANALYZE's CPU is not the cycle's
                    pg_cpu0 += (_postgres_cpu() or pg_before) - pg_before
            burst = _send_all(http, claims_url, docs[steady_n : steady_n + args.claims], args.batch, args.senders)
            got = _wait_final(times, burst, 600)
            lat = [(b - a).total_seconds() for a, b in got.values()]
            first = min(a for a, _b in got.values())
            finals = sorted(b for _a, b in got.values())
            # the rate while the pipeline is full: from the 10th to the 90th percentile of final statuses,
            # without the filling (the first claims cross every stage alone) and the draining
            lo, hi = len(finals) // 10, len(finals) * 9 // 10
            results["phases"]["saturation"] = {
                "claims": len(burst),
                "final": len(got),
                "claims_per_s": round(len(got) / max((finals[-1] - first).total_seconds(), 1e-9), 1),
                "sustained_claims_per_s": round((hi - lo) / max((finals[hi] - finals[lo]).total_seconds(), 1e-9), 1),
                "p50_s": round(_pct(lat, 0.5), 3),
                "p99_s": round(_pct(lat, 0.99), 3),
            }
        elapsed = {pid: cpu_seconds(pid) - cpu0.get(pid, 0.0) for pid in procs}
        per: dict[str, dict[str, float]] = {}
        for pid, label in procs.items():
            row = per.setdefault(label, {"cpu_s": 0.0, "peak_rss_mib": 0.0})
            row["cpu_s"] = round(row["cpu_s"] + elapsed[pid], 1)
            row["peak_rss_mib"] = round(max(row["peak_rss_mib"], _peak_rss_mib(pid)), 0)
        pg_cpu = _postgres_cpu() if pg_cpu0 is not None else None
        if pg_cpu is not None and pg_cpu0 is not None:  # the database's share of the work, when it runs here
            per["postgresql-server"] = {"cpu_s": round(pg_cpu - pg_cpu0, 1), "peak_rss_mib": 0.0}
        results["processes"] = per
    except BaseException:
        print("stack output (last lines):\n" + b"".join(stack.lines[-60:]).decode(errors="replace"), file=sys.stderr)
        print(f"the stack's files (databases, logs, X12) are kept in {tmp}", file=sys.stderr)
        raise
    finally:
        stack.stop()
        if "processes" in results:  # the run got through: its files (~10 MB) go
            shutil.rmtree(tmp, ignore_errors=True)
        if args.postgres:
            for schema in schemas.values():
                subprocess.run(
                    ["psql", args.postgres.replace("+asyncpg", ""), "-qc", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
                    capture_output=True,
                )
    s, b = results["phases"]["steady"], results["phases"]["saturation"]
    print(f"backend: {results['backend']}")
    print(f"{'phase':<12} {'claims':>7} {'final':>7} {'claims/s':>10} {'sustained':>10} {'p50 s':>8} {'p99 s':>8}")
    for name, row, rate, middle in (
        ("steady", s, s["offered_claims_per_s"], "-"),
        ("saturation", b, b["claims_per_s"], b["sustained_claims_per_s"]),
    ):
        counts = f"{row['claims']:>7} {row['final']:>7}"
        print(f"{name:<12} {counts} {rate:>10} {middle:>10} {row['p50_s']:>8} {row['p99_s']:>8}")
    print(f"{'process':<20} {'CPU s':>8} {'peak RSS MiB':>13}")
    for label, row in sorted(results["processes"].items()):
        print(f"{label:<20} {row['cpu_s']:>8} {row['peak_rss_mib'] or '-':>13}")
    print("target: >= 500 claims/s through the whole cycle (stretch 1,000); p99 < 2 s at 200 claims/s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
