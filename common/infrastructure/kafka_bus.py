"""The event bus over Kafka (aiokafka). Works with Apache Kafka and the tansu broker.

Consumers are assigned partitions explicitly and seek to offsets the service stores in its own
database, in the same transaction as the effects: exactly-once effects without Kafka
transactions (which tansu does not support).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, OffsetOutOfRangeError
from aiokafka.partitioner import murmur2

from common.ports import BusRecord, PortError, RecordsGone

_TOPIC_ALREADY_EXISTS = 36


def topic_configs(replication_factor: int) -> dict[str, str]:
    """The topics are the replay log the indexes are built from (a new database reads its
    topic from offset 0), so they keep every record: no time or size limit. Replicated, an
    acknowledged record (the producer waits for every in-sync replica) is on two brokers at
    least. (An existing topic keeps its own settings: README "Records gone from the broker".)"""
    configs = {"retention.ms": "-1", "retention.bytes": "-1"}
    if replication_factor > 1:
        configs["min.insync.replicas"] = "2"
    return configs


class KafkaEventBus:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "nova",
        linger_ms: int = 5,
        max_batch_size: int = 1 << 20,
        request_timeout_ms: int = 30_000,
        enable_idempotence: bool = False,
        fetch_max_wait_ms: int = 20,
        replication_factor: int = 1,
    ) -> None:
        # fetch_max_wait_ms: how long an idle fetch may wait on the broker. With aiokafka's
        # default (500 ms) the tip latency through tansu sat at a flat ~250 ms; 20 ms brought
        # its p50 to ~33 ms (bench/tip_latency.py). Kafka answers a waiting fetch as soon as
        # data arrives, so a short wait only costs idle fetch requests there.

        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._replication_factor = replication_factor
        self._servers = bootstrap_servers
        self._client_id = client_id
        self._linger_ms = linger_ms
        self._max_batch_size = max_batch_size
        self._request_timeout_ms = request_timeout_ms
        self._idempotent = enable_idempotence
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._partition_cache: dict[tuple[str, bytes, int], int] = {}

    async def _get_producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._servers,
                    client_id=self._client_id,
                    acks="all",
                    enable_idempotence=self._idempotent,
                    linger_ms=self._linger_ms,
                    max_batch_size=self._max_batch_size,
                    max_request_size=8 << 20,
                    request_timeout_ms=self._request_timeout_ms,
                )
                try:
                    await producer.start()
                except KafkaError as exc:
                    await producer.stop()
                    raise PortError(f"kafka at {self._servers} unreachable: {exc}") from exc
                self._producer = producer
            return self._producer

    async def create_topic(self, topic: str, partitions: int = 1) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._servers, client_id=f"{self._client_id}-admin"
        )
        try:
            await admin.start()
            resp = await admin.create_topics(
                [
                    NewTopic(
                        name=topic,
                        num_partitions=partitions,
                        replication_factor=self._replication_factor,
                        topic_configs=topic_configs(self._replication_factor),
                    )
                ]
            )
        except KafkaError as exc:
            raise PortError(f"cannot create topic {topic!r} at {self._servers}: {exc}") from exc
        finally:
            await admin.close()
        for err in resp.topic_errors:
            code = err[1]
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise PortError(f"cannot create topic {topic!r}: kafka error code {code}")

    async def publish(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
        """Build record batches per partition ourselves (aiokafka's per-record ``send`` costs
        ~25 us of Python each) and await every batch's ack. Partition = murmur2(key) % n, the
        Kafka default partitioner, computed once per key."""
        if not records:
            return
        producer = await self._get_producer()
        try:
            partitions = sorted(await producer.partitions_for(topic))
            by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
            of_key: dict[bytes, list[tuple[bytes, bytes]]] = {}  # few keys: contracts
            for record in records:
                items = of_key.get(record[0])
                if items is None:
                    p = self._partition(topic, record[0], partitions)
                    items = of_key[record[0]] = by_partition.setdefault(p, [])
                items.append(record)
            futures = []
            for partition, items in by_partition.items():
                batch = producer.create_batch()
                for key, value in items:
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        batch.close()
                        futures.append(await producer.send_batch(batch, topic, partition=partition))
                        batch = producer.create_batch()
                        if batch.append(key=key, value=value, timestamp=None) is None:
                            raise PortError(
                                f"a record of {len(value)} bytes exceeds the batch size"
                            )
                batch.close()
                futures.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise PortError(f"publish to {topic!r} failed: {exc}") from exc

    def _partition(self, topic: str, key: bytes, partitions: list[int]) -> int:
        cache_key = (topic, key, len(partitions))
        cached = self._partition_cache.get(cache_key)
        if cached is None:
            cached = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
            if len(self._partition_cache) < 100_000:
                self._partition_cache[cache_key] = cached
        return cached

    async def consumer(self, topic: str, group: str | None = None) -> KafkaBusConsumer:
        del group  # offsets live in the database: no Kafka consumer group
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._servers,
            client_id=f"{self._client_id}-consumer",
            group_id=None,
            enable_auto_commit=False,
            # a position the broker no longer holds is an error, never a jump to what is left
            # ("earliest" skipped records deleted by retention without a word)
            auto_offset_reset="none",
            max_partition_fetch_bytes=4 << 20,
            fetch_max_bytes=16 << 20,
            fetch_max_wait_ms=self._fetch_max_wait_ms,
        )

        try:
            await consumer.start()
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic)
        except KafkaError as exc:
            await consumer.stop()
            raise PortError(f"cannot consume {topic!r} at {self._servers}: {exc}") from exc
        if not partitions:
            await consumer.stop()
            raise PortError(f"unknown topic {topic!r}: create it first")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        return KafkaBusConsumer(consumer, topic, tps)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


class KafkaBusConsumer:
    def __init__(self, consumer: AIOKafkaConsumer, topic: str, tps: list[TopicPartition]) -> None:
        self._consumer = consumer
        self._topic = topic
        self._tps = tps

    async def partitions(self) -> list[int]:
        return [tp.partition for tp in self._tps]

    async def seek(self, partition: int, offset: int) -> None:
        if offset < 0:
            raise PortError(f"offset must be >= 0, got {offset}")
        tp = TopicPartition(self._topic, partition)
        if tp not in self._tps:
            raise PortError(f"topic {self._topic!r} has no partition {partition}")
        self._consumer.seek(tp, offset)

    async def fetch(self, max_records: int, timeout_s: float) -> list[BusRecord]:
        try:
            batches = await self._consumer.getmany(
                timeout_ms=int(timeout_s * 1000), max_records=max_records
            )
        except OffsetOutOfRangeError as exc:
            raise await self._gone(exc) from exc
        except KafkaError as exc:
            raise PortError(f"fetch from {self._topic!r} failed: {exc}") from exc
        out: list[BusRecord] = []
        for tp, msgs in sorted(batches.items(), key=lambda kv: kv[0].partition):
            out.extend(
                BusRecord(tp.topic, tp.partition, m.offset, m.key, m.value or b"") for m in msgs
            )
        return out

    async def _gone(self, exc: OffsetOutOfRangeError) -> RecordsGone:
        """What the broker no longer holds, and what it does (best effort)."""
        positions = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        wanted = ", ".join(f"partition {tp.partition} at {o}" for tp, o in positions.items())
        try:
            first = await self._consumer.beginning_offsets(self._tps)
            end = await self._consumer.end_offsets(self._tps)
            held = ", ".join(f"{tp.partition}: {first[tp]}..{end[tp]}" for tp in self._tps)
        except KafkaError:
            held = "unknown"
        return RecordsGone(
            f"{self._topic!r}: {wanted or 'a position'} is no longer on the broker (it holds "
            f"{held}): deleted by retention, or lost with the broker's log"
        )

    async def end_offsets(self) -> dict[int, int]:
        ends = await self._consumer.end_offsets(self._tps)
        return {tp.partition: off for tp, off in ends.items()}

    async def committed(self, offsets: Mapping[int, int]) -> None:
        return None  # offsets live in the database; the broker's retention keeps records

    async def close(self) -> None:
        await self._consumer.stop()
