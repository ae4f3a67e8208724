"""How the consumer batches: during a backfill (records the block sync marked historical) it
waits out its gather window for fuller transactions; at the tip it applies what is ready at
once. Real SQLite offsets and marks, the in-process bus."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from common import events
from common.consumer import ConsumerStopped, SqlConsumer
from common.db import create_engine, migrate
from common.inprocess import InMemoryCache, InMemoryEventBus
from common.ports import Invalidation
from tests.chain_helpers import wait_for

TOPIC = "nova.batching.token"


def _records(blocks: range, historical: bool) -> list[tuple[bytes, bytes]]:
    return [
        (
            b"k",
            events.EventEnvelope(
                version=events.ENVELOPE_VERSION,
                event=events.ContractEvent(
                    event="Transfer", block_number=b, log_index=0, historical=historical
                ),
            ).SerializeToString(),
        )
        for b in blocks
    ]


async def _run(sqlite_url: str, historical: bool) -> list[int]:
    """Burst A, the consumer starts, burst B 0.2 s later; the sizes of the applied batches."""
    migrate(sqlite_url)
    engine = create_engine(sqlite_url)
    bus = InMemoryEventBus()
    await bus.create_topic(TOPIC)
    batches: list[int] = []

    async def handle(conn: Any, envelopes: Any) -> set[str]:
        batches.append(len(envelopes))
        return set()

    consumer = SqlConsumer(bus, engine, "g", TOPIC, handle, gather_s=5.0, poll_s=0.05)
    stop = asyncio.Event()
    await bus.publish(TOPIC, _records(range(1, 4), historical))
    task = asyncio.create_task(consumer.run(stop))
    try:
        if not historical:  # the tip: burst A applies long before the gather window ends
            await wait_for(lambda: _true(bool(batches)), "burst A applied", 2.5, every_s=0.01)
        await asyncio.sleep(0.2)  # a scenario step (the second burst comes later), not a settle
        await bus.publish(TOPIC, _records(range(4, 7), historical))
        await wait_for(lambda: _true(sum(batches) == 6), "all applied", 15, every_s=0.02)
    finally:
        stop.set()
        await task
        await engine.dispose()
    return batches


async def _true(value: bool) -> bool:
    return value


async def test_a_backfill_gathers_records_that_arrive_within_the_window(sqlite_url: str) -> None:
    assert await _run(sqlite_url, historical=True) == [6]


async def test_the_tip_applies_what_is_ready_without_waiting(sqlite_url: str) -> None:
    assert await _run(sqlite_url, historical=False) == [3, 3]


async def test_a_starting_consumer_clears_its_cache_domain(sqlite_url: str) -> None:
    """A batch committed just before a crash may never have had its keys deleted: a
    (re)starting consumer drops its domain's cached values, announced downstream."""
    migrate(sqlite_url)
    engine = create_engine(sqlite_url)
    bus = InMemoryEventBus()
    await bus.create_topic(TOPIC)
    cache = InMemoryCache()
    await cache.set("token:balance:0xabc", b"stale", ttl_s=60)
    await cache.set("staking:total", b"other", ttl_s=60)
    feed = cache.watch()
    start = await anext(feed)

    async def handle(conn: Any, envelopes: Any) -> set[str]:
        return set()

    consumer = SqlConsumer(
        bus, engine, "g", TOPIC, handle, cache=cache, cache_domain="token", poll_s=0.05
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        async with asyncio.timeout(10):
            assert await anext(feed) == Invalidation(start.version + 1, frozenset({"token"}))
        assert await cache.get("token:balance:0xabc") is None
        assert await cache.get("staking:total") == b"other"
    finally:
        stop.set()
        await task
        await feed.aclose()
        await engine.dispose()


async def test_records_gone_from_the_bus_stop_the_consumer_instead_of_skipping(
    sqlite_url: str, monkeypatch
) -> None:
    """A new consumer (a fresh database) whose topic no longer holds its first records (the
    in-process bus dropped what another group committed; on Kafka: retention) stops, naming
    the position, and applies nothing: jumping to what is left would lose events silently."""
    monkeypatch.setattr(InMemoryEventBus, "TRIM_AT", 2)
    migrate(sqlite_url)
    engine = create_engine(sqlite_url)
    bus = InMemoryEventBus()
    await bus.create_topic(TOPIC)
    await bus.publish(TOPIC, _records(range(1, 6), historical=True))
    other = await bus.consumer(TOPIC, group="other")
    await other.committed({0: 5})
    assert bus.retained(TOPIC) == (5, 5)
    applied: list[int] = []

    async def handle(conn: Any, envelopes: Any) -> set[str]:
        applied.append(len(envelopes))
        return set()

    consumer = SqlConsumer(bus, engine, "fresh", TOPIC, handle, poll_s=0.05)
    try:
        with pytest.raises(ConsumerStopped, match="offset 0 was dropped") as stopped:
            await asyncio.wait_for(consumer.run(asyncio.Event()), 10)
        assert "cannot be completed from the topic" in str(stopped.value)
        assert consumer.status.error == str(stopped.value) and not consumer.status.running
        assert applied == []
    finally:
        await engine.dispose()
