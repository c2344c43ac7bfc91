"""One HL7 v2 message in, its acknowledgment out (the listener's whole work per MLLP frame).

1. A frame without a readable MSH has nobody to answer: ``None`` (the listener logs a warning and reads on).
2. The header is checked (version, processing id, message type and event) and the sending facility (MSH-4)
   names the tenant (``CLAIMS_HL7_SENDERS``): else AR, nothing stored.
3. In the tenant's transaction the message is applied (ADT: the registration; DFT: the charges) and stored
   as handled with its AA. A control id (MSH-10) this sender used before fails on that row's key: the
   transaction rolls back, and the acknowledgment stored for it is answered again; nothing is applied twice.
4. A message whose content is wrong is applied not at all and answered AE (ERR naming segment, field and
   reason), the AE stored as handled in a transaction of its own.
5. The database away, or a failure of ours: AR with code 207, nothing stored; the sender may send it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import hl7
from rcm_shared.db import database_unreachable
from rcm_shared.unit import Actor, Unit, Units
from sqlalchemy.exc import IntegrityError

from claims.adapters import hl7_ack, hl7_in
from claims.config import ClaimsSettings
from claims.domain import hl7 as h
from claims.domain.scrubber import ScrubContext
from claims.repository.hl7 import Hl7Repository
from claims.use_cases.hl7_charges import apply_dft
from claims.use_cases.hl7_follow import follow_up

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    ack: str
    code: str  # AA | AE | AR
    control_id: str
    message_type: str
    duplicate: bool = False


async def apply_adt(unit: Unit, adt: h.Adt) -> None:
    """The registration written; an A40 also points the merged record to this one and moves its open
    encounters (charges not yet a claim) here."""
    repo = Hl7Repository(unit)
    await repo.save_registration(adt.registration, adt.header.control_id)
    await repo.retry_problems(adt.registration.mrn)
    if adt.merged_mrn is not None and adt.merged_mrn != adt.registration.mrn:
        await repo.merge(adt.merged_mrn, adt.registration.mrn)


class Handler:
    """Answers the frames of every connection of one listener: its units, settings and scrub resources."""

    def __init__(self, units: Units, settings: ClaimsSettings, scrub: Callable[[], ScrubContext]) -> None:
        self.units = units
        self.settings = settings
        self.scrub = scrub

    def _ack(self, head: h.Header, code: str, problems: Sequence[hl7_ack.Problem] = ()) -> str:
        return hl7_ack.acknowledgment(head, code, problems, application=self.settings.hl7_application)

    @staticmethod
    def _answer(head: h.Header, ack: str, code: str, *, duplicate: bool = False) -> Answer:
        return Answer(ack, code, head.control_id, head.message_type, duplicate)

    async def handle(self, frame: bytes, facilities: frozenset[str] | None = None) -> Answer | None:
        """The frame's answer; ``facilities``: those the connection's client certificate may send for (None:
        no client certificate is asked for, any facility of ``CLAIMS_HL7_SENDERS``)."""
        try:
            message = hl7_in.read(frame)
            head = hl7_in.header(message)
        except Exception:  # noqa: BLE001 - whatever keeps the header from reading: nobody to answer
            return None
        try:
            hl7_in.check_header(head, self.settings.hl7_processing_id)
        except h.MessageError as exc:
            return self._answer(head, self._ack(head, hl7_ack.REJECT, [hl7_ack.of_error(exc)]), hl7_ack.REJECT)
        tenant = self.settings.hl7_senders.get(head.facility)
        if tenant is not None and facilities is not None and head.facility not in facilities:
            where = h.Location("MSH", 1, 4, 1)
            text = "MSH-4 names a facility the client certificate may not send for"
            problem = hl7_ack.Problem(h.UNKNOWN_KEY_IDENTIFIER, text, where)
            return self._answer(head, self._ack(head, hl7_ack.REJECT, [problem]), hl7_ack.REJECT)
        if tenant is None:
            where = h.Location("MSH", 1, 4, 1)
            problem = hl7_ack.Problem(h.UNKNOWN_KEY_IDENTIFIER, "MSH-4 names no sender this listener serves", where)
            return self._answer(head, self._ack(head, hl7_ack.REJECT, [problem]), hl7_ack.REJECT)
        try:
            return await self._apply(tenant, message, head)
        except Exception as exc:  # noqa: BLE001 - answered AR: the sender keeps the message and retries
            level = logging.WARNING if database_unreachable(exc) else logging.ERROR
            log.log(
                level,
                "hl7 message not handled: answered AR",
                extra={"control_id": head.control_id, "message_type": head.message_type, "error": exc},
            )
            problem = hl7_ack.Problem(h.APPLICATION_INTERNAL_ERROR, "not handled now: send the message again", None)
            return self._answer(head, self._ack(head, hl7_ack.REJECT, [problem]), hl7_ack.REJECT)

    async def _apply(self, tenant: str, message: hl7.Message, head: h.Header) -> Answer:
        actor = Actor(f"hl7:{head.sender}"[:120], correlation_id=head.control_id[:64])
        content: h.Adt | h.Dft | None = None
        error: h.MessageError | None = None
        try:
            content = hl7_in.adt(message, head) if head.message_code == "ADT" else hl7_in.dft(message, head)
        except h.MessageError as exc:
            error = exc
        except (ArithmeticError, ValueError):
            # a value the reading above did not foresee (the fields it knows are named): the same every
            # time the message comes, so an error of its content, never "send it again"
            error = h.MessageError(h.DATA_TYPE_ERROR, "a field of the message does not read (a number or date)")
        try:
            async with self.units.write(tenant, actor) as unit:
                # no look for the control id first: a message sent again fails on the handled row's key
                # at the end of this transaction, which rolls back all it did (below)
                repo = Hl7Repository(unit)
                if content is None:
                    assert error is not None
                    ack = self._ack(head, hl7_ack.ERROR, [hl7_ack.of_error(error)])
                    await repo.record_message(head, hl7_ack.ERROR, ack)
                    return self._answer(head, ack, hl7_ack.ERROR)
                try:
                    notices, follow = await self._apply_content(unit, content)
                except h.MessageError as exc:
                    error = exc
                    raise
                ack = self._ack(head, hl7_ack.ACCEPT, [hl7_ack.of_notice(n) for n in notices])
                await repo.record_message(head, hl7_ack.ACCEPT, ack)
            if follow is not None:
                # the charges are stored and acknowledged whatever comes of this: a claim that cannot
                # follow them now keeps its encounter pending, for the worker (use_cases.hl7_follow)
                try:
                    await follow_up(self.units, tenant, follow, self.settings, self.scrub(), actor)
                except Exception as exc:  # noqa: BLE001 - the message is applied: the worker follows up
                    log.warning(
                        "hl7 claim follow-up left to the worker",
                        extra={"control_id": head.control_id, "message_type": head.message_type, "error": exc},
                    )
            return self._answer(head, ack, hl7_ack.ACCEPT)
        except h.MessageError:
            pass  # rolled back: nothing of the message is applied
        except IntegrityError:
            return await self._stored(tenant, head)  # the same message, handled meanwhile on another connection
        assert error is not None
        ack = self._ack(head, hl7_ack.ERROR, [hl7_ack.of_error(error)])
        try:
            async with self.units.write(tenant, actor) as unit:
                await Hl7Repository(unit).record_message(head, hl7_ack.ERROR, ack)
        except IntegrityError:
            return await self._stored(tenant, head)
        return self._answer(head, ack, hl7_ack.ERROR)

    async def _apply_content(self, unit: Unit, content: h.Adt | h.Dft) -> tuple[tuple[h.Notice, ...], str | None]:
        if isinstance(content, h.Adt):
            await apply_adt(unit, content)
            return (), None
        applied = await apply_dft(unit, content, self.settings, self.scrub())
        return applied.notices, applied.follow

    async def _stored(self, tenant: str, head: h.Header) -> Answer:
        async with self.units.read(tenant) as unit:
            row = await Hl7Repository(unit).handled(head.sender, head.control_id)
        if row is None:  # the other transaction failed after all: nothing stored to answer with
            raise RuntimeError("a concurrent copy of the message was not stored")
        return self._answer(head, row.ack, row.ack_code, duplicate=True)
