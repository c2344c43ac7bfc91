"""The simulated clearinghouse: takes 837 interchanges, answers a 999, later delivers 277CAs and 835s;
answers 276 status inquiries with 277s from what it knows of each claim (``sandbox.claim_log``). Every answer
goes back to the submitter of what it answers (``sandbox.addressing``), from the id the submitter sent it to.

Everything it will send waits in its spool (``sandbox.spool``, under ``<var>/sandbox``) until due, then goes
out through the channel configured (``sandbox.channels``: filedrop folders or API push).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from rcm_shared.folders import FolderWatch
from rcm_shared.x12.ack import AckResult, build_999, check
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import iter_raw_segments
from rcm_shared.x12.sets.x276 import StatusAnswer, build_277, read_276
from rcm_shared.x12.sets.x837 import Claim, read_837
from rcm_shared.x12.writer import ControlNumbers, FileControlNumbers

from sandbox.addressing import ReplyTo, reply_to
from sandbox.adjudication import DuplicateIndex, acknowledge, adjudicate, standing_record
from sandbox.channels import Delivery, FiledropDelivery, PushDelivery, delivery_from_env
from sandbox.claim_log import ClaimLog
from sandbox.documents import Documents, crossovers, rounds
from sandbox.payers import PayerConfig, PlanBook
from sandbox.spool import Spool
from sandbox.voids import VoidsAndReplacements

# its public names, with the channels and parties other code imports from here
__all__ = [
    "Clearinghouse",
    "FiledropDelivery",
    "PushDelivery",
    "Received",
    "delivery_from_env",
    "short_paid",
    "unanswered",
]

log = logging.getLogger(__name__)


def unanswered(payer: PayerConfig) -> frozenset[str]:
    return frozenset(payer.setting("unanswered_members", ()))


def short_paid(payer: PayerConfig) -> frozenset[str]:
    return frozenset(payer.setting("short_paid_members", ()))


@dataclass
class Received:
    """What the clearinghouse made of one 837 interchange."""

    ack_999: str
    accepted: bool
    claims: int = 0
    rejected_claims: int = 0


class Clearinghouse:
    def __init__(
        self,
        book: PlanBook,
        spool: Path,
        delivery: Delivery,
        *,
        seed: int = 1,
        delay_scale: float = 1.0,
        numbers: ControlNumbers | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.book = book
        self.spool = spool
        self.seed = seed
        self.delay_scale = delay_scale
        self.numbers = numbers or FileControlNumbers(spool / "control-numbers.json")
        self.clock = clock
        self.duplicates = DuplicateIndex()
        self.outgoing = Spool(spool, delivery, clock)
        self.pending = self.outgoing.pending
        self.delivered = self.outgoing.delivered
        self.claim_log = ClaimLog(spool / "claims.jsonl", clock)  # what happened to each claim: the 276 answers read it
        self.documents = Documents(book, self.numbers, seed)
        self.requests = VoidsAndReplacements(book, seed, self.duplicates, self.claim_log, self.documents, self.outgoing)

    @property
    def next_due_ms(self) -> int | None:
        """When the first file left in the spool is due; set by deliver_due."""
        return self.outgoing.next_due_ms

    def known_claims(self) -> dict[str, dict[str, object]]:
        """What the payers know of each claim, by claim id (``ClaimLog.known``)."""
        return self.claim_log.known()

    # -- intake ----------------------------------------------------------------------------------------
    def _acknowledge(self, data: bytes, to: ReplyTo) -> tuple[AckResult, Received]:
        """The envelope and syntax check and its 999; accepted when every transaction set is.
        Raises X12Error only when the file cannot be read at all."""
        result = check(data)
        ack = build_999(result, us=to.us, numbers=self.numbers)
        sets = [s for g in result.groups for s in g.sets]
        accepted = bool(sets) and result.ta1_code == "000" and all(s.code is None and not s.errors for s in sets)
        return result, Received(ack, accepted)

    def receive(self, data: bytes) -> Received:
        """An interchange from the submitter: claims (837) or claim status inquiries (276)."""
        set_id = next((e[1] for _d, e in iter_raw_segments(data) if e[0].strip().upper() == "ST"), "")
        return self.receive_276(data) if set_id == "276" else self.receive_837(data)

    def receive_276(self, data: bytes) -> Received:
        """The 999 now; a 277 per payer after the payer's acknowledgment delay, from what it knows of the
        claims this submitter sent (another submitter's claim is not found)."""
        to = reply_to(data)
        result, out = self._acknowledge(data, to)
        if not out.accepted:
            return out
        today = datetime.now(UTC).date()
        by_payer: dict[tuple[str, str], list[StatusAnswer]] = {}
        for q in read_276(data):
            status = self.claim_log.status_of(q, to.them.id)
            by_payer.setdefault((q.payer_id, q.submitter_id), []).append(StatusAnswer(q, *status))
            out.claims += 1
        for (payer_id, _submitter), answers in sorted(by_payer.items()):
            payer = self.book.payers.get(payer_id)
            delay = float(payer.setting("ack_delay_seconds", 1.0) if payer else 1.0) * self.delay_scale
            ref = f"{result.interchange_control}{payer_id}"[:30]
            ts = build_277(answers, reference=ref, created=today)
            name = f"{to.tag}-{ref}-status.277"
            self._schedule(self.clock() + delay, "277", name, self.documents.render(ts, to))
        return out

    def receive_837(self, data: bytes, *, today: date | None = None) -> Received:
        """Check the envelope (the 999); when every transaction set is accepted, schedule 277CAs and 835s."""
        to = reply_to(data)
        result, out = self._acknowledge(data, to)
        if not out.accepted:
            return out  # the 999 rejects the sets; the submitter corrects and sends again
        today = today or datetime.now(UTC).date()
        claims = list(read_837(data))
        # each claim's submitter: its 835s, a 276 about it, a void or replacement of it answer that one alone
        sent_by = {"submitter": to.them.id}
        by_payer: dict[str, list[Claim]] = {}
        for c in claims:
            by_payer.setdefault(c.payer.payer_id, []).append(c)
        now = self.clock()
        for payer_id, payer_claims in sorted(by_payer.items()):
            payer = self.book.payers.get(payer_id)
            ack_delay = float(payer.setting("ack_delay_seconds", 1.0) if payer else 1.0) * self.delay_scale
            adj_delay = float(payer.setting("adjudication_delay_seconds", 2.0) if payer else 2.0) * self.delay_scale
            lost = unanswered(payer) if payer else frozenset()
            self.claim_log.remember(
                [
                    {"claim_id": c.claim_id, "payer_id": payer_id, "state": "lost", **sent_by}
                    for c in payer_claims
                    if c.subscriber.member_id in lost
                ]
            )
            out.claims += len(payer_claims)
            payer_claims = [c for c in payer_claims if c.subscriber.member_id not in lost]
            if not payer_claims:
                continue
            acks = [acknowledge(self.book, c) for c in payer_claims]
            originals = self.requests.originals(payer_id, payer_claims, acks, to.them.id)
            out.rejected_claims += sum(not a.accepted for a in acks)
            ref = f"{result.interchange_control}{payer_id}"[:30]
            # file names and trace keys carry the submitter: two submitters may number their interchanges alike
            file, ic = f"{to.tag}-{ref}", f"{to.tag}:{result.interchange_control}"
            self._schedule(
                now + ack_delay,
                "277CA",
                f"{file}.277",
                self.documents.ack_277ca(payer_id, payer_claims, acks, ref, today, to),
            )
            self.claim_log.remember(
                [
                    {
                        "claim_id": a.claim_id,
                        "payer_id": payer_id,
                        "state": "accepted" if a.accepted else "rejected",
                        "ack": f"{a.status.category}:{a.status.code}",
                        "icn": a.payer_claim_control_number,
                        **sent_by,
                    }
                    for a in acks
                ]
            )
            taken = [c for c, a in zip(payer_claims, acks, strict=True) if a.accepted]
            if not taken or payer is None:
                continue
            fresh = [c for c in taken if c.claim_id not in originals]
            outcomes = [(c, adjudicate(self.book, c, today, self.seed, self.duplicates)) for c in fresh]
            # a short-paid member's claim is paid right the first time: a reversal of it would reach the office
            # before the held ERA it reverses is posted
            for c, o in outcomes:
                if c.subscriber.member_id in short_paid(payer) and o.later:
                    o.payment, o.later = o.later[-1], []
            first_due = now + ack_delay + adj_delay
            self.claim_log.remember(
                [
                    {
                        "claim_id": c.claim_id,
                        "paid": str(o.payment.paid),
                        "due": first_due,
                        "standing": standing_record(o.later[-1] if o.later else o.payment),
                        "last_due": first_due + adj_delay * bool(o.later),
                        "variances": [v.record() for v in o.variances],
                    }
                    for c, o in outcomes
                ]
            )
            payees = {c.billing_provider.npi or "": c.billing_provider.last_or_org for c in taken}
            if originals:
                requests = [c for c in taken if c.claim_id in originals]
                key = f"{ic}:{payer_id}"
                start = now + ack_delay
                self.requests.answer(payer_id, requests, originals, start, adj_delay, key, file, today, payees, to)
            for round_, items in enumerate(rounds(outcomes)):
                due = now + ack_delay + adj_delay * (round_ + 1)
                for npi, payments in sorted(items.items()):
                    key = f"{ic}:{payer_id}:{npi}:{round_}"
                    short = [p for p in payments if round_ == 0 and p.patient.get("id") in short_paid(payer)]
                    if short:
                        payments = [p for p in payments if p not in short]
                        text = self.documents.remittance_835(
                            payer_id, npi, payees[npi], short, key + ":short", today, to, recouped=True
                        )
                        self._schedule(due, "835", f"{file}-{npi}-{round_}-short.835", text)
                    if not payments:
                        continue
                    text = self.documents.remittance_835(payer_id, npi, payees[npi], payments, key, today, to)
                    self._schedule(due, "835", f"{file}-{npi}-{round_}.835", text)
            # the crossover payers' own 835s, after the forwarding payer's (never a claim billed to them twice)
            for (other, npi), payments in sorted(crossovers(outcomes).items()):
                delay = float(self.book.payers[other].setting("adjudication_delay_seconds", 2.0)) * self.delay_scale
                key = f"{ic}:{payer_id}:{npi}:crossover:{other}"
                text = self.documents.remittance_835(other, npi, payees[npi], payments, key, today, to)
                self._schedule(now + ack_delay + adj_delay + delay, "835", f"{file}-{npi}-{other}.835", text)
        return out

    # -- delivery --------------------------------------------------------------------------------------
    def _schedule(self, due: float, kind: str, name: str, text: str) -> None:
        self.outgoing.schedule(due, kind, name, text)

    async def deliver_due(self) -> int:
        """Send every spooled file whose time has come, oldest first (``Spool.deliver_due``)."""
        return await self.outgoing.deliver_due()

    def scan_filedrop(self, folder: Path) -> int:
        """Take the 837s (and 276s) the submitter dropped in its outbound folder; each is answered like an HTTP post."""
        if not folder.is_dir():
            return 0
        done = 0
        received = self.spool / "received"
        received.mkdir(exist_ok=True)
        for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".x12"):
            try:
                result = self.receive(path.read_bytes())
                self._schedule(self.clock(), "999", f"{path.stem}.999", result.ack_999)
            except X12Error as exc:
                log.warning("837 file unreadable", extra={"file": path.name, "error": exc})
                (received / f"{path.name}.error.txt").write_text(f"{exc}\n")
            shutil.move(str(path), received / path.name)
            done += 1
        return done

    async def run(self, stop: asyncio.Event, inbox: Path | None, poll_seconds: float = 0.5) -> None:
        """An 837 dropped in the inbox, or an answer spooled (by an 837 posted over HTTP), wakes the loop at
        once (``rcm_shared.folders``); a spooled answer is sent when it is due; the inbox is looked at every
        ``poll_seconds`` in any case."""
        folders = [self.pending] if inbox is None else [inbox, self.pending]
        for folder in folders:
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        async with FolderWatch(*folders, poll_seconds=poll_seconds) as changes:
            while not stop.is_set():
                due: float | None = None
                try:
                    if inbox is not None:
                        await asyncio.to_thread(self.scan_filedrop, inbox)
                    await self.deliver_due()
                    # wake when the first file left is due; none left, or a delivery failed: on the poll
                    if self.next_due_ms is not None:
                        due = self.next_due_ms / 1000 - self.clock()
                except OSError as exc:
                    log.warning("clearinghouse loop failed", extra={"error": exc})
                await changes.wait(stop, due)
