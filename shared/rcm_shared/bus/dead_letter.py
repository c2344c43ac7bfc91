"""Dead letters: a record that cannot be handled goes to ``<topic>.dlq`` with the reason in its headers."""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError

from rcm_shared.metrics import DEAD_LETTERED
from rcm_shared.topics import dlq_topic

log = logging.getLogger("rcm_shared.bus.consumer")  # the consumer's log lines, whichever module writes them


async def dead_letter(
    producer: AIOKafkaProducer,
    consumer: str,
    record: ConsumerRecord[bytes, bytes],
    reason: str,
    *,
    attempts: int,
    cause: str,
    event_type: str | None = None,
    error: BaseException | None = None,
    exc: BaseException | None = None,
) -> None:
    """Send ``record`` to its DLQ with ``reason`` (and ``exc``'s text) in the headers, for whoever works
    the DLQ, which is as confidential as the topic; the log line names the ``cause`` (a code), the event
    type and ``error``'s type only, since a reason quotes what failed to parse."""
    headers = list(record.headers or ())
    headers += [
        ("dlq-reason", reason.encode()[:4000]),
        ("dlq-original-topic", record.topic.encode()),
        ("dlq-original-partition", str(record.partition).encode()),
        ("dlq-original-offset", str(record.offset).encode()),
        ("dlq-consumer", consumer.encode()),
        ("dlq-attempts", str(attempts).encode()),
        ("dlq-failed-at", datetime.now(UTC).isoformat().encode()),
    ]
    if exc is not None:
        headers.append(("dlq-exception", "".join(traceback.format_exception_only(exc)).encode()[:4000]))
    try:
        await producer.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key, headers=headers)
    except KafkaError:
        log.error(
            "cannot write to the dead-letter topic; the message stays uncommitted",
            extra={"topic": dlq_topic(record.topic)},
        )
        raise
    DEAD_LETTERED.labels(consumer, record.topic).inc()
    log.error(
        "dead-lettered",
        extra={
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "cause": cause,
            "event_type": event_type,
            "error": error,
        },
    )


def short(exc: BaseException) -> str:
    """An exception's type and text for a dead letter's reason, cut to a header's size."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 500 else text[:497] + "..."
