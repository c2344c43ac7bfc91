"""The claims consumer worker: `python -m claims.worker` (outbox relay + inbox consumer)."""

from __future__ import annotations

from rcm_shared.bus.worker import WorkerSpec, run_worker
from rcm_shared.logging import configure_logging
from rcm_shared.runtime import run

from claims.background import loop
from claims.config import get_settings
from claims.consumers import registry
from claims.models import bus


def main() -> None:
    settings = get_settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    run(run_worker(WorkerSpec(settings=settings, tables=bus, registry=registry, background=[loop])))


if __name__ == "__main__":
    main()
