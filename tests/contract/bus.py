"""The event bus contract: every adapter of ``common.ports.EventBus`` passes these."""

from __future__ import annotations

import asyncio
import time

import pytest

from common.ports import BusRecord, EventBus, PortError
from tests.names import topic_prefix


def _topic() -> str:
    return f"{topic_prefix()}t"


async def _fetch_n(bus: EventBus, topic: str, n: int, start: int = 0, deadline_s: float = 20):
    consumer = await bus.consumer(topic)
    try:
        await consumer.seek(0, start)
        out: list[BusRecord] = []
        deadline = time.monotonic() + deadline_s
        while len(out) < n and time.monotonic() < deadline:
            out.extend(await consumer.fetch(max_records=1000, timeout_s=0.5))
        return out
    finally:
        await consumer.close()


class EventBusContract:
    @pytest.fixture
    async def bus(self):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_publish_then_consume_in_order(self, bus: EventBus) -> None:
        topic = _topic()
        await bus.create_topic(topic)
        records = [(b"0xToken", f"event-{i}".encode()) for i in range(250)]
        await bus.publish(topic, records[:100])
        await bus.publish(topic, records[100:])
        got = await _fetch_n(bus, topic, 250)
        assert [r.value for r in got] == [v for _, v in records]
        assert [r.offset for r in got] == list(range(250))
        assert all(r.key == b"0xToken" and r.partition == 0 for r in got)

    async def test_seek_resumes_from_a_stored_offset(self, bus: EventBus) -> None:
        topic = _topic()
        await bus.create_topic(topic)
        await bus.publish(topic, [(b"k", str(i).encode()) for i in range(10)])
        got = await _fetch_n(bus, topic, 4, start=6)
        assert [r.value for r in got] == [b"6", b"7", b"8", b"9"]

    async def test_a_committed_offset_is_where_a_new_consumer_resumes(self, bus: EventBus) -> None:
        """committed() may let the bus drop what is below it, never what is at or above."""
        topic = _topic()
        await bus.create_topic(topic)
        await bus.publish(topic, [(b"k", f"e{i}".encode()) for i in range(30)])
        first = await bus.consumer(topic)
        try:
            await first.seek(0, 0)
            got: list[BusRecord] = []
            deadline = time.monotonic() + 20
            while len(got) < 30 and time.monotonic() < deadline:
                got.extend(await first.fetch(max_records=1000, timeout_s=0.5))
            await first.committed({0: 12})
        finally:
            await first.close()
        again = await _fetch_n(bus, topic, 18, start=12)
        assert [r.offset for r in again] == list(range(12, 30))
        assert [r.value for r in again] == [f"e{i}".encode() for i in range(12, 30)]

    async def test_end_offsets_and_empty_fetch(self, bus: EventBus) -> None:
        topic = _topic()
        await bus.create_topic(topic)
        consumer = await bus.consumer(topic)
        try:
            assert await consumer.partitions() == [0]
            assert await consumer.end_offsets() == {0: 0}
            assert await consumer.fetch(max_records=10, timeout_s=0.2) == []
            await bus.publish(topic, [(b"k", b"v")] * 3)
            assert await consumer.end_offsets() == {0: 3}
        finally:
            await consumer.close()

    async def test_create_topic_is_idempotent(self, bus: EventBus) -> None:
        topic = _topic()
        await bus.create_topic(topic)
        await bus.create_topic(topic)
        await bus.publish(topic, [(b"k", b"once")])
        assert [r.value for r in await _fetch_n(bus, topic, 1)] == [b"once"]

    async def test_consumer_wakes_on_publish(self, bus: EventBus) -> None:
        topic = _topic()
        await bus.create_topic(topic)
        consumer = await bus.consumer(topic)
        try:
            await consumer.seek(0, 0)
            waiter = asyncio.create_task(consumer.fetch(max_records=10, timeout_s=10))
            await asyncio.sleep(0)  # let the fetch start waiting
            await bus.publish(topic, [(b"k", b"late")])
            got = await asyncio.wait_for(waiter, 15)
            if not got:  # a real broker may return an empty poll first; poll again
                got = await consumer.fetch(max_records=10, timeout_s=10)
            assert [r.value for r in got] == [b"late"]
        finally:
            await consumer.close()

    async def test_bad_use_is_a_clear_error(self, bus: EventBus) -> None:
        topic = _topic()
        await bus.create_topic(topic)
        consumer = await bus.consumer(topic)
        try:
            with pytest.raises(PortError, match="partition 7"):
                await consumer.seek(7, 0)
            with pytest.raises(PortError, match="offset"):
                await consumer.seek(0, -1)
        finally:
            await consumer.close()
