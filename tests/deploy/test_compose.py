"""docker-compose.yml and the image recipe, checked without a Docker engine: the file validates against
the Compose Specification JSON Schema, and it has the production shape (Kafka in KRaft mode, PostgreSQL,
a migration job, API and worker per service, health-checked start order, non-root images)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("eligibility", "claims", "remittance", "denials")


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_compose_file_validates_against_the_compose_specification() -> None:
    schema = json.loads((ROOT / "deploy" / "schemas" / "compose-spec.json").read_text())
    errors = [str(e).splitlines()[0] for e in jsonschema_rs.validator_for(schema).iter_errors(compose())]
    assert errors == []
    broken = dict(compose())
    broken["services"]["kafka"]["healthcheck"]["retries"] = "many"  # the check does catch mistakes
    assert list(jsonschema_rs.validator_for(schema).iter_errors(broken))


def test_compose_has_the_production_shape_and_a_healthy_start_order() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # topics as code
    assert services["postgres"]["image"].startswith("postgres:15")
    for name in SERVICES:
        migrate, api, worker = (services[f"{name}-{role}"] for role in ("migrate", "api", "worker"))
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        for runner in (api, worker):
            assert runner["image"] == migrate["image"] == f"rcm/{name}:local"  # one image, several commands
            assert runner["depends_on"][f"{name}-migrate"]["condition"] == "service_completed_successfully"
            assert runner["depends_on"]["kafka"]["condition"] == "service_healthy"
            assert runner["healthcheck"]["test"]
            env = runner["environment"]
            assert env[f"{name.upper()}_DATABASE_URL"].startswith("postgresql+asyncpg://")
            assert env[f"{name.upper()}_DB_SCHEMA"] == name
            assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092" and env["AUTH_MODE"] == "on"
            assert "POSTGRES_PASSWORD}" in env[f"{name.upper()}_DATABASE_URL"]  # from the environment, not here
        assert worker["command"] == ["python", "-m", f"{name}.worker"]
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
        if "build" in svc:
            assert svc["build"]["dockerfile"] == "deploy/docker/Dockerfile"
            assert svc["build"]["args"]["SERVICE"] in (*SERVICES, "sandbox")
    built = {svc["image"] for svc in services.values() if "build" in svc}
    assert built == {f"rcm/{n}:local" for n in (*SERVICES, "sandbox")}


def test_the_image_recipe_is_multi_stage_slim_non_root_and_health_checked() -> None:
    text = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and all("-slim" in line for line in stages)
    assert "USER 10001" in text and "HEALTHCHECK" in text
    assert "uv sync --frozen --no-dev" in text  # the locked versions, no test tooling
