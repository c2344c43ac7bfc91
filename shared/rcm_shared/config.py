"""Settings shared by every service.

Each service subclasses :class:`BaseServiceSettings` with its own env prefix (``CLAIMS_``, ...).
Broker settings are common to all services and read from ``KAFKA_*`` without a service prefix.
Embedded (development) values are the defaults, so ``make run`` needs no configuration; anything that
looks like a placeholder secret is refused outside development.
"""

from __future__ import annotations

import ipaddress
import socket
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rcm_shared.auth import AuthSettings

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "password", "dev", "development"})
# Names resolvers answer with this machine's loopback (RFC 6761 .localhost, and Debian's /etc/hosts entries)
LOCAL_HOST_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_local_host(host: str) -> bool:
    """Whether a URL's host is this machine: a loopback or unspecified address in any spelling the resolver
    takes (``127.1``, ``0``, ``0x7f.1``, ``::ffff:127.0.0.1``) or a name that means localhost."""
    host = host.rstrip(".").lower()
    if host in LOCAL_HOST_NAMES or host.endswith(".localhost"):
        return True
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the short and numeric forms getaddrinfo also takes as IPv4 addresses
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, UnicodeEncodeError, ValueError):
            return False  # a name
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # Python 3.11 calls ::ffff:127.0.0.1 neither loopback nor unspecified
    return address.is_loopback or address.is_unspecified


class Environment(StrEnum):
    development = "development"
    test = "test"
    staging = "staging"
    production = "production"


def project_var_dir() -> Path:
    """Where embedded-mode state (SQLite files, filedrop folders) lives: ``./var`` by default."""
    import os

    return Path(os.environ.get("RCM_VAR_DIR", "var")).resolve()


class KafkaSettings(BaseSettings):
    """Broker connection, shared by all services (``KAFKA_BOOTSTRAP_SERVERS`` etc.)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    sasl_mechanism: str | None = None  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    topic_prefix: str = ""  # lets several test runs or tenants share one cluster
    default_partitions: int = 3
    replication_factor: int = 1

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments common to aiokafka producers, consumers and admin clients."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        if "SSL" in self.security_protocol:
            from aiokafka.helpers import create_ssl_context

            kwargs["ssl_context"] = create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
        return kwargs


class BaseServiceSettings(BaseSettings):
    """What every service needs. Subclasses set ``service_name`` and ``model_config`` (env prefix)."""

    service_name: ClassVar[str] = "service"
    write_scope: ClassVar[str] = ""  # empty: "<service>:write" (the scope a non-read route requires)
    model_config = SettingsConfigDict(extra="ignore")

    environment: Environment = Environment.development
    database_url: str = ""  # empty: the embedded SQLite file ./var/<service>.db
    db_schema: str = ""  # empty: the service name (PostgreSQL only; SQLite has one file per service)
    db_pool_size: int = 10
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    consumer_group: str = ""  # empty: "<service>-worker"
    consumer_session_timeout_ms: int = 10_000
    consumer_max_retries: int = 5
    consumer_retry_backoff_ms: int = 200
    consumer_batch_size: int = Field(200, ge=1)  # events of a partition handled in one DB transaction
    # Days an inbox row (an event handled) is kept; 0: for ever. When set, an event older than this is
    # dead-lettered rather than handled (its row may be gone: it cannot be told from one handled already), the
    # relay re-publishes only events younger than this after a broker loss, and `rcm events replay` refuses
    # an earlier --since. See rcm_shared.bus.consumer.prune_inbox.
    inbox_retention_days: int = Field(0, ge=0)
    relay_batch_size: int = 500
    relay_poll_interval_ms: int = 100
    relay_broker_check_interval_s: float = 15.0
    max_body_mb: int = 10  # larger request bodies get 413 (remittance: its 835 upload limit)
    rate_limit_per_minute: int = 12_000  # per client per API process (token bucket); 0: off
    worker_metrics_port: int = 0  # the worker's Prometheus endpoint (0: off); the API serves /metrics itself
    metrics_host: str = "127.0.0.1"  # where the worker's endpoint listens (0.0.0.0 in a container)
    gc_gen0_threshold: int = 50_000  # see rcm_shared.runtime.tune_gc; 0: Python's default collector settings
    request_timeout_s: float = 60.0  # a request still unanswered after this gets 504 (its transaction rolls back)
    log_level: str = "INFO"
    log_json: bool = True
    # Until token-based tenancy (auth) is configured, the caller's organization comes from the
    # X-Tenant-ID header; requests without it belong to this tenant.
    default_tenant: str = "default"
    # The public base of the FHIR API (e.g. https://api.example.org/fhir/R4 behind the one Ingress base);
    # empty: the URL each request came to + /fhir/R4. Bundle entries and paging links are made of it.
    fhir_base_url: str = ""

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> Self:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{project_var_dir() / (self.service_name + '.db')}"
        if not self.db_schema:
            self.db_schema = self.service_name
        if not self.consumer_group:
            self.consumer_group = f"{self.service_name}-worker"
        if self.environment not in (Environment.development, Environment.test):
            self._refuse_placeholders()
            if self.auth.mode != "on":
                raise ValueError(f"AUTH_MODE=off is refused in {self.environment.value}: every API requires a token")
            self._refuse_local_token_url()
        return self

    @property
    def inbox_retention(self) -> timedelta | None:
        return timedelta(days=self.inbox_retention_days) if self.inbox_retention_days else None

    @classmethod
    def scope_for_writes(cls) -> str:
        return cls.write_scope or f"{cls.service_name}:write"

    def _refuse_placeholders(self) -> None:
        """Outside development, a secret left at a placeholder (or empty) is a configuration error."""
        for name, value in self._secret_fields():
            if value is None or value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"{name} is unset or a placeholder; set a real secret for environment {self.environment}"
                )
        if self.database_url.startswith("sqlite") and self.environment == Environment.production:
            raise ValueError("SQLite is the embedded default only; set a PostgreSQL database_url in production")

    def _refuse_local_token_url(self) -> None:
        """Outside development, SMART discovery and the CapabilityStatement advertise ``AUTH_TOKEN_URL`` to
        clients elsewhere, who send their credentials there: it is HTTPS, and not the embedded issuer's loopback
        default, which would send them to their own machine."""
        url = self.auth.token_url
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not host or parts.scheme != "https":
            raise ValueError(f"AUTH_TOKEN_URL {url!r} is not an https URL; set the identity provider's token URL")
        if is_local_host(host):
            raise ValueError(
                f"AUTH_TOKEN_URL {url!r} is on this machine (the embedded issuer's default); set the identity "
                f"provider's token endpoint for environment {self.environment.value}: clients are sent there"
            )

    def _secret_fields(self) -> list[tuple[str, SecretStr | None]]:
        secrets: list[tuple[str, SecretStr | None]] = []
        if self.kafka.sasl_mechanism:
            secrets.append(("KAFKA_SASL_PASSWORD", self.kafka.sasl_password))
        return secrets

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def topic(self, name: str) -> str:
        return f"{self.kafka.topic_prefix}{name}"
