"""The process tree of `rcm run` (Linux /proc): for the tests, the benchmarks and operators' scripts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU (user + system) the process has spent so far, with ``children`` also that of its children it has
    waited for (a server's exited workers); 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11 : 15 if children else 13]) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


class RunningStack:
    """``rcm run`` as a child process, for the end-to-end tests and the pipeline benchmark: its output is
    read by a thread (a supervisor whose pipe fills up would block) and kept in ``lines``."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rcm_cli.main", "run"],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines: list[bytes] = []
        out = self.proc.stdout
        assert out is not None
        self._reader = threading.Thread(target=lambda: self.lines.extend(iter(out.readline, b"")), daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return b"".join(self.lines).decode(errors="replace")

    def said(self, text: str) -> bool:
        return any(text.encode() in line for line in self.lines)

    def wait_ready(self, timeout: float = 120) -> None:
        """Until the supervisor says every service is ready; RuntimeError (with the output's end) if the
        stack exits or ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not self.said("all services ready"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stack did not start:\n" + self.output()[-3000:])
            time.sleep(0.3)

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C (SIGINT) if still running, then wait for the stack and its output; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return self.proc.returncode
