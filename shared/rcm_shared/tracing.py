"""OpenTelemetry tracing across HTTP and Kafka.

Off unless configured, and then by the standard OpenTelemetry variables, so a collector, a sampler or
an extra resource attribute is a deployment setting, not a code change:

- ``OTEL_TRACES_EXPORTER``: ``none`` (default: no spans, no instrumentation), ``otlp`` (OTLP over
  HTTP/protobuf to ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; headers,
  timeout and compression from the ``OTEL_EXPORTER_OTLP_*`` variables) or ``console`` (spans on stdout);
- ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (default ``parentbased_always_on``);
- ``OTEL_BSP_*`` (batching of the export), ``OTEL_RESOURCE_ATTRIBUTES`` (e.g. ``deployment.environment``).

What is traced: every API request (server span; ``traceparent`` from the caller is honoured), every outgoing
HTTP call (client span; ``traceparent`` sent, e.g. to the clearinghouse), and every consumed event (consumer
span, child of the span that wrote the event; a batch handler's call gets one such span per event, and acts
on each event in its span). The trace context travels inside the event: :class:`~rcm_shared.events.Envelope`
takes the current context when it is created (in the request's or the handler's span) and the relay
publishes it as the ``ce_traceparent`` header (CloudEvents distributed-tracing extension) and the W3C
``traceparent`` header. So a claim entered over the API is one trace through the claims API, the outbox, and
every service consuming its events. Spans carry ids (event id, claim id as the event subject), never patient
data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

if TYPE_CHECKING:
    from fastapi import FastAPI

    from rcm_shared.events import Envelope

log = logging.getLogger(__name__)
_TRACER_NAME = "rcm"
_state: dict[str, Any] = {"enabled": False, "provider": None}
# Probes and scrapes would be most of the spans and tell nothing.
EXCLUDED_URLS = "/healthz,/readyz,/metrics"


def exporter_name() -> str:
    return os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower() or "none"


def configure_tracing(service_name: str, role: str) -> bool:
    """Set up the process's tracer provider once; ``role`` is api, worker, sandbox or cli.

    Returns whether tracing is on. An unknown exporter name is a configuration error.
    """
    if _state["provider"] is not None:
        return bool(_state["enabled"])
    name = exporter_name()
    if name == "none":
        _state["provider"] = False
        return False
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    elif name == "console":
        exporter = ConsoleSpanExporter()
    else:
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not supported here (use none, otlp or console)")
    resource = Resource.create(
        {SERVICE_NAME: service_name, "rcm.role": role, SERVICE_INSTANCE_ID: f"{os.uname().nodename}:{os.getpid()}"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    _state.update(enabled=True, provider=provider)
    log.info("tracing on", extra={"exporter": name, "role": role})
    return True


def tracing_enabled() -> bool:
    return bool(_state["enabled"])


def instrument_app(app: FastAPI) -> None:
    """Server spans for every request of ``app`` (when tracing is on)."""
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])


def shutdown_tracing() -> None:
    """Flush what is still batched (at the end of a worker or an API's lifespan)."""
    provider = _state["provider"]
    if provider:
        provider.force_flush()


def tracer() -> trace.Tracer:
    return trace.get_tracer(_TRACER_NAME)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside any (valid) span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def trace_id() -> str | None:
    """The current trace id as 32 hex digits, for log lines."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


@contextmanager
def client_span(method: str, url: str, headers: dict[str, str]) -> Iterator[None]:
    """The client span of an outgoing HTTP call made with a client that is not instrumented (aiohttp);
    its ``traceparent`` goes into ``headers`` so the server continues the trace."""
    if not tracing_enabled():
        yield
        return
    attributes = {"http.request.method": method, "url.full": url}
    with tracer().start_as_current_span(method, kind=trace.SpanKind.CLIENT, attributes=attributes):
        propagate.inject(headers)
        yield


def _consumer_attributes(envelope: Envelope, topic: str, partition: int, consumer: str) -> dict[str, str | int]:
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": str(partition),
        "messaging.consumer.group.name": consumer,
        "messaging.message.id": envelope.id,
        "cloudevents.event_type": envelope.type,
        "cloudevents.event_subject": envelope.subject or "",
        "rcm.tenant_id": envelope.tenantid,
    }


def _parent(traceparent: str | None) -> otel_context.Context | None:
    return propagate.extract({"traceparent": traceparent}) if traceparent else None


@contextmanager
def consumer_span(envelope: Envelope, topic: str, partition: int, consumer: str) -> Iterator[None]:
    """The span of handling one event: a child of the span that created it (the ``traceparent`` the
    event carries), so the handler's own events and calls continue the producer's trace."""
    if not tracing_enabled():
        yield
        return
    with tracer().start_as_current_span(
        f"process {topic}",
        context=_parent(envelope.traceparent),
        kind=trace.SpanKind.CONSUMER,
        attributes=_consumer_attributes(envelope, topic, partition, consumer),
    ):
        yield


_BATCH: ContextVar[dict[str, str] | None] = ContextVar("rcm_batch_spans", default=None)  # event id -> its span


@contextmanager
def consumer_batch_spans(envelopes: Sequence[Envelope], topic: str, partition: int, consumer: str) -> Iterator[None]:
    """The spans of handling several events in one call: one per event, each the child of the span that
    created its event as with ``consumer_span``, all lasting the call. No span is current during the call:
    an event the handler emits for one of them continues that one's trace with
    ``Envelope.wrap(..., traceparent=handling(envelope))``."""
    if not tracing_enabled():
        yield
        return
    spans, handling = [], {}
    for envelope in envelopes:
        attributes = _consumer_attributes(envelope, topic, partition, consumer)
        attributes["messaging.batch.message_count"] = len(envelopes)
        span = tracer().start_span(
            f"process {topic}",
            context=_parent(envelope.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
        )
        spans.append(span)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        handling[envelope.id] = carrier["traceparent"]
    token = _BATCH.set(handling)
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        _BATCH.reset(token)
        for span in spans:
            span.end()


def handling(envelope: Envelope) -> str | None:
    """The ``traceparent`` of the span handling ``envelope`` in a batch call (None outside one: the current
    span, a single event's, is then the one to continue)."""
    spans = _BATCH.get()
    return spans.get(envelope.id) if spans else None


@contextmanager
def root_span(name: str, **attributes: str) -> Iterator[None]:
    """A new trace for work that no request started (a file found in a watched folder, a timer)."""
    if not tracing_enabled():
        yield
        return
    token = otel_context.attach(otel_context.Context())  # never a child of whatever ran before
    try:
        with tracer().start_as_current_span(name, kind=trace.SpanKind.INTERNAL, attributes=attributes):
            yield
    finally:
        otel_context.detach(token)
