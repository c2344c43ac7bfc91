"""Topic administration. Topics are always created explicitly, never by auto-create."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from rcm_shared.config import KafkaSettings

TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicRequest:
    name: str
    partitions: int
    config: dict[str, str] | None = None


class TopicError(RuntimeError):
    pass


async def ensure_topics(kafka: KafkaSettings, topics: Iterable[TopicRequest]) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    wanted = {t.name: t for t in topics}
    if not wanted:
        return []
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for name, t in wanted.items() if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(t.name, t.partitions, kafka.replication_factor, topic_configs=t.config or {}) for t in missing]
        )
        created = []
        for name, code, message in _topic_errors(response):
            if code == 0:
                created.append(name)
            elif code != TOPIC_ALREADY_EXISTS:  # a racing creator is fine
                raise TopicError(f"cannot create topic {name}: error {code} {message or ''}".strip())
        return created
    finally:
        await admin.close()


def _topic_errors(response: object) -> list[tuple[str, int, str | None]]:
    rows = getattr(response, "topic_errors", [])
    return [(row[0], row[1], row[2] if len(row) > 2 else None) for row in rows]


async def topic_message_totals(kafka: KafkaSettings, topics: Iterable[str]) -> dict[str, int | None]:
    """Sum of end offsets per topic (None when the topic does not exist).

    Only "zero or not" is relied on: Tansu reports the base offset of the last batch + 1, so the sum
    can be lower than the number of messages, but it is zero only for a topic that holds nothing.
    """
    consumer = AIOKafkaConsumer(**kafka.client_kwargs())
    await consumer.start()
    try:
        totals: dict[str, int | None] = {}
        for topic in topics:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                totals[topic] = None
                continue
            ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
            totals[topic] = sum(ends.values())
        return totals
    finally:
        await consumer.stop()
