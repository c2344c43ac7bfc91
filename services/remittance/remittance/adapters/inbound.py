"""The inbound folder: 835 files dropped in it, taken once settled, then moved aside.

A file is taken once its size and modification time have stayed the same for the settle time (a writer
that copies a file in place, over a slow link, may still be writing it; one that writes a hidden name and
renames it is never seen half-written); after ingestion it moves to ``processed/`` (or to ``failed/`` with
a ``.error.txt`` beside it). Nothing is deleted.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path


def listing(folder: Path) -> list[tuple[Path, tuple[int, int]]]:
    """The files of the folder (hidden names left out) with their (size, mtime)."""
    files = []
    for p in folder.iterdir():
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            files.append((p, (st.st_size, st.st_mtime_ns)))
    return sorted(files)


@dataclass
class Seen:
    """What the folder's earlier looks saw of the files not taken yet: (size, mtime) and since when."""

    files: dict[Path, tuple[tuple[int, int], float]] = field(default_factory=dict)

    def settled(self, path: Path, look: tuple[int, int], now: float, settle: float) -> bool:
        before = self.files.get(path)
        if before is None or before[0] != look:  # new, or written since: from now on
            self.files[path] = (look, now)
            return False
        return now - before[1] >= settle

    def next_due(self, settle: float, now: float) -> float | None:
        """Seconds until the first file waiting to settle can be taken; None if none waits."""
        return min((since + settle - now for _look, since in self.files.values()), default=None)


def move(path: Path, target: Path, error: str | None = None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    destination = target / path.name
    shutil.move(str(path), destination)
    if error is not None:
        destination.with_name(destination.name + ".error.txt").write_text(error + "\n")
