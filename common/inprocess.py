"""In-process adapters of the ports: real implementations for the embedded mode and unit tests."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from common.ports import ArchivedLog, BusRecord, Invalidation, PortError, RecordsGone, key_domains


class InMemoryEventBus:
    """Topics as lists in memory; one partition per topic. Consumers wake on publish. What
    every group reading a topic has committed is dropped (the embedded mode runs for hours: it
    kept every record), so offsets are absolute: a topic's list starts at its base. A group's
    commit outlives its consumer (the next one seeks back to it); a consumer without a group
    holds records only while it is open."""

    TRIM_AT = 10_000  # committed records a topic drops at once (a list shift per trim)

    def __init__(self) -> None:
        self._topics: dict[str, list[BusRecord]] = {}
        self._base: dict[str, int] = {}
        self._consumers: dict[str, set[InMemoryBusConsumer]] = {}  # open, without a group
        self._holds: dict[str, dict[str, int]] = {}  # topic -> group -> committed offset
        self._changed = asyncio.Condition()

    async def create_topic(self, topic: str, partitions: int = 1) -> None:
        if partitions != 1:
            raise PortError("the in-process bus has exactly one partition per topic")
        self._topics.setdefault(topic, [])
        self._base.setdefault(topic, 0)
        self._consumers.setdefault(topic, set())
        self._holds.setdefault(topic, {})

    async def publish(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
        log = self._topics.get(topic)
        if log is None:
            raise PortError(f"unknown topic {topic!r}: create it first")
        end = self._base[topic] + len(log)
        for i, (key, value) in enumerate(records):
            log.append(BusRecord(topic, 0, end + i, key, value))
        async with self._changed:
            self._changed.notify_all()

    async def consumer(self, topic: str, group: str | None = None) -> InMemoryBusConsumer:
        if topic not in self._topics:
            raise PortError(f"unknown topic {topic!r}: create it first")
        consumer = InMemoryBusConsumer(self, topic, group)
        if group is None:
            self._consumers[topic].add(consumer)
        else:
            self._holds[topic].setdefault(group, 0)
        return consumer

    async def close(self) -> None:
        return None

    def retained(self, topic: str) -> tuple[int, int]:
        """(first, end) offsets the topic holds."""
        base = self._base[topic]
        return base, base + len(self._topics[topic])

    def _records(self, topic: str, offset: int, limit: int) -> list[BusRecord]:
        base = self._base[topic]
        if offset < base:
            raise RecordsGone(
                f"{topic!r} offset {offset} was dropped (committed by every consumer); "
                f"it holds {base} onwards"
            )
        return self._topics[topic][offset - base : offset - base + limit]

    def _commit(self, consumer: InMemoryBusConsumer, offset: int) -> None:
        topic, group = consumer.topic, consumer.group
        if group is not None:
            holds = self._holds[topic]
            holds[group] = max(holds[group], offset)
        consumer.committed_offset = max(consumer.committed_offset, offset)
        self._trim(topic)

    def _trim(self, topic: str) -> None:
        """Drop what every group and open consumer without one has committed."""
        floors = [*self._holds[topic].values()]
        floors += [c.committed_offset for c in self._consumers[topic]]
        if not floors:
            return
        floor = min(floors)
        drop = floor - self._base[topic]
        if drop >= self.TRIM_AT:
            del self._topics[topic][:drop]
            self._base[topic] = floor


class InMemoryBusConsumer:
    def __init__(self, bus: InMemoryEventBus, topic: str, group: str | None = None) -> None:
        self._bus = bus
        self._topic = topic
        self._position = 0
        self.topic = topic
        self.group = group
        self.committed_offset = 0

    async def partitions(self) -> list[int]:
        return [0]

    async def seek(self, partition: int, offset: int) -> None:
        if partition != 0:
            raise PortError(f"topic {self._topic!r} has no partition {partition}")
        if offset < 0:
            raise PortError(f"offset must be >= 0, got {offset}")
        self._position = offset

    async def fetch(self, max_records: int, timeout_s: float) -> list[BusRecord]:
        bus = self._bus
        if self._position >= bus.retained(self._topic)[1]:
            async with bus._changed:
                try:
                    await asyncio.wait_for(
                        bus._changed.wait_for(
                            lambda: self._position < bus.retained(self._topic)[1]
                        ),
                        timeout_s,
                    )
                except TimeoutError:
                    return []
        batch = bus._records(self._topic, self._position, max_records)
        self._position += len(batch)
        return batch

    async def end_offsets(self) -> dict[int, int]:
        return {0: self._bus.retained(self._topic)[1]}

    async def committed(self, offsets: Mapping[int, int]) -> None:
        if 0 in offsets:
            self._bus._commit(self, offsets[0])

    async def close(self) -> None:
        self._bus._consumers[self._topic].discard(self)


class InMemoryCache:
    """A dict with expiry times; ``clock`` is injectable for tests. Deletes are announced to
    the watchers in process (the embedded gateway's response cache)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._data: dict[str, tuple[bytes, float]] = {}
        self._clock = clock
        self._version = 0
        self._watchers: set[asyncio.Queue[Invalidation]] = set()

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if self._clock() >= expires:
            del self._data[key]
            return None
        return value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        self._data[key] = (value, self._clock() + ttl_s)

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        for key in keys:
            self._data.pop(key, None)
        self._announce(key_domains(keys))

    async def clear(self, domain: str) -> None:
        for key in [k for k in self._data if k.startswith(f"{domain}:")]:
            del self._data[key]
        self._announce(frozenset({domain}))

    def _announce(self, domains: frozenset[str]) -> None:
        self._version += 1
        change = Invalidation(self._version, domains)
        for queue in self._watchers:
            queue.put_nowait(change)

    async def watch(self) -> AsyncGenerator[Invalidation, None]:
        queue: asyncio.Queue[Invalidation] = asyncio.Queue()
        self._watchers.add(queue)
        try:
            yield Invalidation(self._version, None)
            while True:
                yield await queue.get()
        finally:
            self._watchers.discard(queue)

    async def close(self) -> None:
        return None


class InMemoryLogArchive:
    """Archived logs keyed by (block_hash, log_index), insertion ordered; with ``max_logs``,
    the oldest go beyond it (the embedded mode, which never reads its archive back and runs
    for hours: its `logs` table in SQLite keeps every log)."""

    def __init__(self, max_logs: int | None = None) -> None:
        self._logs: dict[str, ArchivedLog] = {}
        self._by_block_hash: dict[str, list[str]] = defaultdict(list)
        self._max_logs = max_logs

    async def ensure_indexes(self) -> None:
        return None

    async def insert(self, logs: Sequence[ArchivedLog]) -> int:
        new = 0
        for log in logs:
            log = replace(log, address=log.address.lower())
            stored = self._logs.get(log.key)
            if stored is None:
                self._logs[log.key] = log
                self._by_block_hash[log.block_hash].append(log.key)
                new += 1
            elif stored.removed and stored.generation < log.generation:  # canonical again
                self._logs[log.key] = replace(stored, removed=False, generation=log.generation)
        if self._max_logs is not None:
            while len(self._logs) > self._max_logs:
                oldest = self._logs.pop(next(iter(self._logs)))
                keys = self._by_block_hash[oldest.block_hash]
                keys.remove(oldest.key)
                if not keys:
                    del self._by_block_hash[oldest.block_hash]
        return new

    async def mark_removed(self, block_hashes: Sequence[str], generation: int) -> int:
        changed = 0
        for block_hash in block_hashes:
            for key in self._by_block_hash.get(block_hash, ()):
                log = self._logs[key]
                if not log.removed and log.generation < generation:
                    self._logs[key] = replace(log, removed=True, generation=generation)
                    changed += 1
        return changed

    async def find_by_block(self, block_number: int) -> list[ArchivedLog]:
        return _sorted(x for x in self._logs.values() if x.block_number == block_number)

    async def find_by_address(
        self, address: str, from_block: int, to_block: int
    ) -> list[ArchivedLog]:
        address = address.lower()
        return _sorted(
            x
            for x in self._logs.values()
            if x.address.lower() == address and from_block <= x.block_number <= to_block
        )

    async def between(self, from_block: int, to_block: int) -> list[ArchivedLog]:
        return _sorted(x for x in self._logs.values() if from_block <= x.block_number <= to_block)

    async def count(self, filters: Mapping[str, object] | None = None) -> int:
        items = self._logs.values()
        if not filters:
            return len(items)
        return sum(1 for x in items if all(getattr(x, k) == v for k, v in filters.items()))

    async def close(self) -> None:
        return None


def _sorted(logs: Iterable[ArchivedLog]) -> list[ArchivedLog]:
    return sorted(logs, key=lambda x: (x.block_number, x.log_index))
