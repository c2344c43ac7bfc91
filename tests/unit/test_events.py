from __future__ import annotations

import pytest
from rcm_shared.events import Envelope, EnvelopeError, EventPayload


class Paid(EventPayload):
    event_type = "remittance.claim_adjudicated"
    schema_version = 2
    claim_id: str
    paid_cents: int


def test_binary_mode_round_trip_keeps_every_attribute() -> None:
    env = Envelope.wrap(
        Paid(claim_id="C1", paid_cents=12345),
        source="/remittance",
        tenant_id="org-1",
        subject="C1",
        correlation_id="req-9",
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )
    back = Envelope.from_kafka(env.to_headers(), env.to_value())
    assert back == env
    assert back.schemaversion == 2 and back.payload_as(Paid).paid_cents == 12345


def test_caused_event_carries_tenant_correlation_and_causation() -> None:
    first = Envelope.wrap(Paid(claim_id="C1", paid_cents=1), source="/a", tenant_id="org-7")
    second = first.caused(Paid(claim_id="C1", paid_cents=2), source="/b")
    assert second.tenantid == "org-7" and second.causationid == first.id and second.correlationid == first.id


@pytest.mark.parametrize(
    ("drop", "value", "message"),
    [
        ("ce_id", b"{}", "missing CloudEvents attribute(s): id"),
        ("ce_tenantid", b"{}", "tenantid"),
        (None, b"not json", "data is not JSON"),
        (None, b"", "data is not JSON"),
        (None, b'{"name": "\xff"}', "data is not JSON"),  # not UTF-8
        (None, b'{"a": 1} {"b": 2}', "data is not JSON"),  # trailing data
        (None, b"[1,2]", "data must be a JSON object"),
    ],
)
def test_malformed_envelopes_are_refused_with_a_reason(drop: str | None, value: bytes, message: str) -> None:
    env = Envelope.wrap(Paid(claim_id="C1", paid_cents=1), source="/a", tenant_id="org-1")
    headers = [(k, v) for k, v in env.to_headers() if k != drop]
    with pytest.raises(EnvelopeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Envelope.from_kafka(headers, value)


def test_data_comes_back_as_sent() -> None:
    """Unicode, big integers, exact decimals as text, nested lists: the payload a producer wrote."""
    data = {"name": "Zoë Åström", "cents": 2**63 + 1, "amount": "1234.56", "codes": [["CO", "45"]], "none": None}
    env = Envelope(source="/a", type="t", tenantid="org-1", data=data)
    assert Envelope.from_kafka(env.to_headers(), env.to_value()).data == data


def test_wrong_specversion_is_refused() -> None:
    env = Envelope.wrap(Paid(claim_id="C1", paid_cents=1), source="/a", tenant_id="org-1")
    headers = [(k, b"0.3" if k == "ce_specversion" else v) for k, v in env.to_headers()]
    with pytest.raises(EnvelopeError, match="unsupported specversion"):
        Envelope.from_kafka(headers, env.to_value())


@pytest.mark.parametrize(
    ("header", "raw", "message"),
    [
        ("ce_source", b"/cl\xffims", "header 'ce_source' is not UTF-8"),
        ("content-type", b"text/\xff", "unsupported content type 'text/\ufffd'"),
        ("content-type", b"text/plain", "unsupported content type 'text/plain'"),
        ("ce_schemaversion", b"two", "invalid attribute: ('schemaversion',)"),
        ("ce_time", b"yesterday", "invalid attribute: ('time',)"),
    ],
)
def test_attributes_that_do_not_decode_or_validate_are_named(header: str, raw: bytes, message: str) -> None:
    env = Envelope.wrap(Paid(claim_id="C1", paid_cents=1), source="/a", tenant_id="org-1")
    headers = [(k, raw if k == header else v) for k, v in env.to_headers()]
    with pytest.raises(EnvelopeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Envelope.from_kafka(headers, env.to_value())


def test_unknown_headers_and_extensions_are_ignored() -> None:
    env = Envelope.wrap(Paid(claim_id="C1", paid_cents=1), source="/a", tenant_id="org-1")
    headers = [*env.to_headers(), ("ce_partnerext", b"x"), ("x-retry", b"\xff")]
    assert Envelope.from_kafka(headers, env.to_value()) == env
