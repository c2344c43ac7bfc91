"""Which handler an event goes to: (event type, schema version) -> handler, one event or a batch at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.events import Envelope

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
Wants = Callable[[Envelope], bool]
BatchHandler = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]


class PermanentError(Exception):
    """Raised by a handler for input that can never succeed: dead-lettered without retries."""


@dataclass
class HandlerRegistry:
    """(event type, schema version) -> handler; a batch handler also serves single events (a list of one)."""

    _handlers: dict[tuple[str, int], Handler] = field(default_factory=dict)
    _batch: dict[tuple[str, int], BatchHandler] = field(default_factory=dict)
    _wants: dict[tuple[str, int], Wants] = field(default_factory=dict)

    def register(self, event_type: str, version: int, handler: Handler, wants: Wants | None = None) -> None:
        key = (event_type, version)
        if key in self._handlers:
            raise ValueError(f"handler for {event_type} v{version} registered twice")
        self._handlers[key] = handler
        if wants is not None:
            self._wants[key] = wants

    def on(self, event_type: str, version: int = 1, *, wants: Wants | None = None) -> Callable[[Handler], Handler]:
        """Register a handler of this event type; see ``on_batch`` for ``wants``."""

        def decorate(fn: Handler) -> Handler:
            self.register(event_type, version, fn, wants)
            return fn

        return decorate

    def on_batch(
        self, event_type: str, version: int = 1, *, wants: Wants | None = None
    ) -> Callable[[BatchHandler], BatchHandler]:
        """Register a handler called with consecutive events of this type (in order) in one transaction.

        ``wants``: for a consumer that acts on a few events of a type only, a test of the event alone (never of
        stored state) that is false for the events the handler would do nothing with. Those are passed over:
        no inbox row, no transaction; their offsets are committed with the others'. Handling one twice would
        change nothing, so passing over is exactly-once in effect. If the test raises (a payload that does not
        validate), the event goes to the handler as any other, and from there to the DLQ."""

        def decorate(fn: BatchHandler) -> BatchHandler:
            async def one(session: AsyncSession, envelope: Envelope) -> None:
                await fn(session, [envelope])

            self.register(event_type, version, one, wants)
            self._batch[(event_type, version)] = fn
            return fn

        return decorate

    def get(self, event_type: str, version: int) -> Handler | None:
        return self._handlers.get((event_type, version))

    def wanted(self, envelope: Envelope) -> bool:
        """False for an event its handler has no use for (``wants``); true for any other, unknown ones too."""
        wants = self._wants.get((envelope.type, envelope.schemaversion))
        if wants is None:
            return True
        try:
            return wants(envelope)
        except Exception:  # noqa: BLE001 - the handler refuses it with the reason, into the DLQ
            return True

    def batch(self, event_type: str, version: int) -> BatchHandler | None:
        return self._batch.get((event_type, version))
