"""The denials consumer worker: `python -m denials.worker` (outbox relay + inbox consumer)."""

from __future__ import annotations

from rcm_shared.bus.worker import WorkerSpec, run_worker
from rcm_shared.logging import configure_logging
from rcm_shared.runtime import run

from denials.background import LOOPS
from denials.config import get_settings
from denials.consumers import medicare, registry
from denials.models import bus


def main() -> None:
    settings = get_settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    medicare()  # the Medicare fee schedule files read at start: a bad one stops the worker now, not mid-batch
    run(run_worker(WorkerSpec(settings=settings, tables=bus, registry=registry, background=LOOPS)))


if __name__ == "__main__":
    main()
