"""Benchmark: write 100,000 837P claims (typed models -> X12 text); prints claims/s and MiB/s.

The claims vary (ids, charges, 1-4 lines, a dependent every third claim) and are built before the
clock starts; the clock covers build_837 + envelope rendering to a file. Target: >= 20,000 claims/s.
Usage: python bench/x12_837.py [--claims 100000] [--per-file 5000]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the builders package
from builders.x837 import professional_claims  # noqa: E402
from rcm_shared.x12.sets.x837 import Receiver, Submitter, build_837  # noqa: E402
from rcm_shared.x12.writer import InterchangeWriter, MemoryControlNumbers, Party  # noqa: E402


def make_claims(n: int) -> list:  # type: ignore[type-arg]
    templates = professional_claims()
    out = []
    for i in range(n):
        c = copy.deepcopy(templates[i % 4])  # single, multi-line, dependent, secondary
        c.claim_id = f"B{i:09d}"
        c.total_charge = sum((line.charge for line in c.lines), Decimal(0))
        out.append(c)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--per-file", type=int, default=5_000)
    args = parser.parse_args()
    claims = make_claims(args.claims)
    numbers = MemoryControlNumbers()
    submitter = Submitter("VALLEY FAMILY CLINIC", "SUB123", "BILLING OFFICE", "2175551234")
    receiver = Receiver("ACME CLEARINGHOUSE", "CH999")
    written = 0
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for k in range(0, len(claims), args.per_file):
            ts = build_837(
                claims[k : k + args.per_file],
                submitter=submitter,
                receiver=receiver,
                reference=f"B{k}",
                created=date(2026, 11, 1),
            )
            w = InterchangeWriter(
                sender=Party("ZZ", "SUB123", "SUB123"),
                receiver=Party("ZZ", "CH999", "CH999"),
                functional_id="HC",
                version=ts.implementation,
                numbers=numbers,
                now=datetime(2026, 11, 1, 12, 0),
            )
            path = Path(tmp) / f"batch{k}.837"
            with path.open("w") as fh:
                for chunk in w.iter_render([ts]):
                    fh.write(chunk)
            written += path.stat().st_size
        seconds = time.perf_counter() - start
    print(f"wrote {len(claims):,} 837P claims in {len(range(0, len(claims), args.per_file))} interchanges")
    print(f"{'claims/s':>10} {'MiB/s':>8} {'seconds':>8}")
    print(f"{len(claims) / seconds:>10,.0f} {written / 1048576 / seconds:>8.2f} {seconds:>8.2f}")
    print("target: >= 20,000 claims/s")


if __name__ == "__main__":
    main()
