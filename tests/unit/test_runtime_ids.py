"""Plumbing of every process: identifiers (rcm_shared.ids) and collector tuning (rcm_shared.runtime)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from rcm_shared import ids
from rcm_shared.ids import new_id


def test_ids_are_uuid7_unique_and_ordered_by_time(monkeypatch: pytest.MonkeyPatch) -> None:
    made = [new_id() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    parsed = [uuid.UUID(i) for i in made[:1000]]
    assert all(
        u.version == 7 and u.variant == uuid.RFC_4122 and str(u) == i for u, i in zip(parsed, made, strict=False)
    )
    clock = iter([1_700_000_000_000_000_000, 1_700_000_000_001_000_000, 1_700_000_000_002_000_000])
    monkeypatch.setattr(ids.time, "time_ns", lambda: next(clock))
    a, b, c = new_id(), new_id(), new_id()
    assert a < b < c  # one millisecond apart: in creation order, as index keys
    assert uuid.UUID(a).int >> 80 == 1_700_000_000_000  # the first 48 bits: Unix time in milliseconds


def test_a_forked_child_never_repeats_the_parents_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_700_000_000_000_000_000)  # same millisecond in both
    new_id()  # the parent's pool holds random bits now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    assert child != new_id()


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        ("tune_gc(50_000); tune_gc(10)", "(50000, 20, 10) True"),  # the first call acts, once
        ("tune_gc(0)", "(700, 10, 10) False"),  # 0: Python's defaults
    ],
)
def test_tune_gc_freezes_the_start_up_heap_once(calls: str, expected: str) -> None:
    code = f"import gc; from rcm_shared.runtime import tune_gc; {calls}; print(gc.get_threshold(), gc.get_freeze_count() > 0)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


@pytest.mark.parametrize("service", ["claims", "denials", "eligibility", "remittance"])
def test_workers_run_on_uvloop_as_the_apis_do(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker's main hands its coroutine to ``runtime.run``, which runs it on a uvloop loop."""
    import asyncio
    import importlib

    from rcm_shared import runtime

    loops: list[str] = []

    async def which() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__)

    def fake_run_worker(spec: object) -> object:
        return which()

    worker = importlib.import_module(f"{service}.worker")
    monkeypatch.setattr(worker, "run_worker", fake_run_worker)
    monkeypatch.setattr(worker, "configure_logging", lambda *a, **k: None)
    worker.main()
    assert loops and loops[0].startswith("uvloop"), loops
    assert runtime.run(asyncio.sleep(0, result=7)) == 7
