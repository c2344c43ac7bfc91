"""What the CLI knows of the services without importing them: names, ports, commands, settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings


@dataclass(frozen=True)
class Listener:
    """A service's entry point for a protocol besides HTTP and Kafka: ``python -m <service>.listener``."""

    base_port: int
    port_setting: str  # the service's setting of its port, e.g. CLAIMS_HL7_PORT
    host_setting: str
    what: str


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    base_port: int
    listener: Listener | None = None

    @property
    def port(self) -> int:
        # RCM_PORT_OFFSET moves all four ports, e.g. to run a second stack beside the first.
        return self.base_port + int(os.environ.get("RCM_PORT_OFFSET", "0"))

    @property
    def listener_port(self) -> int | None:
        if self.listener is None:
            return None
        return self.listener.base_port + int(os.environ.get("RCM_PORT_OFFSET", "0"))

    def listener_command(self, python: str) -> list[str]:
        return [python, "-m", f"{self.name}.listener"]

    def api_command(self, python: str) -> list[str]:
        return [
            python,
            "-m",
            "uvicorn",
            "--factory",
            f"{self.name}.main:create_app",
            "--host",
            os.environ.get("RCM_HOST", "127.0.0.1"),
            "--port",
            str(self.port),
            "--no-access-log",
        ]

    def worker_command(self, python: str) -> list[str]:
        return [python, "-m", f"{self.name}.worker"]


SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("eligibility", 8001),
    ServiceInfo("claims", 8002, Listener(2575, "CLAIMS_HL7_PORT", "CLAIMS_HL7_HOST", "HL7 v2 over MLLP")),
    ServiceInfo("remittance", 8003),
    ServiceInfo("denials", 8004),
)
NAMES = tuple(s.name for s in SERVICES)


def service(name: str) -> ServiceInfo:
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(f"unknown service {name!r}; one of: {', '.join(NAMES)}")


def settings_for(name: str) -> BaseServiceSettings:
    """The service's settings read from its own env prefix, as the service itself reads them."""
    service(name)

    class _Settings(BaseServiceSettings):
        service_name: ClassVar[str] = name
        model_config = SettingsConfigDict(env_prefix=f"{name.upper()}_", extra="ignore")

    return _Settings()


def repo_root() -> Path:
    """The checkout the CLI runs from (where services/ and the Makefile are)."""
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "services").is_dir() and (candidate / "shared").is_dir():
            return candidate
    raise FileNotFoundError("run rcm from the repository (no services/ folder found above the current directory)")
