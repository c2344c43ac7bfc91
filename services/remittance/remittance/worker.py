"""The remittance consumer worker: `python -m remittance.worker` (outbox relay, inbox consumer, the inbound
835 folder)."""

from __future__ import annotations

from rcm_shared.bus.worker import WorkerSpec, run_worker
from rcm_shared.logging import configure_logging
from rcm_shared.runtime import run

from remittance.background import watch
from remittance.config import get_settings
from remittance.consumers import registry
from remittance.models import bus


def main() -> None:
    settings = get_settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    run(run_worker(WorkerSpec(settings=settings, tables=bus, registry=registry, background=[watch])))


if __name__ == "__main__":
    main()
