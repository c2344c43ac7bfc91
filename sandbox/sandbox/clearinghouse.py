"""The simulated clearinghouse: takes 837 interchanges, answers a 999, later delivers 277CAs and 835s;
answers 276 status inquiries with 277s from what it knows of each claim (``claims.jsonl`` in the spool).

Everything it will send is written to a spool folder first (``<var>/sandbox/pending``, the due time in
the file name) and moved to ``delivered/`` once sent, so a restart loses nothing already accepted.
Delivery goes through the same channels a real clearinghouse uses: the filedrop folders the claims and
remittance services watch (default), or an API push to their endpoints.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import httpx
from rcm_shared.config import project_var_dir
from rcm_shared.folders import FolderWatch
from rcm_shared.x12.ack import AckResult, build_999, check
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import iter_raw_segments
from rcm_shared.x12.sets.x276 import (
    ClaimAck,
    ProviderAcks,
    Status,
    StatusAnswer,
    StatusInquiry,
    build_277,
    build_277ca,
    read_276,
)
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, ProviderAdjustment, build_835
from rcm_shared.x12.sets.x837 import Claim, read_837
from rcm_shared.x12.writer import (
    ControlNumbers,
    FileControlNumbers,
    InterchangeWriter,
    Party,
    TransactionSet,
    writer_for,
)

from sandbox.adjudication import (
    DuplicateIndex,
    Outcome,
    acknowledge,
    adjudicate,
    carries_money,
    fraction,
    reversal,
    standing_record,
)
from sandbox.payers import PayerConfig, PlanBook

log = logging.getLogger(__name__)
US = Party("ZZ", "SANDBOXCH", "SANDBOXCH")
CLINIC = Party("ZZ", "RCMCLINIC", "RCMCLINIC")  # the platform, as the sandbox knows it


def unanswered(payer: PayerConfig) -> frozenset[str]:
    return frozenset(payer.setting("unanswered_members", ()))


def short_paid(payer: PayerConfig) -> frozenset[str]:
    return frozenset(payer.setting("short_paid_members", ()))


class Delivery(Protocol):
    async def send(self, kind: str, name: str, text: str) -> str:
        """Deliver one file ('999', '277CA', '277' or '835'); returns where it went. Raises OSError/HTTPError."""
        ...


@dataclass
class FiledropDelivery:
    """Writes acknowledgments and 835s into the folders the services watch (atomically: hidden, then renamed)."""

    ack_dir: Path
    era_dir: Path

    async def send(self, kind: str, name: str, text: str) -> str:
        folder = self.era_dir if kind == "835" else self.ack_dir

        def write() -> str:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.part"
            tmp.write_text(text)
            os.replace(tmp, folder / name)
            return str(folder / name)

        return await asyncio.to_thread(write)


@dataclass
class PushDelivery:
    """POSTs acknowledgments to the claims service and 835s to the remittance service."""

    claims_url: str  # .../v1/acknowledgments
    remittance_url: str  # .../v1/remittances
    tenant: str
    transport: httpx.AsyncBaseTransport | None = None

    async def send(self, kind: str, name: str, text: str) -> str:
        url = self.remittance_url if kind == "835" else self.claims_url
        async with httpx.AsyncClient(timeout=30.0, transport=self.transport) as client:
            response = await client.post(
                url, content=text.encode(), headers={"content-type": "text/plain", "X-Tenant-ID": self.tenant}
            )
        if response.status_code >= 300:
            raise httpx.HTTPStatusError(
                f"{url} answered {response.status_code}", request=response.request, response=response
            )
        return url


def delivery_from_env() -> Delivery:
    var = project_var_dir()
    if os.environ.get("SANDBOX_DELIVERY", "filedrop") == "push":
        return PushDelivery(
            os.environ.get("SANDBOX_CLAIMS_URL", "http://127.0.0.1:8002/v1/acknowledgments"),
            os.environ.get("SANDBOX_REMITTANCE_URL", "http://127.0.0.1:8003/v1/remittances"),
            os.environ.get("SANDBOX_TENANT", "default"),
        )
    return FiledropDelivery(
        Path(os.environ.get("SANDBOX_ACK_DIR") or var / "inbound" / "acks"),
        Path(os.environ.get("SANDBOX_ERA_DIR") or var / "inbound" / "835"),
    )


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
        self.pending = spool / "pending"
        self.delivered = spool / "delivered"
        self.delivery = delivery
        self.seed = seed
        self.delay_scale = delay_scale
        self.numbers = numbers or FileControlNumbers(spool / "control-numbers.json")
        self.clock = clock
        self.next_due_ms: int | None = None  # set by deliver_due
        self.duplicates = DuplicateIndex()
        self.pending.mkdir(parents=True, exist_ok=True)
        self.delivered.mkdir(parents=True, exist_ok=True)
        self.claim_log = spool / "claims.jsonl"  # what happened to each claim: the 276 answers read it
        self._claims: dict[str, dict[str, object]] | None = None

    # -- what the payers know of each claim ------------------------------------------------------------------
    def known_claims(self) -> dict[str, dict[str, object]]:
        if self._claims is None:
            self._claims = {}
            if self.claim_log.exists():
                for line in self.claim_log.read_text().splitlines():
                    entry = json.loads(line)
                    self._claims.setdefault(entry.pop("claim_id"), {}).update(entry)
        return self._claims

    def _remember(self, entries: list[dict[str, object]]) -> None:
        known = self.known_claims()
        with self.claim_log.open("a") as fh:
            for entry in entries:
                fh.write(json.dumps(entry, sort_keys=True) + "\n")
                known.setdefault(str(entry["claim_id"]), {}).update({k: v for k, v in entry.items() if k != "claim_id"})

    def _acknowledge(self, data: bytes) -> tuple[AckResult, Received]:
        """The envelope and syntax check and its 999; accepted when every transaction set is.
        Raises X12Error only when the file cannot be read at all."""
        result = check(data)
        ack = build_999(result, us=US, numbers=self.numbers)
        sets = [s for g in result.groups for s in g.sets]
        accepted = bool(sets) and result.ta1_code == "000" and all(s.code is None and not s.errors for s in sets)
        return result, Received(ack, accepted)

    def receive(self, data: bytes) -> Received:
        """An interchange from the submitter: claims (837) or claim status inquiries (276)."""
        set_id = next((e[1] for _d, e in iter_raw_segments(data) if e[0].strip().upper() == "ST"), "")
        return self.receive_276(data) if set_id == "276" else self.receive_837(data)

    def receive_276(self, data: bytes) -> Received:
        """The 999 now; a 277 per payer after the payer's acknowledgment delay, from what it knows."""
        result, out = self._acknowledge(data)
        if not out.accepted:
            return out
        today = datetime.now(UTC).date()
        by_payer: dict[tuple[str, str], list[StatusAnswer]] = {}
        for q in read_276(data):
            by_payer.setdefault((q.payer_id, q.submitter_id), []).append(StatusAnswer(q, *self._status_of(q)))
            out.claims += 1
        for (payer_id, _submitter), answers in sorted(by_payer.items()):
            payer = self.book.payers.get(payer_id)
            delay = float(payer.setting("ack_delay_seconds", 1.0) if payer else 1.0) * self.delay_scale
            ref = f"{result.interchange_control}{payer_id}"[:30]
            ts = build_277(answers, reference=ref, created=today)
            self._schedule(self.clock() + delay, "277", f"{ref}.277", self._writer(ts).render([ts]))
        return out

    def _status_of(self, q: StatusInquiry) -> tuple[Status, str | None]:
        """STC for one inquired claim: not found, rejected, in process, or finalized (paid or denied)."""
        known = self.known_claims().get(q.claim_id)
        today = datetime.now(UTC).date()
        if known is None or known.get("state") == "lost":
            return Status("A4", "35", effective_date=today), None  # claim/encounter not found
        icn = str(known["icn"]) if known.get("icn") else None
        if known.get("state") == "rejected":
            category, code = str(known["ack"]).split(":", 1)
            return Status(category, code, effective_date=today), None
        due = float(str(known.get("due", "inf")))
        if "paid" not in known or due > self.clock():
            return Status("P1", "20", effective_date=today), icn  # pending: in process
        paid = Decimal(str(known["paid"]))
        if paid > 0:
            return Status("F1", "65", effective_date=today, paid=paid), icn  # finalized: paid
        return Status("F2", "1", effective_date=today, paid=Decimal(0)), icn  # finalized: denied, see the 835

    # -- intake ----------------------------------------------------------------------------------------
    def receive_837(self, data: bytes, *, today: date | None = None) -> Received:
        """Check the envelope (the 999); when every transaction set is accepted, schedule 277CAs and 835s."""
        result, out = self._acknowledge(data)
        if not out.accepted:
            return out  # the 999 rejects the sets; the submitter corrects and sends again
        today = today or datetime.now(UTC).date()
        claims = list(read_837(data))
        by_payer: dict[str, list[Claim]] = {}
        for c in claims:
            by_payer.setdefault(c.payer.payer_id, []).append(c)
        now = self.clock()
        for payer_id, payer_claims in sorted(by_payer.items()):
            payer = self.book.payers.get(payer_id)
            ack_delay = float(payer.setting("ack_delay_seconds", 1.0) if payer else 1.0) * self.delay_scale
            adj_delay = float(payer.setting("adjudication_delay_seconds", 2.0) if payer else 2.0) * self.delay_scale
            lost = unanswered(payer) if payer else frozenset()
            self._remember(
                [
                    {"claim_id": c.claim_id, "payer_id": payer_id, "state": "lost"}
                    for c in payer_claims
                    if c.subscriber.member_id in lost
                ]
            )
            out.claims += len(payer_claims)
            payer_claims = [c for c in payer_claims if c.subscriber.member_id not in lost]
            if not payer_claims:
                continue
            acks = [acknowledge(self.book, c) for c in payer_claims]
            originals = self._requests(payer_id, payer_claims, acks)
            out.rejected_claims += sum(not a.accepted for a in acks)
            ref = f"{result.interchange_control}{payer_id}"[:30]
            self._schedule(
                now + ack_delay, "277CA", f"{ref}.277", self._render_277ca(payer_id, payer_claims, acks, ref, today)
            )
            self._remember(
                [
                    {
                        "claim_id": a.claim_id,
                        "payer_id": payer_id,
                        "state": "accepted" if a.accepted else "rejected",
                        "ack": f"{a.status.category}:{a.status.code}",
                        "icn": a.payer_claim_control_number,
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
            self._remember(
                [
                    {
                        "claim_id": c.claim_id,
                        "paid": str(o.payment.paid),
                        "due": first_due,
                        "standing": standing_record(o.later[-1] if o.later else o.payment),
                        "last_due": first_due + adj_delay * bool(o.later),
                    }
                    for c, o in outcomes
                ]
            )
            payees = {c.billing_provider.npi or "": c.billing_provider.last_or_org for c in taken}
            if originals:
                requests = [c for c in taken if c.claim_id in originals]
                key = f"{result.interchange_control}:{payer_id}"
                start = now + ack_delay
                self._answer_requests(payer_id, requests, originals, start, adj_delay, key, ref, today, payees)
            for round_, items in enumerate(_rounds(outcomes)):
                due = now + ack_delay + adj_delay * (round_ + 1)
                for npi, payments in sorted(items.items()):
                    key = f"{result.interchange_control}:{payer_id}:{npi}:{round_}"
                    short = [p for p in payments if round_ == 0 and p.patient.get("id") in short_paid(payer)]
                    if short:
                        payments = [p for p in payments if p not in short]
                        text = self._render_835(payer_id, npi, payees[npi], short, key + ":short", today, recouped=True)
                        self._schedule(due, "835", f"{ref}-{npi}-{round_}-short.835", text)
                    if not payments:
                        continue
                    text = self._render_835(payer_id, npi, payees[npi], payments, key, today)
                    self._schedule(due, "835", f"{ref}-{npi}-{round_}.835", text)
            # the crossover payers' own 835s, after the forwarding payer's (never a claim billed to them twice)
            for (other, npi), payments in sorted(_crossovers(outcomes).items()):
                delay = float(self.book.payers[other].setting("adjudication_delay_seconds", 2.0)) * self.delay_scale
                key = f"{result.interchange_control}:{payer_id}:{npi}:crossover:{other}"
                text = self._render_835(other, npi, payees[npi], payments, key, today)
                self._schedule(now + ack_delay + adj_delay + delay, "835", f"{ref}-{npi}-{other}.835", text)
        return out

    def _requests(self, payer_id: str, claims: list[Claim], acks: list[ClaimAck]) -> dict[str, str]:
        """Voids (frequency 8) and replacements (7) among these claims: each must name (REF*F8) a claim this
        payer numbered and has not yet seen voided or replaced, else it is rejected (A7:464, the payer claim
        control number). Returns the original of each one accepted, which is superseded from now on."""
        if not any(c.frequency in ("7", "8") for c in claims):
            return {}
        known = self.known_claims()
        by_icn = {str(v["icn"]): k for k, v in known.items() if v.get("icn") and v.get("payer_id") == payer_id}
        out: dict[str, str] = {}
        for c, a in zip(claims, acks, strict=True):
            if c.frequency not in ("7", "8") or not a.accepted:
                continue
            original = by_icn.get(c.payer_claim_control_number or "")
            if original is None or known[original].get("superseded_by") or original in out.values():
                a.status, a.payer_claim_control_number = Status("A7", "464", action="U"), None
                continue
            out[c.claim_id] = original
        self._remember([{"claim_id": original, "superseded_by": request} for request, original in out.items()])
        return out

    def _answer_requests(
        self,
        payer_id: str,
        requests: list[Claim],
        originals: dict[str, str],
        start: float,
        adj_delay: float,
        key: str,
        ref: str,
        today: date,
        payees: dict[str, str],
    ) -> None:
        """The 835s for accepted voids and replacements: the original's standing adjudication reversed
        (CLP02 = 22) when it carried money, and a replacement adjudicated as the claim that now stands. They
        come after every 835 already due for the original, so a reversal never overtakes what it reverses."""
        known = self.known_claims()
        start = max([start, *(float(str(known[originals[c.claim_id]].get("last_due", 0))) for c in requests)])
        rounds: list[dict[str, list[ClaimPayment]]] = [{}, {}]
        remember: list[dict[str, object]] = []
        for c in requests:
            npi = c.billing_provider.npi or ""
            record = known[originals[c.claim_id]].get("standing")
            if isinstance(record, dict) and carries_money(record):
                rounds[0].setdefault(npi, []).append(reversal(record, c))
            if c.frequency == "7":
                o = adjudicate(self.book, c, today, self.seed, self.duplicates)
                rounds[0].setdefault(npi, []).append(o.payment)
                rounds[1].setdefault(npi, []).extend(o.later)
                remember.append(
                    {
                        "claim_id": c.claim_id,
                        "paid": str(o.payment.paid),
                        "due": start + adj_delay,
                        "standing": standing_record(o.later[-1] if o.later else o.payment),
                        "last_due": start + adj_delay * (1 + bool(o.later)),
                    }
                )
        self._remember(remember)
        for round_, items in enumerate(r for r in rounds if any(r.values())):
            for npi, payments in sorted(items.items()):
                text = self._render_835(payer_id, npi, payees[npi], payments, f"{key}:{npi}:request:{round_}", today)
                self._schedule(start + adj_delay * (round_ + 1), "835", f"{ref}-{npi}-request-{round_}.835", text)

    def _render_277ca(self, payer_id: str, claims: list[Claim], acks: list[ClaimAck], ref: str, today: date) -> str:
        providers: dict[str, ProviderAcks] = {}
        for c, a in zip(claims, acks, strict=True):
            bp = c.billing_provider
            providers.setdefault(bp.npi or "", ProviderAcks(bp.last_or_org, bp.npi or "", [])).claims.append(a)
        payer = self.book.payers.get(payer_id)
        ts = build_277ca(
            list(providers.values()),
            payer_name=payer.name if payer else claims[0].payer.name,
            payer_id=payer_id,
            receiver_name="RCM PLATFORM CLINIC",
            receiver_id="RCMCLINIC",
            batch_reference=ref,
            received=today,
            processed=today,
        )
        return self._writer(ts).render([ts])

    def _render_835(
        self,
        payer_id: str,
        npi: str,
        payee: str,
        payments: list[ClaimPayment],
        key: str,
        today: date,
        *,
        recouped: bool = False,
    ) -> str:
        """``recouped``: the check is short by a recoupment of an earlier overpayment whose PLB the payer's
        system leaves out of the file (BPR02 then is not the claims' payments minus the PLBs)."""
        payer = self.book.payers[payer_id]
        trace = f"{int(hashlib.sha256(f'{self.seed}:{key}'.encode()).hexdigest()[:15], 16) % 10**15:015d}"
        plbs: list[ProviderAdjustment] = []
        if not recouped and fraction(self.seed, key, "plb") * 100 < float(payer.setting("plb_percent", "0")):
            interest = Decimal(1 + int(fraction(self.seed, key, "interest") * 900)) / 100
            plbs.append(ProviderAdjustment("", npi, date(today.year, 12, 31), "L6", trace, -interest))
        total = sum((p.paid for p in payments), Decimal(0)) - sum((p.amount for p in plbs), Decimal(0))
        if recouped and total > 0:
            total -= min(total / 2, Decimal(100 + int(fraction(self.seed, key, "recoup") * 4900)) / 100).quantize(
                Decimal("0.01")
            )
        method = str(payer.setting("payment_method", "ACH")) if total > 0 else "NON"
        header = PaymentHeader(
            transaction="",
            handling_code="I" if total > 0 else "H",
            total_paid=total,
            credit_debit="C",
            payment_method=method,
            # BPR16, the day the money moves: the payer's usual lag after it received the claims
            payment_date=today + timedelta(days=int(payer.setting("payment_days", 14))),
            trace_number=trace,
            trace_originator=f"1{int(hashlib.sha256(payer_id.encode()).hexdigest()[:8], 16) % 10**9:09d}",
            payer_name=payer.name,
            payer_id=payer_id,
            payee_name=payee,
            payee_id_qualifier="XX",
            payee_id=npi,
            production_date=today,
        )
        ts = build_835(header, payments, plbs)
        return self._writer(ts).render([ts])

    def _writer(self, ts: TransactionSet) -> InterchangeWriter:
        return writer_for(ts, sender=US, receiver=CLINIC, numbers=self.numbers, usage="T")

    def _schedule(self, due: float, kind: str, name: str, text: str) -> None:
        target = self.pending / f"{int(due * 1000):015d}-{kind}-{name}"
        tmp = self.pending / f".{target.name}.part"
        tmp.write_text(text)
        os.replace(tmp, target)

    # -- delivery --------------------------------------------------------------------------------------
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


def _crossovers(outcomes: list[tuple[Claim, Outcome]]) -> dict[tuple[str, str], list[ClaimPayment]]:
    """The crossover payers' payments, grouped per (crossover payer, billing provider NPI)."""
    out: dict[tuple[str, str], list[ClaimPayment]] = {}
    for claim, outcome in outcomes:
        for payer_id, payment in outcome.crossover:
            out.setdefault((payer_id, claim.billing_provider.npi or ""), []).append(payment)
    return out


def _rounds(outcomes: list[tuple[Claim, Outcome]]) -> list[dict[str, list[ClaimPayment]]]:
    """Payments grouped per round (0: first 835; 1: reversals and corrections) and billing provider NPI."""
    rounds: list[dict[str, list[ClaimPayment]]] = [{}, {}]
    for claim, outcome in outcomes:
        npi = claim.billing_provider.npi or ""
        rounds[0].setdefault(npi, []).append(outcome.payment)
        if outcome.later:
            rounds[1].setdefault(npi, []).extend(outcome.later)
    return [r for r in rounds if r]
