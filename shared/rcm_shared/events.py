"""CloudEvents 1.0 envelope, carried on Kafka in *binary* content mode.

On the wire a message is: key = the aggregate id (claim id, remittance id, ...) so that all events of
one aggregate land on one partition in order; value = the JSON payload (``data``); headers = the
CloudEvents attributes as ``ce_<attribute>`` plus ``content-type``. Extensions we use:

- ``ce_schemaversion``: the payload's schema version (integer, as text); (type, version) selects the parser.
- ``ce_tenantid``: the organization the event belongs to. Every event has one.
- ``ce_correlationid`` / ``ce_causationid``: the request or message that started the flow / caused this event.
- ``ce_traceparent``: W3C trace context (CloudEvents distributed-tracing extension).

Binary mode keeps the value a plain JSON document that any consumer can read without knowing
CloudEvents, while routing and dedupe need only the headers.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import from_json, to_json

from rcm_shared.ids import new_id
from rcm_shared.tracing import current_traceparent, handling

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
_HEADER_PREFIX = "ce_"
P = TypeVar("P", bound="EventPayload")
_REQUIRED = ("id", "source", "type", "specversion", "time", "tenantid", "schemaversion")


class EnvelopeError(ValueError):
    """The message is not a valid envelope (missing or malformed attributes, undecodable data)."""


class EventPayload(BaseModel):
    """Base class of typed event payloads. Subclasses set ``event_type`` and ``schema_version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1


class Envelope(BaseModel):
    """One event: CloudEvents attributes plus our extensions, and the payload as a JSON-able dict."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    source: str
    type: str
    specversion: str = SPECVERSION
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: str = CONTENT_TYPE
    schemaversion: int = 1
    tenantid: str
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: EventPayload,
        *,
        source: str,
        tenant_id: str,
        subject: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
    ) -> Self:
        return cls(
            source=source,
            type=payload.event_type,
            schemaversion=payload.schema_version,
            subject=subject,
            tenantid=tenant_id,
            correlationid=correlation_id,
            causationid=causation_id,
            # the span this event is created in (the request's, the handler's): consumers continue it
            traceparent=traceparent if traceparent is not None else current_traceparent(),
            data=payload.model_dump(mode="json"),
        )

    def caused(self, payload: EventPayload, *, source: str, subject: str | None = None) -> Envelope:
        """A new event caused by this one: same tenant, correlation and trace (the span handling this one,
        in a batch call too), causation = this id."""
        return Envelope.wrap(
            payload,
            source=source,
            tenant_id=self.tenantid,
            subject=subject,
            correlation_id=self.correlationid or self.id,
            causation_id=self.id,
            traceparent=handling(self) or current_traceparent() or self.traceparent,
        )

    def to_headers(self) -> list[tuple[str, bytes]]:
        headers: list[tuple[str, bytes]] = [("content-type", self.datacontenttype.encode())]
        for name in (
            "id",
            "source",
            "type",
            "specversion",
            "subject",
            "schemaversion",
            "tenantid",
            "correlationid",
            "causationid",
            "traceparent",
        ):
            value = getattr(self, name)
            if value is not None:
                headers.append((_HEADER_PREFIX + name, str(value).encode()))
        headers.append((_HEADER_PREFIX + "time", self.time.isoformat().encode()))
        if self.traceparent:  # also under the W3C name, for consumers instrumented off the shelf
            headers.append(("traceparent", self.traceparent.encode()))
        return headers

    def to_value(self) -> bytes:
        return to_json(self.data)  # compact, keys in the payload model's field order

    @classmethod
    def from_kafka(cls, headers: Sequence[tuple[str, bytes]] | None, value: bytes | None) -> Envelope:
        # The attributes go to the model as the bytes they came in: it decodes them (UTF-8) as it validates.
        attrs: dict[str, Any] = {}
        for name, raw in headers or ():
            attribute = _ATTRIBUTE_OF_HEADER.get(name)
            if attribute is not None:
                attrs[attribute] = raw
        missing = [a for a in _REQUIRED if not attrs.get(a)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents attribute(s): {', '.join(missing)}")
        if attrs["specversion"] != _SPECVERSION_BYTES:
            raise EnvelopeError(f"unsupported specversion {_text(attrs['specversion'])!r}")
        content_type = attrs.get("datacontenttype")
        if content_type is not None and content_type != _CONTENT_TYPE_BYTES:
            raise EnvelopeError(f"unsupported content type {_text(content_type)!r}")
        try:
            data = from_json(value or b"")  # pydantic's parser: a third of json.loads' time on event payloads
        except ValueError as exc:
            raise EnvelopeError(f"data is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("data must be a JSON object")
        try:
            return cls(**attrs, data=data)
        except ValidationError as exc:
            error = exc.errors()[0]
            if error["type"] == "string_unicode":
                raise EnvelopeError(f"header {_header_of(error['loc'][0])!r} is not UTF-8") from exc
            raise EnvelopeError(f"invalid attribute: {error['loc']} {error['msg']}") from exc

    def payload_as(self, model: builtins.type[P]) -> P:
        return model.model_validate(self.data)


_ATTRIBUTE_OF_HEADER = {
    "content-type": "datacontenttype",
    **{_HEADER_PREFIX + name: name for name in Envelope.model_fields if name not in ("data", "datacontenttype")},
}
_SPECVERSION_BYTES = SPECVERSION.encode()
_CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()


def _header_of(attribute: object) -> str:
    return "content-type" if attribute == "datacontenttype" else f"{_HEADER_PREFIX}{attribute}"


def _text(raw: bytes) -> str:
    return raw.decode(errors="replace")


def header_map(headers: Sequence[tuple[str, bytes]] | None) -> Mapping[str, bytes]:
    return dict(headers or ())
