"""Benchmark: post an 835 with 100,000 claim payments end to end (parse, balance, ledger rows, events).

Each run happens in a fresh process (so peak RSS is its own) against a fresh database: SQLite, and
PostgreSQL when BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) is set. Billed claims are seeded first (not
timed) so line matching runs as in production. Prints claim payments/s and peak RSS, at two file sizes
to show memory stays flat in file size. Target: >= 5,000 claim payments/s on SQLite and on PostgreSQL.
Usage: python bench/remittance_post.py [--claims 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_file(path: Path, n: int) -> None:
    from rcm_shared.x12.sets.x835 import (
        Adjustment,
        ClaimPayment,
        PaymentHeader,
        Procedure,
        ServicePayment,
        build_835,
    )
    from rcm_shared.x12.writer import InterchangeWriter, MemoryControlNumbers, Party

    claims = []
    for i in range(n):
        lines = [
            ServicePayment(
                Procedure("HC", "99213"),
                D("125.00"),
                D("80.00"),
                units=D(1),
                service_date=date(2026, 10, 1),
                line_control_number=f"B{i:09d}-1",
                adjustments=[Adjustment("CO", "45", D("25.00")), Adjustment("PR", "2", D("20.00"))],
                amounts={"B6": D("100.00")},
            ),
            ServicePayment(
                Procedure("HC", "85025"),
                D("40.00"),
                D("30.00"),
                units=D(1),
                service_date=date(2026, 10, 1),
                line_control_number=f"B{i:09d}-2",
                adjustments=[Adjustment("CO", "45", D("10.00"))],
            ),
        ]
        claims.append(
            ClaimPayment(
                f"B{i:09d}",
                "1",
                D("165.00"),
                D("110.00"),
                D("20.00"),
                "12",
                f"ICN{i:010d}",
                "11",
                "1",
                patient={"last": "DOE", "first": "JANE", "id_qualifier": "MI", "id": f"M{i:08d}"},
                services=lines,
            )
        )
    header = PaymentHeader(
        "",
        "I",
        D("110.00") * n,
        "C",
        "ACH",
        date(2026, 11, 20),
        "EFTBENCH",
        "1512345678",
        "ACME HEALTH PLAN",
        "ACME01",
        "VALLEY CLINIC",
        "XX",
        "1234567893",
    )
    w = InterchangeWriter(
        sender=Party("ZZ", "ACME", "ACME"),
        receiver=Party("ZZ", "CLINIC", "CLINIC"),
        functional_id="HP",
        version="005010X221A1",
        numbers=MemoryControlNumbers(),
    )
    with path.open("w") as fh:
        for chunk in w.iter_render([build_835(header, claims)]):
            fh.write(chunk)


async def child(url: str, schema: str, path: str, n: int) -> dict[str, float]:
    from rcm_shared.db import create_engine, ensure_schema
    from rcm_shared.runtime import tune_gc
    from rcm_shared.testing import migrate
    from remittance.config import RemittanceSettings
    from remittance.models import billed_claim, billed_line
    from remittance.use_cases import service_units
    from remittance.use_cases.ingestion import ingest_835
    from sqlalchemy import insert

    await migrate(ROOT / "services" / "remittance", url, schema)
    engine = create_engine(url, schema=schema)
    await ensure_schema(engine, schema)
    tune_gc(RemittanceSettings().gc_gen0_threshold)  # as the remittance API and worker do once started
    now = datetime.now(UTC)
    async with engine.begin() as conn:  # seed what claims told us it billed (not timed)
        for start in range(0, n, 5000):
            ids = range(start, min(n, start + 5000))
            await conn.execute(
                insert(billed_claim),
                [
                    {
                        "id": i + 1,
                        "tenant_id": "bench",
                        "claim_id": f"B{i:09d}",
                        "payer_id": "ACME01",
                        "charge_cents": 16500,
                        "state": "submitted",
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(billed_line),
                [
                    {
                        "billed_claim_id": i + 1,
                        "line_control_number": f"B{i:09d}-{k}",
                        "procedure_code": code,
                        "service_date": date(2026, 10, 1),
                        "units": "1",
                        "charge_cents": cents,
                    }
                    for i in ids
                    for k, code, cents in ((1, "99213", 12500), (2, "85025", 4000))
                ],
            )
    start = time.perf_counter()
    (result,) = await ingest_835(service_units(engine), Path(path), tenant="bench", batch_size=1000)
    seconds = time.perf_counter() - start
    assert result.status == "posted" and result.claim_count == n, result
    await engine.dispose()
    return {"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--child", nargs=4)
    parser.add_argument("--build", nargs=2)
    args = parser.parse_args()
    if args.build:  # in its own process, so that the measured processes start small
        build_file(Path(args.build[0]), int(args.build[1]))
        return
    if args.child:
        url, schema, path, n = args.child
        print(json.dumps(asyncio.run(child(url, schema, path, int(n)))))
        return
    pg = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
    sizes = sorted({max(1000, args.claims // 5), args.claims})
    print(f"{'backend':<10} {'claims':>8} {'file MiB':>8} {'claims/s':>10} {'seconds':>8} {'peak RSS MiB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"bench{n}.835"
            subprocess.run([sys.executable, __file__, "--build", str(path), str(n)], check=True)
            mib = path.stat().st_size / 1048576
            backends = [("sqlite", f"sqlite+aiosqlite:///{tmp}/bench{n}.db")] + ([("postgres", pg)] if pg else [])
            for name, url in backends:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                out = subprocess.run(
                    [sys.executable, __file__, "--child", url, schema, str(path), str(n)],
                    capture_output=True,
                    text=True,
                )
                if out.returncode != 0:
                    print(f"{name}: failed: {out.stderr.strip()[-800:]}")
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{name:<10} {n:>8,} {mib:>8.1f} {n / r['seconds']:>10,.0f} {r['seconds']:>8.2f} "
                    f"{r['peak_rss_mib']:>13.0f}"
                )
                if name == "postgres":
                    subprocess.run(
                        ["psql", pg.replace("+asyncpg", ""), "-qc", f"DROP SCHEMA {schema} CASCADE"],
                        capture_output=True,
                    )
    if not pg:
        print("postgres: not measured (set BENCH_POSTGRES_URL or TEST_POSTGRES_URL)")
    print("target: >= 5,000 claim payments/s on SQLite and on PostgreSQL; memory flat in file size")


if __name__ == "__main__":
    main()
