"""Benchmark: parse a large 835 to typed claim payments; compare with x12sdk on the same file.

Builds a ~50 MiB 835 by replicating the claim loop of a clean public sample (pyx12's 835_mult_loops,
pyx12 PASS), then parses it in a fresh process per parser so that each peak RSS is its own.
Prints MiB/s, claims/s and peak RSS, and the ratio to x12sdk. Then `rcm x12 parse` end to end (process
start, parsing and every JSON line written to /dev/null), with its own MiB/s and peak RSS.
Usage: python bench/x12_835.py [--mib 50] [--command-only]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests/x12/samples/835/pyx12__pyx12__835_mult_loops.txt"


def build(target: Path, mib: float) -> int:
    text = SAMPLE.read_text().replace("\n", "").replace("\r", "")
    segs = [s for s in text.split("~") if s]
    first_clp = next(i for i, s in enumerate(segs) if s.startswith("CLP"))
    end = next(i for i, s in enumerate(segs) if s.startswith("SE"))
    head, claim, tail = segs[:first_clp], segs[first_clp:end], segs[end + 1 :]
    st_index = next(i for i, s in enumerate(head) if s.startswith("ST"))
    claim_text = "~".join(claim) + "~"
    n = max(1, int(mib * 1024 * 1024 / len(claim_text)))
    body = len(head) - st_index + n * len(claim)
    control = head[st_index].split("*")[2]
    with target.open("w") as fh:
        fh.write("~".join(head) + "~")
        for i in range(n):
            fh.write(claim_text.replace("CLP*2005555A*", f"CLP*C{i:09d}*", 1))
        fh.write(f"SE*{body + 1}*{control}~" + "~".join(tail) + "~")
    return n


def run_ours(path: str) -> dict[str, float]:
    from rcm_shared.x12.sets.x835 import ClaimPayment, iter_835

    start = time.perf_counter()
    claims = sum(1 for item in iter_835(path) if isinstance(item, ClaimPayment))
    return {"seconds": time.perf_counter() - start, "claims": claims}


def run_x12sdk(path: str) -> dict[str, float]:
    from x12sdk.io import X12ModelReader

    start = time.perf_counter()
    transactions = 0
    with X12ModelReader(path) as reader:
        for _model in reader.models():  # x12sdk builds one model per transaction set
            transactions += 1
    return {"seconds": time.perf_counter() - start, "claims": transactions}


def child(which: str, path: str) -> None:
    result = run_ours(path) if which == "ours" else run_x12sdk(path)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_command(path: Path) -> dict[str, float]:
    """`rcm x12 parse` as an operator runs it, its JSON lines to /dev/null: wall time and the peak RSS of
    that one process (wait4 gives the child's own usage, not the maximum over every child so far)."""
    command = [sys.executable, "-m", "rcm_cli.main", "x12", "parse", str(path)]
    with open(os.devnull, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"rcm x12 parse failed: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
    cpu = usage.ru_utime + usage.ru_stime  # on a shared machine the CPU time moves less than the wall time
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=float, default=50.0)
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--command-only", action="store_true", help="time `rcm x12 parse` only")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.835"
        n = build(path, args.mib)
        size = path.stat().st_size / 1024 / 1024
        print(f"835 of {size:.1f} MiB with {n:,} claim payments")
        results = {}
        for which in () if args.command_only else ("ours", "x12sdk"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", which, str(path)], capture_output=True, text=True
            )
            if out.returncode != 0:
                print(f"{which}: failed: {out.stderr.strip()[-500:]}")
                continue
            results[which] = json.loads(out.stdout.strip().splitlines()[-1])
        if results:
            print(f"{'parser':<8} {'MiB/s':>8} {'claims/s':>10} {'peak RSS MiB':>13} {'seconds':>8}")
        for which, r in results.items():
            rate, per_claim = size / r["seconds"], n / r["seconds"]
            print(f"{which:<8} {rate:>8.2f} {per_claim:>10,.0f} {r['peak_rss_mib']:>13.0f} {r['seconds']:>8.2f}")
        if "ours" in results and results["ours"]["claims"] != n:
            print(f"ERROR: ours read {results['ours']['claims']} claims, expected {n}")
            sys.exit(1)
        if len(results) == 2:
            print(f"ratio (x12sdk seconds / ours): {results['x12sdk']['seconds'] / results['ours']['seconds']:.1f}x")
        command = run_command(path)
        print(
            f"rcm x12 parse (JSON lines, end to end): {size / command['seconds']:.2f} MiB/s, "
            f"peak RSS {command['peak_rss_mib']:.0f} MiB, {command['seconds']:.2f} s "
            f"({size / command['cpu_seconds']:.2f} MiB per CPU second)"
        )
        print("targets: >= 20 MiB/s, >= 20x x12sdk, peak RSS < 150 MiB; the command >= 12 MiB/s, flat memory")


if __name__ == "__main__":
    main()
