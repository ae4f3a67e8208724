"""The raw log archiver: its own consumer of the domain topics, off the sync's critical path.

Every event's raw log goes to the archive (identity (block_hash, log_index), so redelivery
stores it once); a revert marker marks the orphaned blocks' logs ``removed``. Offsets are saved
after the archive writes: at-least-once delivery, idempotent effects. It may lag behind sync,
never throttle it: how far it got is saved with each topic's offsets, the block of the last
progress marker it passed ("archived through", lowered by a revert marker), which ``nova
verify archive`` compares up to.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from common import events
from common.logging import get_logger
from common.ports import ArchivedLog, BusRecord, EventBus, LogArchive, PortError

log = get_logger(__name__)


class OffsetStore(Protocol):
    async def load(self, topic: str) -> dict[int, int]: ...

    async def save(self, topic: str, positions: dict[int, int], block: int = 0) -> None: ...

    async def through(self) -> dict[str, int]: ...


ARCHIVER_GROUP = "archiver"  # its offsets' name (and its group on the bus)


class Archiver:
    def __init__(
        self,
        bus: EventBus,
        archive: LogArchive,
        offsets: OffsetStore,
        topics: Sequence[str],
        *,
        batch_size: int = 2_000,
    ) -> None:
        self.bus = bus
        self.archive = archive
        self.offsets = offsets
        self.topics = list(topics)
        self.batch_size = batch_size
        self.archived = 0
        self.marked_removed = 0
        # per topic, (fork generation, block) of the last progress marker passed: a replayed
        # marker of an older generation (an orphaned fork's) does not move it
        self.through: dict[str, tuple[int, int]] = {}

    def archived_through(self) -> int:
        """The block archived through on every topic; -1 before each has passed a marker."""
        blocks = [self.through.get(t, (0, -1))[1] for t in self.topics]
        return min(blocks, default=-1)

    async def run(self, stop: asyncio.Event) -> None:
        await self.archive.ensure_indexes()
        await asyncio.gather(*(self._run_topic(t, stop) for t in self.topics))

    async def _run_topic(self, topic: str, stop: asyncio.Event) -> None:
        """Archive one topic; any failure is logged and retried from the saved offsets."""
        while not stop.is_set():
            try:
                await self._consume(topic, stop)
            except Exception as exc:  # noqa: BLE001 - the archive may lag, never die
                log.error(
                    "archiver failed; restarting from saved offsets",
                    topic=topic,
                    error=f"{type(exc).__name__}: {str(exc)[:300]}",
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0)

    async def _consume(self, topic: str, stop: asyncio.Event) -> None:
        consumer = await self.bus.consumer(topic, group=ARCHIVER_GROUP)
        try:
            for partition, offset in (await self.offsets.load(topic)).items():
                await consumer.seek(partition, offset)
            self.through[topic] = (0, (await self.offsets.through()).get(topic, -1))
            while not stop.is_set():
                records = await consumer.fetch(self.batch_size, timeout_s=0.5)
                if not records:
                    continue
                while True:
                    try:
                        await self._apply(topic, records)
                        break
                    except PortError as exc:
                        log.warning("archive write failed; retrying", error=str(exc)[:200])
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), 1.0)
                        if stop.is_set():
                            return
                positions: dict[int, int] = {}
                for r in records:
                    positions[r.partition] = r.offset + 1
                await self.offsets.save(topic, positions, max(0, self.through[topic][1]))
                await consumer.committed(positions)
        finally:
            await consumer.close()

    async def _apply(self, topic: str, records: Sequence[BusRecord]) -> None:
        pending: list[ArchivedLog] = []
        for record in records:
            env = events.parse(record.value)
            body = env.WhichOneof("body")
            if body == "progress":
                self.through[topic] = max(
                    self.through[topic], (env.generation, env.progress.block_number)
                )
            elif body == "event":
                e = env.event
                pending.append(
                    ArchivedLog(
                        address=e.contract,
                        topics=tuple(e.raw.topics),
                        data=e.raw.data,
                        block_number=e.block_number,
                        block_hash=e.block_hash,
                        tx_hash=e.tx_hash,
                        tx_index=e.tx_index,
                        log_index=e.log_index,
                        generation=env.generation,
                    )
                )
            elif body == "revert":
                if pending:  # keep the order: insert what came before the marker first
                    self.archived += await self.archive.insert(pending)
                    pending = []
                self.marked_removed += await self.archive.mark_removed(
                    list(env.revert.orphaned_hashes), env.generation
                )
                gen, block = self.through[topic]
                if env.generation > gen:
                    self.through[topic] = (env.generation, min(block, env.revert.to_block))
        if pending:
            self.archived += await self.archive.insert(pending)
