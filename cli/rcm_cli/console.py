"""How the CLI writes progress to a terminal, and to a pipe or a file."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressPrinter:
    """``print`` for the demo, which rewrites a progress line in place (``"\\r..."`` with ``end=""``) and ends it
    with an empty line. On a terminal that is written as it comes. Into a pipe or a file (a CI log, ``| tee``)
    the carriage returns would leave every update run together on one line, so each update becomes a line of
    its own, a repeated one is left out, and the empty line that only ended the progress line is dropped."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream  # None: sys.stdout when writing (a test runner may have replaced it)
        self._last_update: str | None = None

    def __call__(self, text: str = "", end: str = "\n") -> None:
        stream = self._stream or sys.stdout
        update = text.startswith("\r") and end == ""
        if stream.isatty():
            print(text, end=end, file=stream, flush=update)
            return
        if update:
            line = text[1:].rstrip()
            if line != self._last_update:
                print(line, file=stream, flush=True)
            self._last_update = line
            return
        if self._last_update is not None and text == "" and end == "\n":
            self._last_update = None
            return
        self._last_update = None
        print(text, end=end, file=stream)
