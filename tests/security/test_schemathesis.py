"""schemathesis against each service's OpenAPI, with a valid token: generated requests to every
operation never get a 5xx, and every response that the OpenAPI documents matches its schema.

Each API runs as its own process (uvicorn, migrated SQLite, auth on) as in production; examples per
operation: RCM_SCHEMATHESIS_EXAMPLES (default 10; CI runs the default).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from rcm_cli.broker import free_port
from rcm_cli.issuer import SCOPES, Issuer
from rcm_shared.auth import AuthSettings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("eligibility", "claims", "remittance", "denials")
EXAMPLES = int(os.environ.get("RCM_SCHEMATHESIS_EXAMPLES", "10"))


def _uvicorn(factory: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port), "--log-level", "warning"]


@pytest.fixture(scope="module", params=SERVICES)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    name = str(request.param)
    tmp = tmp_path_factory.mktemp(name)
    # the issuer publishes its key where the API reads it (AUTH_JWKS_FILE below), not in the project's var/
    issuer = Issuer(tmp / "auth", AuthSettings(jwks_file=str(tmp / "auth" / "jwks.json")))
    issuer.ensure_key()
    client_id, secret = issuer.create_client("org-1", list(SCOPES))
    token = issuer.token(client_id, secret)["access_token"]
    env = {
        **os.environ,
        "RCM_VAR_DIR": str(tmp),
        "AUTH_MODE": "on",
        "AUTH_JWKS_FILE": str(tmp / "auth" / "jwks.json"),
        f"{name.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / (name + '.db')}",
        f"{name.upper()}_LOG_LEVEL": "WARNING",
        f"{name.upper()}_RATE_LIMIT_PER_MINUTE": "0",
    }
    sandbox_port = free_port()
    env["ELIGIBILITY_ADAPTERS"] = f'{{"sandbox": "http://127.0.0.1:{sandbox_port}/x12/270"}}'
    # checks by MRN ask a claims API for the registration: the sandbox answers 404 (no such patient)
    env["ELIGIBILITY_CLAIMS_URL"] = f"http://127.0.0.1:{sandbox_port}"
    sandbox = subprocess.Popen(
        [*_uvicorn("sandbox.main:create_app", sandbox_port)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    alembic = [sys.executable, "-m", "alembic", "-c", str(ROOT / "services" / name / "alembic.ini"), "upgrade", "head"]
    subprocess.run(alembic, cwd=ROOT / "services" / name, env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(_uvicorn(f"{name}.main:create_app", port), cwd=ROOT, env=env, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    for health in (f"{url}/healthz", f"http://127.0.0.1:{sandbox_port}/healthz"):
        while time.monotonic() < deadline:
            try:
                if httpx.get(health).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
    try:
        yield url, token
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=20)
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
        if b"Traceback" in err:
            print(err.decode(errors="replace")[-3000:])


def test_generated_requests_get_no_5xx_and_documented_responses_match(api: tuple[str, str]) -> None:
    url, token = api
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    tried = 0
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in ("/healthz", "/readyz"):
            continue  # probes: /readyz is 503 by design here (no worker runs beside this API)

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                base_url=url,
                headers=headers,
                checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
            )
            statuses[response.status_code] += 1

        run()
        tried += 1
    assert tried >= 5
    # the token is accepted: the requests reached the routes (a 401 everywhere would test nothing)
    assert statuses[401] == 0 and sum(n for code, n in statuses.items() if code < 300) > 0, statuses
