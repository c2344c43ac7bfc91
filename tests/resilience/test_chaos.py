"""Chaos run: a seeded day flows through `rcm run` while its processes are killed, the broker loses its memory
and (on PostgreSQL) a service loses its database connections - and nothing is lost or doubled.

While `rcm demo` pushes the day through the whole cycle (eligibility, charge entry, 837s, the sandbox's 999s,
277CAs and 835s, posting, denials, appeals, corrections, follow-up, statements):
- every few seconds a random worker is killed with SIGKILL - and a random API too while the demo only reads
  (phase "waiting-on-payers", announced in RCM_DEMO_PHASE_FILE; a write cut off mid-way could have been
  applied, so the demo does not resend it and the API kills stay out of its writes); a process is killed
  again only once it has run a calm minute since its restart (the supervisor's ``CALM_SECONDS``): killing it
  faster is a crash loop, which the supervisor answers with a backoff growing to 30 s a restart - an outage
  longer than the demo's clients wait (``RCM_DEMO_RETRY_SECONDS``), not a fault to ride through;
- once, the embedded broker is killed: topics, messages and offsets are gone, the relays replay their kept
  outboxes into the new one and the consumers' inboxes drop what they had already handled;
- on PostgreSQL, once, every connection of the remittance service (API and worker, found by their
  application_name) is terminated again and again for a few seconds, in the middle of posting.

Asserted at the end: the demo's own checks (every claim in the state its scenario dictates, the money
accounted for to the cent), the books across the services (each claim payment balances, claims and
remittance agree, no posting twice, each denial once), every remittance posted and balanced
(BPR02 = paid - PLB), no claim transition twice, every event each service committed handled by each of its
consumers exactly once (those a consumer has no use for, such as a claim paid for denials, passed over by it:
no inbox row), and read by all of them (each group's committed offsets at the end of every partition), no dead
letter. The counts are printed.

Size: RCM_CHAOS_PATIENTS (default 150, as in CI); the full run is RCM_CHAOS_PATIENTS=5000.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from rcm_cli.demo import WAITING
from rcm_cli.procs import RunningStack, command_line, descendants
from rcm_cli.supervisor import CALM_SECONDS
from rcm_shared.db import create_engine
from rcm_shared.events import Envelope
from rcm_shared.topics import CATALOG, consumed_by
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from test_demo_cycle import (  # noqa: E402
    SERVICES,
    _check_books,
    _drop,
    _pages,
    _stack_env,
    _token,
    released_imbalance,
)

PATIENTS = int(os.environ.get("RCM_CHAOS_PATIENTS", "150"))
# One organization: the faults land while the demo only reads (its waiting phase), and with a second day
# beside it that phase lasts only while both wait - too short for the plan of faults. Two organizations side
# by side are the e2e test's (tests/e2e/test_demo_cycle.py).
DEMO_ARGS = ("--patients", str(PATIENTS), "--second-patients", "0", "--seed", "5")
KILL_EVERY = (2.0, 5.0)  # seconds between two kills, drawn at random
WAITING_TICK = (1.0, 3.0)  # while the demo waits on the payers


class Chaos(threading.Thread):
    """Kills processes of the stack at random (seeded) until stopped; counts what it did."""

    def __init__(self, stack_pid: int, phase_file: Path, seed: int, pg: tuple[str, str] | None) -> None:
        super().__init__(daemon=True)
        self.stack_pid = stack_pid
        self.phase_file = phase_file
        self.rng = random.Random(seed)
        self.pg = pg  # (url, schema of the service whose connections are dropped)
        self.stop = threading.Event()
        self.kills: Counter[str] = Counter()
        self.killed_at: dict[str, float] = {}
        self.broker_restarts = 0
        self.connections_dropped = 0
        self.errors: list[str] = []

    def phase(self) -> str:
        try:
            return self.phase_file.read_text()
        except OSError:
            return ""

    def _pid(self, needle: str) -> int | None:
        for pid in descendants(self.stack_pid):
            if needle in command_line(pid):
                return pid
        return None

    def _calm(self, label: str) -> bool:
        return time.monotonic() - self.killed_at.get(label, float("-inf")) > CALM_SECONDS

    def _kill(self, needle: str, label: str) -> bool:
        pid = self._pid(needle)
        if pid is None:  # being restarted right now
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        self.kills[label] += 1
        self.killed_at[label] = time.monotonic()
        return True

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:
            self.errors.append(repr(exc))

    def _run(self) -> None:
        # While the demo waits on the payers (the flow is busiest and the demo only reads), the first ticks
        # carry out a fixed plan - an API, the broker, the database connections (PostgreSQL), an API - so
        # that each fault happens however short the day; every other tick kills a random worker or API.
        plan = ["api", "broker", "database" if self.pg else "api", "api"]
        while not self.stop.wait(self.rng.uniform(*(WAITING_TICK if self.phase() == WAITING else KILL_EVERY))):
            phase = self.phase()
            if not phase:
                continue  # the demo has not started yet
            step = plan.pop(0) if phase == WAITING and plan else "random"
            if step == "broker":
                self.broker_restarts += self._kill("tansu", "broker")
            elif step == "database":
                assert self.pg is not None
                # only while the demo reads, as for the API kills: a write whose connection is cut is refused
                # (503) and the demo does not resend it (it cannot know whether the write was applied)
                self.connections_dropped = asyncio.run(
                    _drop_connections(*self.pg, seconds=4.0, while_=lambda: self.phase() == WAITING)
                )
            else:
                kind = "api" if phase == WAITING and (step == "api" or self.rng.random() < 0.4) else "worker"
                calm = [s for s in SERVICES if self._calm(f"{s}-{kind}")]
                if calm:
                    service = self.rng.choice(calm)
                    self._kill(f"{service}.{'main' if kind == 'api' else 'worker'}", f"{service}-{kind}")


async def _drop_connections(url: str, schema: str, seconds: float, while_: Callable[[], bool]) -> int:
    """Terminate the service's connections (its pool reconnects) every 0.2 s for ``seconds``, and not once
    ``while_()`` is false (the demo has moved on from reading)."""
    engine = create_engine(url, schema="public")
    dropped = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and while_():
            async with engine.begin() as conn:
                result = await conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": f"rcm-{schema}"[:63]},
                )
                dropped += int(result.scalar() or 0)
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    return dropped


class Tables:
    """Read-only SQL over each service's own tables (its SQLite file or its PostgreSQL schema)."""

    def __init__(self, var: Path, pg_url: str | None, schemas: dict[str, str]) -> None:
        self.var, self.pg_url, self.schemas = var, pg_url, schemas

    def rows(self, service: str, sql: str) -> list[tuple[Any, ...]]:
        """``sql`` names tables as ``{t}name``."""
        if self.pg_url is None:
            import sqlite3

            with sqlite3.connect(f"file:{self.var / (service + '.db')}?mode=ro", uri=True, timeout=30) as conn:
                return conn.execute(sql.format(t="")).fetchall()
        return asyncio.run(self._pg(sql.format(t=f'"{self.schemas[service]}".')))

    async def _pg(self, sql: str) -> list[tuple[Any, ...]]:
        assert self.pg_url is not None
        engine = create_engine(self.pg_url, schema="public")
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(text(sql))).all()]
        finally:
            await engine.dispose()


def _unhandled(tables: Tables) -> dict[str, set[str]]:
    """(consumer service, topic) -> committed events of that topic not (yet) in the consumer's inbox, of those
    the consumer's handlers want (the others it passes over: no inbox row; ``lagging`` shows it read them)."""
    missing: dict[str, set[str]] = {}
    for spec in CATALOG:
        if not spec.consumers:
            continue
        events = tables.rows(
            spec.producer,
            f"SELECT event_id, CAST(headers AS TEXT), payload FROM {{t}}outbox_event WHERE topic = '{spec.name}'",
        )
        for consumer in spec.consumers:
            wanted = wanted_by(consumer, events)
            handled = {
                r[0]
                for r in tables.rows(consumer, f"SELECT event_id FROM {{t}}inbox_event WHERE topic = '{spec.name}'")
            }
            missing[f"{consumer} <- {spec.name}"] = wanted - handled
    return missing


def wanted_by(consumer: str, events: list[tuple[Any, ...]]) -> set[str]:
    """The ids of the events (outbox rows: event id, headers as JSON text, payload) the consumer's handlers
    want, that is all but those they pass over (``HandlerRegistry.wanted``)."""
    registry = importlib.import_module(f"{consumer}.consumers").registry
    return {
        event_id
        for event_id, headers, payload in events
        if registry.wanted(Envelope.from_kafka([(k, v.encode()) for k, v in json.loads(headers)], payload.encode()))
    }


def lagging(bootstrap: str) -> dict[str, int]:
    """(consumer group, topic) -> records not yet read and committed (or committed past the end), over the
    topic's partitions. The end of a partition is the high-water mark of a fetch from the group's committed
    offset (the embedded broker's ListOffsets can tell an end short of the last record's)."""

    async def lags() -> dict[str, int]:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        out: dict[str, int] = {}
        for service in SERVICES:
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"{service}-worker")
            await consumer.start()
            try:
                await consumer.topics()  # the cluster's metadata: the topics' partitions
                for spec in consumed_by(service):
                    partitions = [TopicPartition(spec.name, p) for p in consumer.partitions_for_topic(spec.name) or ()]
                    committed = {tp: await consumer.committed(tp) or 0 for tp in partitions}
                    consumer.assign(partitions)
                    for tp, offset in committed.items():
                        consumer.seek(tp, offset)
                    deadline = time.monotonic() + 10
                    while any(consumer.highwater(tp) is None for tp in partitions):
                        assert time.monotonic() < deadline, f"no fetch answer for {spec.name}"
                        await consumer.getmany(timeout_ms=200)
                    out[f"{service}-worker <- {spec.name}"] = sum(  # behind, or past the end: both count
                        abs((consumer.highwater(tp) or 0) - committed[tp]) for tp in partitions
                    )
            finally:
                await consumer.stop()
        return out

    return asyncio.run(lags())


def _run_chaos(tmp: Path, pg_url: str | None) -> None:
    env, offset, schema_list = _stack_env(tmp, pg_url)
    schemas = dict(zip(SERVICES, schema_list, strict=True)) if pg_url else {}
    var = tmp / "var"
    phase_file = tmp / "demo.phase"
    env.update(RCM_DEMO_PHASE_FILE=str(phase_file), SANDBOX_DELAY_SCALE="0.2")
    env.pop("RCM_DEMO_CANARY", None)
    for name in SERVICES:
        env[f"{name.upper()}_RELAY_BROKER_CHECK_INTERVAL_S"] = "2"  # find the empty broker quickly
        env[f"{name.upper()}_CONSUMER_SESSION_TIMEOUT_MS"] = "2000"
    stack = RunningStack(env, ROOT)
    chaos = Chaos(stack.pid, phase_file, seed=7, pg=(pg_url, schemas["remittance"]) if pg_url else None)
    tables = Tables(var, pg_url, schemas)
    try:
        stack.wait_ready()
        out = tmp / "demo.json"
        timeout = max(240, PATIENTS)  # seconds; the full run needs about one per claim on a 2-core machine
        started = time.monotonic()
        chaos.start()
        demo = subprocess.run(
            [sys.executable, "-m", "rcm_cli.main", "demo", *DEMO_ARGS, "--timeout", str(timeout), "--json", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout * 3,
        )
        chaos.stop.set()
        chaos.join(timeout=30)
        took = time.monotonic() - started
        assert not chaos.errors, chaos.errors
        assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-3000:]
        summary = json.loads(out.read_text())
        assert not summary["mismatches"], summary["mismatches"][:10]
        assert summary["money"]["unaccounted_cents"] == 0, summary["money"]

        # the consumers have caught up: every committed event handled by each of its consumers that wants it,
        # and read by all of them (their groups' offsets at the end of every partition)
        deadline = time.monotonic() + 120
        while any((missing := _unhandled(tables)).values()):
            assert time.monotonic() < deadline, {k: sorted(v)[:3] for k, v in missing.items() if v}
            time.sleep(1.0)
        while any((lag := lagging(env["KAFKA_BOOTSTRAP_SERVERS"])).values()):
            assert time.monotonic() < deadline, lag
            time.sleep(1.0)
        figures = _check_books(offset, summary, var)
        figures.update(_check_no_doubles(tables, offset, var))
        figures["dead letters"] = _dead_letters(var)
        assert figures["dead letters"] == 0, "dead-lettered events: see the workers' logs"
    finally:
        chaos.stop.set()
        stack.stop()
        if pg_url and schema_list:
            _drop(pg_url, schema_list)
    text_ = stack.output()
    restarts = text_.count("; restarting")
    print(
        f"\n{'postgres' if pg_url else 'sqlite'}: {PATIENTS} patients, demo {took:.0f} s; states {summary['states']}\n"
        f"  chaos: kills {dict(sorted(chaos.kills.items()))}, broker restarts {chaos.broker_restarts}, "
        f"database connections terminated {chaos.connections_dropped}, supervisor restarts {restarts}\n"
        f"  {figures}"
    )
    assert sum(chaos.kills.values()) >= 3 and chaos.broker_restarts == 1, chaos.kills
    assert any(k.endswith("-api") for k in chaos.kills), "no API was killed"
    if pg_url:
        assert chaos.connections_dropped > 0
    assert "broker exited" in text_


def _check_no_doubles(tables: Tables, offset: int, var: Path) -> dict[str, int]:
    figures: dict[str, int] = {}
    # the same transition for the same cause (actor: a user, or the event that caused it; reason: the file,
    # interchange or payment) twice would be a redelivery applied twice; a claim rejected, fixed and sent
    # again moves ready -> submitted twice, for two interchanges
    transitions = tables.rows("claims", "SELECT claim_id, from_state, to_state, actor, reason FROM {t}claim_transition")
    doubled = [k for k, n in Counter(transitions).items() if n > 1]
    assert not doubled, f"claim transitions recorded twice: {doubled[:5]}"
    figures["claim transitions"] = len(transitions)
    for service in SERVICES:
        rows = tables.rows(service, "SELECT consumer, event_id FROM {t}inbox_event")
        assert len(rows) == len(set(rows)), f"{service}: an event in the inbox twice"
        figures[f"{service}: events handled (inbox)"] = len(rows)
        published = tables.rows(service, "SELECT count(*), sum(publish_count) FROM {t}outbox_event")[0]
        figures[f"{service}: events committed (outbox)"] = int(published[0])
        figures[f"{service}: publishes, replays included"] = int(published[1] or 0)
    # every remittance posted, and balanced: BPR02 = the claim payments - the provider-level adjustments,
    # to the cent; a held one an operator released is off by exactly the imbalance its hold recorded
    remit_url = f"http://127.0.0.1:{8003 + offset}"
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {_token(offset, var)}"}) as http:
        for r in _pages(http, f"{remit_url}/v1/remittances"):
            assert r["status"] == "posted", r
            payments = _pages(http, f"{remit_url}/v1/remittances/{r['id']}/claims")
            assert len(payments) == r["claim_count"], r
            paid = sum(p["paid_cents"] for p in payments)
            assert r["total_paid_cents"] == paid - r["plb_total_cents"] + released_imbalance(r), r
            figures["remittances balanced"] = figures.get("remittances balanced", 0) + 1
            figures["released after review"] = figures.get("released after review", 0) + bool(r["review_decision"])
    return figures


def _dead_letters(var: Path) -> int:
    """Dead letters as the workers logged them (the embedded broker's DLQ topics die with a broker restart)."""
    return sum(log.read_text(errors="replace").count("dead-lettered") for log in (var / "log").glob("*worker*.log"))


@pytest.mark.timeout(600 + 3 * PATIENTS)
def test_chaos_on_sqlite(tmp_path: Path) -> None:
    _run_chaos(tmp_path, None)


@pytest.mark.postgres
@pytest.mark.timeout(600 + 3 * PATIENTS)
def test_chaos_on_postgres(tmp_path: Path, postgres_base_url: str | None) -> None:
    from rcm_shared.testing import need_postgres

    _run_chaos(tmp_path, need_postgres(postgres_base_url))
