"""`rcm run` (what `make run` calls) as a user runs it: health within 60 s, ready, Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from rcm_cli.broker import free_port
from rcm_cli.procs import descendants

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
    proc = subprocess.Popen(
        [sys.executable, "-m", "rcm_cli.main", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, b"")), daemon=True)  # type: ignore[union-attr]
    reader.start()
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
        family = descendants(proc.pid)
        assert len(family) >= 9  # broker + 4 APIs + 4 workers (plus their own helpers)
        while not any(b"all services ready" in line for line in lines) and time.monotonic() < start + 90:
            time.sleep(0.2)  # the supervisor's own probe runs every 0.5 s
        assert sorted(p.name for p in (tmp_path / "var").glob("*.db")) == [
            "claims.db",
            "denials.db",
            "eligibility.db",
            "remittance.db",
        ]
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        proc.wait(timeout=60)
        reader.join(timeout=5)
    text = b"".join(lines).decode()
    assert proc.returncode == 0, text[-3000:]
    assert "all services ready" in text and "stopped: all processes ended" in text
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in family if _alive(pid)], "processes left behind"
