"""Crash the running stack and lose nothing: `rcm run` as a user runs it, then kill -9 a worker, an API and
the embedded broker (whose memory goes with it). The supervisor restarts them; the relays replay their
kept outbox into the empty broker; the consumers rejoin and their inboxes drop what they already handled.

Asserted from the services' own tables: every event the claims service committed, before and after the
crash, was handled exactly once by each of its consumers that wants it (denials passes over a claim's entry)
and read by all of them (their groups' offsets at the end of every partition), and the flow goes on after the
restart.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from builders.encounters import encounter
from rcm_cli.broker import free_port
from rcm_cli.procs import RunningStack, command_line, descendants

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from test_rcm_run import _wait_all  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "resilience"))
from test_chaos import lagging, wanted_by  # noqa: E402

PORTS = {"eligibility": 8001, "claims": 8002, "remittance": 8003, "denials": 8004}
CONSUMERS = ("remittance", "denials")  # of the claims service's status events
T = {"X-Tenant-ID": "org-1"}


def _pid_of(root_pid: int, needle: str) -> int:
    for pid in descendants(root_pid):
        if needle in command_line(pid):
            return pid
    raise AssertionError(f"no process matching {needle!r}")


def _broker_pid(root_pid: int) -> int | None:
    return next((pid for pid in descendants(root_pid) if "tansu" in command_line(pid)), None)


def _rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def _claim_events(var: Path, claim_id: str) -> list[tuple[Any, ...]]:
    """The claim's events as the claims service committed them: (event id, headers, payload)."""
    return _rows(var / "claims.db", "SELECT event_id, headers, payload FROM outbox_event WHERE key = ?", claim_id)


def _handled(var: Path, service: str) -> list[str]:
    return [r[0] for r in _rows(var / f"{service}.db", "SELECT event_id FROM inbox_event")]


def _wait_handled(var: Path, events: list[tuple[Any, ...]], timeout: float) -> None:
    """Until each consumer has handled the events it wants (denials passes over a claim's entry)."""
    deadline = time.monotonic() + timeout
    missing: dict[str, set[str]] = {}
    while time.monotonic() < deadline:
        missing = {s: wanted_by(s, events) - set(_handled(var, s)) for s in CONSUMERS}
        if not any(missing.values()):
            return
        time.sleep(0.5)
    raise AssertionError(f"events not handled after {timeout} s: {missing}")


def test_kill_a_worker_an_api_and_the_broker_and_lose_nothing(tmp_path: Path) -> None:
    offset = free_port() % 1000 + 22000 - 8001
    var = tmp_path / "var"
    env = {
        **os.environ,
        "AUTH_MODE": "off",
        "RCM_VAR_DIR": str(var),
        "RCM_PORT_OFFSET": str(offset),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "CLAIMS_DEFAULT_TENANT": "org-1",
    }
    for name in PORTS:
        env.pop(f"{name.upper()}_DATABASE_URL", None)
        env[f"{name.upper()}_RELAY_BROKER_CHECK_INTERVAL_S"] = "2"  # find the empty broker quickly
        env[f"{name.upper()}_CONSUMER_SESSION_TIMEOUT_MS"] = "2000"
    stack = RunningStack(env, ROOT)
    claims_url = f"http://127.0.0.1:{8002 + offset}"
    ready_urls = [f"http://127.0.0.1:{p + offset}/readyz" for p in PORTS.values()]
    try:
        ready = _wait_all(ready_urls, time.monotonic() + 120)
        assert set(ready.values()) == {200}, (ready, stack.output()[-3000:])
        with httpx.Client(timeout=30, headers=T) as http:
            first = http.post(f"{claims_url}/v1/claims", json=encounter())
            assert first.status_code == 201, first.text
        before = _claim_events(var, first.json()["id"])
        assert len(before) == 1  # entered, scrubbed clean (ready)
        _wait_handled(var, before, 60)

        # the crash: a worker, an API and the broker, with SIGKILL (no clean-up of any kind)
        broker = _pid_of(stack.pid, "tansu")
        for pid in (_pid_of(stack.pid, "remittance.worker"), _pid_of(stack.pid, "claims.main"), broker):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stack.said("broker exited"):
            time.sleep(0.2)
        # a new, empty broker: the supervisor starts it a moment after it reports the exit
        while time.monotonic() < deadline and _broker_pid(stack.pid) in (None, broker):
            time.sleep(0.2)
        assert _broker_pid(stack.pid) not in (None, broker), stack.output()[-3000:]
        ready = _wait_all(ready_urls, time.monotonic() + 120)
        assert set(ready.values()) == {200}, (ready, stack.output()[-3000:])

        with httpx.Client(timeout=30, headers=T) as http:  # the flow goes on
            second = http.post(f"{claims_url}/v1/claims", json=encounter(**{"subscriber.member_id": "W2"}))
            assert second.status_code == 201, second.text
        after = _claim_events(var, second.json()["id"])
        _wait_handled(var, after, 90)
        # the replay reached the new broker too: every kept event of the claims service is in it again
        replayed = _rows(var / "claims.db", "SELECT count(*) FROM outbox_event WHERE publish_count >= 2")[0][0]
        assert replayed >= len(before), replayed
        # and each consumer handled each event it wants exactly once: no event twice in an inbox, none missing;
        # and read them all (its group's offsets at the end of every partition)
        events = before + after
        ids = {event_id for event_id, _headers, _payload in events}
        for service in CONSUMERS:
            handled = [e for e in _handled(var, service) if e in ids]
            assert sorted(handled) == sorted(wanted_by(service, events)), service
        # remittance keeps every claim's billed lines, denials prices them against the payer's contract
        assert wanted_by("remittance", events) == ids and wanted_by("denials", events) == ids
        deadline = time.monotonic() + 60
        while any((lag := lagging(env["KAFKA_BOOTSTRAP_SERVERS"])).values()):
            assert time.monotonic() < deadline, lag
            time.sleep(0.5)
        billed = _rows(var / "remittance.db", "SELECT claim_id, count(*) FROM billed_claim GROUP BY claim_id")
        assert sorted(billed) == sorted([(first.json()["id"], 1), (second.json()["id"], 1)])
    finally:
        returncode = stack.stop()
    text = stack.output()
    for crashed in ("broker exited", "remittance-worker exited", "claims-api exited"):
        assert crashed in text, text[-3000:]
    assert returncode == 0, text[-3000:]
