"""`rcm run`'s own lines (states, exits, restarts, the ready notice) each carry the UTC time they were written."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rcm_cli import supervisor
from rcm_cli.supervisor import Child

STAMP = re.compile(r"^(\d\d:\d\d:\d\d) ")


def _stop_after(rounds: int) -> Callable[[], bool]:
    calls = iter(range(rounds + 1))
    return lambda: next(calls, rounds) >= rounds


def _seconds(start: datetime, end: datetime) -> set[str]:
    """Every HH:MM:SS from start to end (a run across midnight included)."""
    out = set()
    at = start.replace(microsecond=0)
    while at <= end:
        out.add(at.strftime("%H:%M:%S"))
        at += timedelta(seconds=1)
    return out


def _child(tmp_path: Path, name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code], tmp_path / f"{name}.log")


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # a local time 14 hours ahead of UTC, so that a local stamp cannot pass for a UTC one
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_every_supervisor_line_starts_with_the_utc_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = datetime.now(UTC)
    children = [_child(tmp_path, "sleeper", "import time; time.sleep(30)"), _child(tmp_path, "quitter", "pass")]
    for child in children:
        child.start({}, tmp_path)
    children[1].proc.wait()  # type: ignore[union-attr]
    try:
        supervisor._supervise(children, {}, tmp_path, _stop_after(2))
    finally:
        supervisor._stop_all(children)
    quiet = [children[0]]
    quiet[0].start({}, tmp_path)
    try:
        supervisor._supervise(quiet, {}, tmp_path, _stop_after(1))
    finally:
        supervisor._stop_all(quiet)
    ended = datetime.now(UTC)

    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert any("quitter exited with code 0; restarting" in line for line in lines), lines
    assert any("state" in line and "sleeper=running" in line for line in lines), lines
    assert any("all services ready" in line for line in lines), lines
    unstamped = [line for line in lines if not STAMP.match(line)]
    assert not unstamped
    assert {STAMP.match(line).group(1) for line in lines} <= _seconds(started, ended)  # type: ignore[union-attr]
