"""The acknowledgment folder: the files the clearinghouse drops there, and the immediate answers to our own
deliveries, each kept once read - in ``processed/``, or in ``failed/`` beside an ``.error.txt`` saying why - so
that no answer a payer sent is ever lost, and one that could not be applied can be sent again."""

from __future__ import annotations

import shutil
from pathlib import Path


def waiting(folder: Path) -> list[Path]:
    """The files waiting in the folder, oldest name first (dot files are being written)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _target(folder: Path, error: str | None) -> Path:
    target = folder / ("failed" if error is not None else "processed")
    target.mkdir(parents=True, exist_ok=True)
    return target


def file_away(folder: Path, path: Path, error: str | None = None) -> None:
    """Move a file read from the folder to ``processed/``, or to ``failed/`` with why."""
    target = _target(folder, error)
    shutil.move(str(path), target / path.name)
    if error is not None:
        (target / (path.name + ".error.txt")).write_text(error + "\n")


def keep(folder: Path, name: str, data: bytes, error: str | None = None) -> None:
    """Keep an answer that came back with a delivery, as if it had been dropped in the folder and read."""
    target = _target(folder, error)
    (target / name).write_bytes(data)
    if error is not None:
        (target / (name + ".error.txt")).write_text(error + "\n")
