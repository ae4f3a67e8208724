"""Two consumers of one group on one database (a second replica, or a zombie the orchestrator
thought dead): every record's effects land exactly once. Real MariaDB row locks, the
in-process bus (each consumer reads the whole topic, as a Kafka consumer without a group)."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from common import events
from common.consumer import SqlConsumer
from common.db import create_engine, migrate
from common.inprocess import InMemoryEventBus
from tests.chain_helpers import wait_for

TOPIC = "nova.replicas.token"
RECORDS = 400


def _records(blocks: range) -> list[tuple[bytes, bytes]]:
    return [
        (
            b"k",
            events.EventEnvelope(
                version=events.ENVELOPE_VERSION,
                event=events.ContractEvent(event="Transfer", block_number=b, log_index=0),
            ).SerializeToString(),
        )
        for b in blocks
    ]


async def test_two_replicas_of_a_consumer_apply_each_record_once(mysql_url: str) -> None:
    migrate(mysql_url)
    engine = create_engine(mysql_url)
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE applied_t (block BIGINT NOT NULL)"))
    bus = InMemoryEventBus()
    await bus.create_topic(TOPIC)

    async def handle(conn: Any, envelopes: Any) -> set[str]:
        rows = [{"b": e.event.block_number} for e in envelopes if e.WhichOneof("body") == "event"]
        await conn.execute(sa.text("INSERT INTO applied_t (block) VALUES (:b)"), rows)
        await asyncio.sleep(0.002)  # hold the transaction open: the replicas overlap
        return set()

    replicas = [
        SqlConsumer(bus, engine, "g", TOPIC, handle, batch_size=7, poll_s=0.02, gather_s=0.0)
        for _ in range(2)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(c.run(stop)) for c in replicas]

    async def applied() -> list[int]:
        async with engine.connect() as conn:
            return [r[0] for r in await conn.execute(sa.text("SELECT block FROM applied_t"))]

    async def all_applied() -> bool:
        return len(await applied()) >= RECORDS

    try:
        for start in range(1, RECORDS + 1, 50):  # bursts, so both replicas are busy at once
            await bus.publish(TOPIC, _records(range(start, min(start + 50, RECORDS + 1))))
            await asyncio.sleep(0.01)  # a scenario step (traffic arrives over time), not a settle
        await wait_for(all_applied, "the last record to be applied", 60)
        stop.set()
        await asyncio.gather(*tasks)  # both stopped: nothing can land after the count below
        blocks = await applied()
        assert sorted(blocks) == list(range(1, RECORDS + 1)), "a record applied twice or never"
        # the race was real: the replicas met on the mark (each read the whole topic)
        assert sum(c.status.applied for c in replicas) > RECORDS
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await engine.dispose()
