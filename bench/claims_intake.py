"""Benchmark: claims through charge entry + scrub + 837 build, in batches, on a fresh SQLite database
(and PostgreSQL when BENCH_POSTGRES_URL or TEST_POSTGRES_URL is set).

Each claim is stored (document, transitions, outbox events) and scrubbed (ICD-10-CM bundle, NCCI/MUE,
duplicates, payer rules); each batch of ready claims is then grouped into an 837 interchange and recorded
for delivery. Prints claims/s. Target: >= 1,000 claims/s. Usage: python bench/claims_intake.py [--claims 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the builders package


async def run(url: str, schema: str, n: int, batch: int) -> float:
    from builders.encounters import encounter
    from claims.adapters.scrub_resources import load_resources
    from claims.config import ClaimsSettings
    from claims.domain.encounter import ClaimCreate
    from claims.models import bus
    from claims.use_cases.charge_entry import create_claims
    from claims.use_cases.submission import prepare
    from rcm_shared.db import create_engine
    from rcm_shared.testing import migrate
    from rcm_shared.unit import Actor, Units

    await migrate(ROOT / "services" / "claims", url, schema)
    engine = create_engine(url, schema=schema)
    settings = ClaimsSettings()
    resources = load_resources(settings)
    docs = [ClaimCreate.model_validate(encounter(**{"subscriber.member_id": f"M{i:07d}"})) for i in range(n)]
    resources.context()  # warm the ICD-10-CM bundle before the clock starts
    from claims.domain import codesets

    codesets.icd_status("E119")
    units = Units(bus, source="/claims")
    start = time.perf_counter()
    for k in range(0, n, batch):
        async with engine.begin() as conn:
            unit = units.on(conn, "bench", Actor("bench"))
            ids = [row["id"] for row in await create_claims(unit, docs[k : k + batch], resources.context())]
            await prepare(unit, settings, ids, "filedrop")
    seconds = time.perf_counter() - start
    await engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    pg = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
    print(f"{'backend':<10} {'claims':>8} {'batch':>6} {'claims/s':>10} {'seconds':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", f"sqlite+aiosqlite:///{tmp}/claims.db")] + ([("postgres", pg)] if pg else [])
        for name, url in backends:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            seconds = asyncio.run(run(url, schema, args.claims, args.batch))
            print(f"{name:<10} {args.claims:>8,} {args.batch:>6} {args.claims / seconds:>10,.0f} {seconds:>8.2f}")
    if not pg:
        print("postgres: not measured (set BENCH_POSTGRES_URL or TEST_POSTGRES_URL)")
    print("target: >= 1,000 claims/s through entry + scrub + 837 build")


if __name__ == "__main__":
    main()
