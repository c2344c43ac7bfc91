"""The clearinghouse's spool: everything it will send is written to ``<spool>/pending`` first (the due time in
the file name) and moved to ``delivered/`` once sent, so a restart loses nothing already accepted."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from sandbox.channels import Delivery

# the delivery lines are the clearinghouse's own: they keep its logger name
log = logging.getLogger("sandbox.clearinghouse")


class Spool:
    def __init__(self, spool: Path, delivery: Delivery, clock: Callable[[], float] = time.time) -> None:
        self.pending = spool / "pending"
        self.delivered = spool / "delivered"
        self.delivery = delivery
        self.clock = clock
        self.next_due_ms: int | None = None  # set by deliver_due
        self.pending.mkdir(parents=True, exist_ok=True)
        self.delivered.mkdir(parents=True, exist_ok=True)

    def schedule(self, due: float, kind: str, name: str, text: str) -> None:
        target = self.pending / f"{int(due * 1000):015d}-{kind}-{name}"
        tmp = self.pending / f".{target.name}.part"
        tmp.write_text(text)
        os.replace(tmp, target)

    async def deliver_due(self) -> int:
        """Send every spooled file whose time has come, oldest first; a failed one is retried next round.
        ``next_due_ms`` is then the time the first file left is due (None: none left, or a delivery failed)."""
        now_ms = int(self.clock() * 1000)
        sent = 0
        self.next_due_ms = None
        for path in sorted(p for p in self.pending.iterdir() if not p.name.startswith(".")):
            due_ms, kind, name = path.name.split("-", 2)
            if int(due_ms) > now_ms:
                self.next_due_ms = int(due_ms)
                break
            try:
                where = await self.delivery.send(kind, name, path.read_text())
            except (OSError, httpx.HTTPError) as exc:
                log.warning("delivery failed, will retry", extra={"kind": kind, "file": name, "error": exc})
                break  # keep the order: later files wait for this one
            shutil.move(str(path), self.delivered / path.name)
            log.info("delivered", extra={"kind": kind, "file": name, "target": where})
            sent += 1
        return sent
