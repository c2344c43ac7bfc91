"""The eligibility consumer worker: `python -m eligibility.worker` (outbox relay + inbox consumer)."""

from __future__ import annotations

from rcm_shared.bus.worker import WorkerSpec, run_worker
from rcm_shared.logging import configure_logging
from rcm_shared.runtime import run

from eligibility.background import LOOPS
from eligibility.config import get_settings
from eligibility.consumers import registry
from eligibility.models import bus


def main() -> None:
    settings = get_settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    run(run_worker(WorkerSpec(settings=settings, tables=bus, registry=registry, background=LOOPS)))


if __name__ == "__main__":
    main()
