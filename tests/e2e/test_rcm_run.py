"""`rcm run` (what `make run` calls) as a user runs it: health within 60 s, ready, Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
from rcm_cli.broker import free_port
from rcm_cli.procs import RunningStack, descendants

ROOT = Path(__file__).resolve().parents[2]
PORTS = {"eligibility": 8001, "claims": 8002, "remittance": 8003, "denials": 8004}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def _wait_all(urls: list[str], deadline: float) -> dict[str, int]:
    status: dict[str, int] = {}
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            for url in urls:
                try:
                    status[url] = http.get(url).status_code
                except httpx.HTTPError:
                    status[url] = 0
            if all(code == 200 for code in status.values()):
                break
            time.sleep(0.5)
    return status


def test_rcm_run_serves_health_and_ready_then_stops_clean(tmp_path: Path) -> None:
    offset = free_port() % 1000 + 20000 - 8001  # ports nobody else uses in this run
    env = {
        **os.environ,
        "AUTH_MODE": "on",
        "RCM_VAR_DIR": str(tmp_path / "var"),
        "RCM_PORT_OFFSET": str(offset),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
    }
    for name in PORTS:
        env.pop(f"{name.upper()}_DATABASE_URL", None)
    stack = RunningStack(env, ROOT)
    try:
        start = time.monotonic()
        health = _wait_all([f"http://127.0.0.1:{p + offset}/healthz" for p in PORTS.values()], start + 60)
        assert set(health.values()) == {200}, health
        ready = _wait_all([f"http://127.0.0.1:{p + offset}/readyz" for p in PORTS.values()], start + 90)
        assert set(ready.values()) == {200}, ready
        with httpx.Client(timeout=5) as http:  # Prometheus: the APIs' /metrics, the workers' own ports
            for port in PORTS.values():
                assert "rcm_http_request_duration_seconds" in http.get(f"http://127.0.0.1:{port + offset}/metrics").text
                worker = http.get(f"http://127.0.0.1:{port + 1100 + offset}/metrics").text
                assert "# TYPE rcm_consumer_handler_duration_seconds histogram" in worker
        family = descendants(stack.pid)
        assert len(family) >= 9  # broker + 4 APIs + 4 workers (plus their own helpers)
        stack.wait_ready(start + 90 - time.monotonic())  # the supervisor's own probe runs every 0.5 s
        assert sorted(p.name for p in (tmp_path / "var").glob("*.db")) == [
            "claims.db",
            "denials.db",
            "eligibility.db",
            "remittance.db",
        ]
    finally:
        returncode = stack.stop()  # SIGINT: what Ctrl-C sends
    text = stack.output()
    assert returncode == 0, text[-3000:]
    assert "all services ready" in text and "stopped: all processes ended" in text
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in family if _alive(pid)], "processes left behind"
