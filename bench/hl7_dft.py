"""Benchmark: DFT^P03 messages through the HL7 listener (claims.listener) to stored charges, on one core.

The listener runs in this process, pinned to one CPU; a second process (pinned to another where there is
one) plays the interface engine: MLLP clients over TCP on 127.0.0.1, each sending a message and waiting
for its ACK before the next, as MLLP senders do. Each message is a visit's DFT^P03 with 3 FT1 charges
(one code from FT1-7 through the charge master) for a registered patient; every one must be answered AA
and its charges stored (counted at the end). Prints messages/s (wall) and per CPU second of the listener
process, for 1 connection and for several. Target: >= 500 messages/s on one core.
Usage: python bench/hl7_dft.py [--messages 3000] [--connections 1 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the builders package

FACILITY = "VALLEYEHR"
SPAWN = multiprocessing.get_context("spawn")  # no fork of a process running an event loop and DB threads


def _pin(cpu: int) -> None:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cpus:
        os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})


def _messages(run: str, first: int, count: int) -> list[bytes]:
    from builders.hl7 import dft, ft1

    day = datetime.now(UTC).date() - timedelta(days=3)
    out = []
    for i in range(first, first + count):
        out.append(
            dft(
                f"{run}-{i}",
                ft1(1, day, "OFFICE", procedure="99213", modifiers=["25"]),
                ft1(2, day, "83036", amount="45.50"),
                ft1(3, day, "36415", procedure="36415", amount="12.00", diagnoses=["E11.9"]),
                visit=f"{run}-V{i}",
            ).encode()
        )
    return out


def _client(port: int, run: str, first: int, count: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    _pin(1)
    from hl7.mllp import open_hl7_connection

    frames = _messages(run, first, count)

    async def go() -> None:
        reader, writer = await open_hl7_connection("127.0.0.1", port)
        bad = 0
        for frame in frames:
            writer.writeblock(frame)
            await writer.drain()
            if b"MSA|AA|" not in await reader.readblock():
                bad += 1
        writer.close()
        results.put(bad)

    asyncio.run(go())


async def _setup(url: str, schema: str) -> object:
    from builders.hl7 import adt
    from claims.config import get_settings
    from rcm_shared.db import create_engine
    from rcm_shared.testing import migrate
    from rcm_shared.unit import Actor, Units

    await migrate(ROOT / "services" / "claims", url, schema)
    os.environ.update(
        {"CLAIMS_DATABASE_URL": url, "CLAIMS_DB_SCHEMA": schema, "CLAIMS_HL7_SENDERS": json.dumps({FACILITY: "bench"})}
    )
    get_settings.cache_clear()
    engine = create_engine(url, schema=schema)
    from claims.models import bus
    from claims.use_cases.charge_master import add_item
    from claims.use_cases.hl7_messages import apply_adt

    units = Units(bus, source="/claims", engine=engine)
    async with units.write("bench", Actor("bench")) as unit:
        since = (datetime.now(UTC).date() - timedelta(days=400)).isoformat()
        for code, price in (("99213", "120.00"), ("83036", "45.50"), ("36415", "12.00")):
            await add_item(unit, {"code": code, "description": code, "price": price, "effective_from": since})
        from claims.adapters import hl7_in

        msg = hl7_in.read(adt("REG").encode())
        await apply_adt(unit, hl7_in.adt(msg, hl7_in.header(msg)))
    return engine


async def _run(url: str, schema: str, messages: int, connections: int) -> tuple[float, float, int]:
    from claims.config import get_settings
    from claims.listener import Listener
    from sqlalchemy import func, select

    engine = await _setup(url, schema)
    from rcm_shared.runtime import tune_gc

    listener = Listener(get_settings(), engine)  # type: ignore[arg-type]
    await listener.start("127.0.0.1", 0)
    tune_gc(get_settings().gc_gen0_threshold)  # as the listener process does once started (claims.listener.serve)
    run = uuid.uuid4().hex[:6]
    per = messages // connections
    # a warm-up connection first (imports, statement caches, the first pages of each table)
    warm: multiprocessing.Queue[int] = SPAWN.Queue()
    await _spawn([(listener.port, f"w{run}", 0, 50, warm)])
    results: multiprocessing.Queue[int] = SPAWN.Queue()
    cpu, wall = time.process_time(), time.perf_counter()
    await _spawn([(listener.port, run, k * per, per, results) for k in range(connections)])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    bad = sum(results.get() for _ in range(connections))
    from claims.models import hl7_charge

    async with engine.connect() as conn:  # type: ignore[attr-defined]
        stored = (await conn.execute(select(func.count()).select_from(hl7_charge))).scalar_one()
    await listener.close()
    await engine.dispose()  # type: ignore[attr-defined]
    expected = 3 * (per * connections + 50)
    if bad or stored != expected:
        raise SystemExit(f"{bad} messages not answered AA; {stored} charges stored of {expected}")
    return wall, cpu, per * connections


async def _spawn(jobs: list[tuple[int, str, int, int, multiprocessing.Queue]]) -> None:  # type: ignore[type-arg]
    procs = [SPAWN.Process(target=_client, args=job) for job in jobs]
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs):  # the listener answers on this loop meanwhile
        await asyncio.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    _pin(0)
    pg = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
    print(f"{'backend':<10} {'conns':>5} {'messages':>9} {'msg/s':>7} {'msg/CPU-s':>10} {'seconds':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("RCM_VAR_DIR", tmp)
        for connections in args.connections:
            backends = [("sqlite", f"sqlite+aiosqlite:///{tmp}/claims-{connections}.db")] + (
                [("postgres", pg)] if pg else []
            )
            for name, url in backends:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                wall, cpu, n = asyncio.run(_run(url, schema, args.messages, connections))
                print(f"{name:<10} {connections:>5} {n:>9,} {n / wall:>7,.0f} {n / cpu:>10,.0f} {wall:>8.2f}")
    if not pg:
        print("postgres: not measured (set BENCH_POSTGRES_URL or TEST_POSTGRES_URL)")
    print("target: >= 500 DFT messages/s through the listener to stored charges on one core")


if __name__ == "__main__":
    main()
