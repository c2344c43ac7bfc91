"""`rcm run`: the embedded stack (broker, migrations, four APIs and four workers, claims' HL7 listener) under
one supervisor.

Ctrl-C (or SIGTERM) stops the services first (SIGTERM, then SIGKILL after a grace period) and the
broker last; every child also gets PR_SET_PDEATHSIG so none outlives a supervisor that was killed.
A child that exits on its own is restarted with backoff; so is the embedded broker, whose memory is then
empty: its topics are declared again and every worker's relay re-publishes its kept outbox into it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import httpx
from rcm_shared.bus.admin import TopicRequest, ensure_topics
from rcm_shared.config import KafkaSettings
from rcm_shared.topics import CATALOG

from rcm_cli.broker import EmbeddedBroker, die_with_parent
from rcm_cli.issuer import Issuer
from rcm_cli.services import SERVICES, ServiceInfo

GRACE_SECONDS = 10.0
CALM_SECONDS = 60.0


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    health_url: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    restarts: int = 0
    crash_streak: int = 0  # exits without a calm minute between them: the restart backoff grows with it
    started_at: float = 0.0
    next_restart: float = 0.0
    state: str = "starting"
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self, env: dict[str, str], cwd: Path) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env={**env, **self.extra_env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            process_group=0,  # Ctrl-C reaches only the supervisor, which stops children in order
        )
        self.started_at = time.monotonic()
        self.state = "starting"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def say(text: str) -> None:
    """One or more supervisor lines, each stamped with the time of day in UTC, as the services' own log lines
    (var/log/*.log) are, so that a state change can be found in the logs; blank lines stay blank."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print("\n".join(f"{stamp} {line}" if line else "" for line in text.split("\n")), flush=True)


def all_topics(kafka: KafkaSettings) -> list[TopicRequest]:
    topics = []
    for t in CATALOG:
        topics.append(TopicRequest(kafka.topic_prefix + t.name, t.partitions, t.config))
        if t.consumers:
            topics.append(TopicRequest(kafka.topic_prefix + t.dlq, 1))
    return topics


def migrate_all(root: Path, env: dict[str, str], python: str, services: tuple[ServiceInfo, ...] = SERVICES) -> None:
    for svc in services:
        ini = root / "services" / svc.name / "alembic.ini"
        result = subprocess.run(
            [python, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"migrations of {svc.name} failed:\n{result.stderr.strip()[-2000:]}")
        say(f"  migrated {svc.name}")


SANDBOX_PORT = 8009


def sandbox_port() -> int:
    return SANDBOX_PORT + int(os.environ.get("RCM_PORT_OFFSET", "0"))


ISSUER_PORT = 8010


def issuer_port() -> int:
    return ISSUER_PORT + int(os.environ.get("RCM_PORT_OFFSET", "0"))


def _uvicorn(python: str, factory: str, host: str, port: int) -> list[str]:
    return [python, "-m", "uvicorn", "--factory", factory, "--host", host, "--port", str(port), "--no-access-log"]


def _children(root: Path, var: Path, python: str) -> list[Child]:
    host = os.environ.get("RCM_HOST", "127.0.0.1")
    port = sandbox_port()
    children: list[Child] = [
        Child(
            "issuer",
            _uvicorn(python, "rcm_cli.issuer:create_app", host, issuer_port()),
            var / "log" / "issuer.log",
            f"http://127.0.0.1:{issuer_port()}/healthz",
        ),
        Child(
            "sandbox",
            [
                python,
                "-m",
                "uvicorn",
                "--factory",
                "sandbox.main:create_app",
                "--host",
                host,
                "--port",
                str(port),
                "--no-access-log",
            ],
            var / "log" / "sandbox.log",
            f"http://127.0.0.1:{port}/healthz",
        ),
    ]
    for svc in SERVICES:
        children.append(
            Child(f"{svc.name}-api", svc.api_command(python), var / "log" / f"{svc.name}-api.log", _url(svc, "/readyz"))
        )
        children.append(
            Child(
                f"{svc.name}-worker",
                svc.worker_command(python),
                var / "log" / f"{svc.name}-worker.log",
                # the worker's Prometheus endpoint: 9101.. beside the APIs' 8001.. (the API serves /metrics)
                extra_env={f"{svc.name.upper()}_WORKER_METRICS_PORT": str(svc.port + 1100)},
            )
        )
        if svc.listener is not None:
            children.append(
                Child(
                    f"{svc.name}-listener",
                    svc.listener_command(python),
                    var / "log" / f"{svc.name}-listener.log",
                    extra_env={svc.listener.port_setting: str(svc.listener_port), svc.listener.host_setting: host},
                )
            )
    return children


def _url(svc: ServiceInfo, path: str) -> str:
    return f"http://127.0.0.1:{svc.port}{path}"


def run(root: Path, *, broker_port: int | None, embedded_broker: bool) -> int:
    var = Path(os.environ.get("RCM_VAR_DIR", root / "var")).resolve()
    var.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RCM_VAR_DIR": str(var), "PYTHONUNBUFFERED": "1"}
    # The services reach the sandbox clearinghouse unless told otherwise.
    env.setdefault("ELIGIBILITY_ADAPTERS", json.dumps({"sandbox": f"http://127.0.0.1:{sandbox_port()}/x12/270"}))
    env.setdefault("CLAIMS_SANDBOX_URL", f"http://127.0.0.1:{sandbox_port()}/x12/837")
    # Auth on by default: the services verify tokens of the embedded issuer (its key made here, once).
    env.setdefault("AUTH_TOKEN_URL", f"http://127.0.0.1:{issuer_port()}/oauth/token")
    if not env.get("AUTH_JWKS_URL"):
        os.environ["RCM_VAR_DIR"] = str(var)
        Issuer.embedded().ensure_key()
    python = sys.executable
    kafka = KafkaSettings()
    broker: EmbeddedBroker | None = None
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children: list[Child] = []
    say(f"rcm run    pid {os.getpid()}; times in UTC")
    try:
        if embedded_broker:
            port = broker_port or int(kafka.bootstrap_servers.rsplit(":", 1)[-1])
            broker = EmbeddedBroker(port, log_path=var / "log" / "broker.log")
            try:
                broker.start()
            except (TimeoutError, RuntimeError, OSError) as exc:
                print(f"error: cannot start the embedded broker on port {port}: {exc}", file=sys.stderr)
                return 1
            env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
            kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
            say(f"broker     tansu (memory) on {broker.bootstrap_servers}  pid {broker.pid}")
        created = asyncio.run(ensure_topics(kafka, all_topics(kafka)))
        say(f"topics     {len(all_topics(kafka))} declared, {len(created)} created")
        migrate_all(root, env, python)
        children = _children(root, var, python)
        for child in children:
            child.start(env, root)
        say(f"services   starting; logs in {var / 'log'}")
        return _supervise(children, env, root, lambda: stopping, broker, kafka)
    finally:
        _stop_all(children)
        if broker is not None:
            broker.stop()
        say("stopped: all processes ended")


def _restart_broker(broker: EmbeddedBroker, kafka: KafkaSettings) -> None:
    """The embedded broker died: start it again on its port (empty) and declare the topics; the relays
    find their topics empty at their next check and replay the outbox, the consumers rejoin."""
    code = broker._proc.returncode if broker._proc else None
    say(f"  broker exited with code {code}; restarting it empty (the outboxes will be replayed)")
    broker.stop()
    try:
        broker.start()
        asyncio.run(ensure_topics(kafka, all_topics(kafka)))
    except (TimeoutError, RuntimeError, OSError) as exc:
        say(f"  broker restart failed: {exc}; trying again")


def _supervise(
    children: list[Child],
    env: dict[str, str],
    root: Path,
    stopping: Callable[[], bool],
    broker: EmbeddedBroker | None = None,
    kafka: KafkaSettings | None = None,
) -> int:
    last_table = ""
    announced = False
    with httpx.Client(timeout=1.0) as http:
        while not stopping():
            if broker is not None and kafka is not None and not broker.running():
                _restart_broker(broker, kafka)
            now = time.monotonic()
            for child in children:
                if not child.alive():
                    if child.state != "exited":
                        code = child.proc.returncode if child.proc else None
                        say(f"  {child.name} exited with code {code}; restarting (log: {child.log_path})")
                        child.state = "exited"
                        # backoff 1, 2, 4 ... 30 s for a child that keeps dying; one that ran a calm minute starts over
                        child.crash_streak = 0 if now - child.started_at > CALM_SECONDS else child.crash_streak + 1
                        child.next_restart = now + min(30.0, 2.0 ** max(0, child.crash_streak - 1))
                    elif now >= child.next_restart:
                        child.restarts += 1
                        child.start(env, root)
                    continue
                if child.health_url:
                    child.state = _probe(http, child.health_url)
                else:
                    child.state = "running"
            table = _table(children)
            if table != last_table:
                say(table)
                last_table = table
            if not announced and all(c.state in ("ready", "running") for c in children):
                announced = True
                say("\nall services ready. OpenAPI pages:")
                for svc in SERVICES:
                    say(f"  {svc.name:<12} {_url(svc, '/docs')}")
                for svc in SERVICES:
                    if svc.listener is not None:
                        say(f"  {svc.name:<12} 127.0.0.1:{svc.listener_port} ({svc.listener.what})")
                say(f"  {'sandbox':<12} http://127.0.0.1:{sandbox_port()}/docs (simulated clearinghouse and payers)")
                token_url = f"http://127.0.0.1:{issuer_port()}/oauth/token"
                say(f"  {'issuer':<12} {token_url} (local tokens: rcm auth client create)")
                say("Ctrl-C stops everything.\n")
            time.sleep(0.5)
    return 0


def _probe(http: httpx.Client, url: str) -> str:
    try:
        response = http.get(url)
    except httpx.HTTPError:
        return "starting"
    return "ready" if response.status_code == 200 else "not ready"


def _table(children: list[Child]) -> str:
    cells = [f"{c.name}={c.state}" + (f"(restarts {c.restarts})" if c.restarts else "") for c in children]
    return "state      " + "  ".join(cells)


def _stop_all(children: list[Child]) -> None:
    for child in children:
        if child.alive() and child.proc is not None:
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()
        if child.log:
            child.log.close()
