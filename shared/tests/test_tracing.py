"""Trace context from an HTTP request into the events it writes, and from an event into its consumer.

The span exporter here is the SDK's in-memory one; the OTLP path across real processes is checked by
the e2e cycle (tests/e2e/test_demo_cycle.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rcm_shared import tracing
from rcm_shared.config import BaseServiceSettings
from rcm_shared.events import Envelope, EventPayload
from rcm_shared.testing import app_client, migrate
from rcm_shared.web import create_service_app

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
_PROVIDER: dict[str, Any] = {}


class Ping(EventPayload):
    event_type = "test.ping"
    claim_id: str


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    if "provider" not in _PROVIDER:  # the global provider can be set once per process
        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _PROVIDER.update(provider=provider, exporter=exporter)
    saved = dict(tracing._state)
    tracing._state.update(enabled=True, provider=_PROVIDER["provider"])
    _PROVIDER["exporter"].clear()
    try:
        yield _PROVIDER["exporter"]
    finally:
        tracing._state.clear()
        tracing._state.update(saved)


def _ids(traceparent: str | None) -> tuple[str, str]:
    assert traceparent, "no trace context"
    _version, trace_id, span_id, _flags = traceparent.split("-")
    return trace_id, span_id


async def test_a_callers_trace_runs_through_the_api_into_the_event_and_its_consumer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter
) -> None:
    from claims.models import bus

    monkeypatch.setenv("AUTH_MODE", "off")
    url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
    await migrate(Path(__file__).resolve().parents[2] / "services" / "claims", url, "claims")
    router = APIRouter()

    @router.post("/v1/things")
    async def create() -> dict[str, Any]:
        env = Envelope.wrap(Ping(claim_id="C1"), source="test", tenant_id="t1", subject="C1")
        return {"traceparent": env.traceparent, "headers": [[k, v.decode()] for k, v in env.to_headers()]}

    settings = BaseServiceSettings(database_url=url)
    app_factory = lambda: create_service_app(settings, bus, title="t", routers=[router])  # noqa: E731
    async with app_client(app_factory) as client:
        body = (await client.post("/v1/things", headers={"traceparent": CALLER})).json()
        await client.get("/healthz")  # probes are not traced
    trace_id, event_parent = _ids(body["traceparent"])
    assert trace_id == TRACE_ID  # the caller's trace, continued
    headers = dict(body["headers"])
    assert headers["ce_traceparent"] == headers["traceparent"] == body["traceparent"]
    server = [s for s in spans.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert [s.name for s in server] == ["POST /v1/things"]
    assert format(server[0].context.span_id, "016x") == event_parent  # the event was written in the request's span
    assert format(server[0].parent.span_id, "016x") == "00f067aa0ba902b7"  # type: ignore[union-attr]

    # the consumer's span is the event's child, and what the handler emits continues the same trace
    received = Envelope.from_kafka([(k, v.encode()) for k, v in body["headers"]], b'{"claim_id":"C1"}')
    with tracing.consumer_span(received, "test.topic", 2, "claims-worker"):
        reply = received.caused(Ping(claim_id="C1"), source="test", subject="C1")
    consumer = next(s for s in spans.get_finished_spans() if s.kind == trace.SpanKind.CONSUMER)
    assert consumer.name == "process test.topic"
    assert format(consumer.parent.span_id, "016x") == event_parent  # type: ignore[union-attr]
    assert consumer.attributes is not None and consumer.attributes["cloudevents.event_subject"] == "C1"
    assert consumer.attributes["messaging.destination.partition.id"] == "2"
    reply_trace, reply_parent = _ids(reply.traceparent)
    assert (reply_trace, reply_parent) == (TRACE_ID, format(consumer.context.span_id, "016x"))


def test_a_root_span_starts_a_new_trace(spans: InMemorySpanExporter) -> None:
    with tracing.tracer().start_as_current_span("request"):
        outer = tracing.trace_id()
        with tracing.root_span("ingest 835 file", **{"rcm.file": "era.835"}):
            inner = tracing.trace_id()
    assert outer and inner and outer != inner
    root = next(s for s in spans.get_finished_spans() if s.name == "ingest 835 file")
    assert root.parent is None


def test_with_tracing_off_no_spans_but_an_upstream_context_passes_through() -> None:
    assert not tracing.tracing_enabled()
    assert Envelope.wrap(Ping(claim_id="C1"), source="t", tenant_id="t").traceparent is None
    upstream = Envelope.wrap(Ping(claim_id="C1"), source="t", tenant_id="t", traceparent=CALLER)
    with tracing.consumer_span(upstream, "test.topic", 0, "g"):
        assert tracing.current_traceparent() is None
        assert upstream.caused(Ping(claim_id="C1"), source="t").traceparent == CALLER


def test_an_unknown_exporter_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    monkeypatch.setitem(tracing._state, "provider", None)
    with pytest.raises(ValueError, match="zipkin"):
        tracing.configure_tracing("claims", "api")


def test_a_batch_call_gets_one_span_per_event_each_continuing_its_events_trace(spans: InMemorySpanExporter) -> None:
    other_trace = "0af7651916cd43dd8448eb211c80319c"
    sent = [
        Envelope.wrap(Ping(claim_id="C1"), source="t", tenant_id="t1", subject="C1", traceparent=CALLER),
        Envelope.wrap(
            Ping(claim_id="C2"),
            source="t",
            tenant_id="t1",
            subject="C2",
            traceparent=f"00-{other_trace}-b7ad6b7169203331-01",
        ),
    ]
    with tracing.consumer_batch_spans(sent, "test.topic", 1, "remittance-worker"):
        assert tracing.current_traceparent() is None  # no one event's span is current for the whole call
        replies = [
            Envelope.wrap(Ping(claim_id="C1"), source="t", tenant_id="t1", traceparent=tracing.handling(sent[0])),
            sent[1].caused(Ping(claim_id="C2"), source="t"),  # the same, by causation
        ]
    assert tracing.handling(sent[0]) is None  # outside the call
    consumers = sorted(
        (s for s in spans.get_finished_spans() if s.kind == trace.SpanKind.CONSUMER),
        key=lambda s: str(s.attributes["cloudevents.event_subject"]),  # type: ignore[index]
    )
    assert [s.attributes["cloudevents.event_subject"] for s in consumers] == ["C1", "C2"]  # type: ignore[index]
    for span, event, reply, parent in zip(
        consumers, sent, replies, ("00f067aa0ba902b7", "b7ad6b7169203331"), strict=True
    ):
        assert span.name == "process test.topic" and span.attributes["messaging.batch.message_count"] == 2  # type: ignore[index]
        assert format(span.parent.span_id, "016x") == parent  # type: ignore[union-attr]
        assert _ids(reply.traceparent) == (_ids(event.traceparent)[0], format(span.context.span_id, "016x"))
