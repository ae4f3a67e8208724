"""The exactly-once domain consumer shared by the token, staking and governance services.

A batch of records is applied in ONE database transaction that also stores the next offsets and
the position mark (block, log index) of the last applied event. At start the consumer seeks to
the stored offsets. Effects are therefore exactly-once although delivery is at-least-once:
- redelivered records (the process died between commit and ack) are beyond the stored offsets
  only if they were not committed;
- events re-published by the syncer (it died between publish and checkpoint) sit at or below
  the mark and are dropped;
- a revert marker lowers the mark to its block, so the new fork's events apply;
- a progress marker raises it to the end of its block (nothing of it is left to come), and
  goes to the handler too (the domain's head moves with the chain: a handler that keeps one
  moves it; the events' handlers skip it);
- every record carries the syncer's fork generation (reorgs reverted so far), so a replayed
  old record, a revert marker among them, is dropped instead of rewinding the state;
- the mark moves by compare-and-set first thing in the transaction, so a second consumer of
  the group on the same database (a replica, a zombie) that applied the same records lost
  the race, rolls back and resumes from the stored state (:class:`MarkMoved`).

A record that cannot be decoded or applied stops the consumer with a clear error and a metric
(never skipped); database/bus outages are retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common import events
from common.logging import get_logger
from common.metrics import Metrics
from common.offsets import SqlOffsetStore
from common.ports import (
    BusConsumer,
    BusRecord,
    Cache,
    CacheUnavailable,
    EventBus,
    PortError,
    RecordsGone,
)

log = get_logger(__name__)
MAX_LOG_INDEX = 2**62

consumer_marks = sa.Table(
    "consumer_marks",
    sa.MetaData(),
    sa.Column("consumer_group", sa.String(128), primary_key=True),
    sa.Column("topic", sa.String(255), primary_key=True),
    sa.Column("block_number", sa.BigInteger, nullable=False),
    sa.Column("log_index", sa.BigInteger, nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
)
Mark = tuple[int, int, int]  # (fork generation, block, log index) of the last applied record
NO_MARK: Mark = (0, -1, -1)  # nothing applied yet

Handler = Callable[[AsyncConnection, Sequence[events.EventEnvelope]], Awaitable[set[str]]]


_READ_MARK = sa.text(  # text, not a select(): a hot read of the query side (read replicas)
    "SELECT generation, block_number, log_index FROM consumer_marks"
    " WHERE consumer_group = :group AND topic = :topic"
)


async def read_mark(conn: AsyncConnection, group: str, topic: str) -> Mark:
    """The stored mark of ``group`` on ``topic`` (NO_MARK before its first batch)."""
    row = (await conn.execute(_READ_MARK, {"group": group, "topic": topic})).first()
    return (int(row[0]), int(row[1]), int(row[2])) if row else NO_MARK


class ConsumerStopped(Exception):
    """A record could not be decoded or applied: the partition stops, named in the message."""


class MarkMoved(PortError):
    """Another consumer of the group moved the mark first: retried from the stored state."""


@dataclass
class ConsumerStatus:
    applied: int = 0
    duplicates: int = 0
    reverts: int = 0
    last_block: int = -1
    error: str = ""
    running: bool = False
    caught_up_at: float = 0.0


@dataclass
class SqlConsumer:
    bus: EventBus
    engine: AsyncEngine
    group: str
    topic: str
    handle: Handler
    cache: Cache | None = None
    metrics: Metrics | None = None
    batch_size: int = 2_000
    poll_s: float = 0.5
    gather_s: float = 0.25
    # the cache domain (key prefix) the handler's keys belong to: cleared when the consumer
    # (re)starts, as the deletes of a batch committed just before a crash may never have run
    cache_domain: str | None = None

    status: ConsumerStatus = field(default_factory=ConsumerStatus)
    # the mark of the last transaction this consumer committed (None until it has read the
    # stored one): a read replica serves reads once it has applied this far
    committed: Mark | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.offsets = SqlOffsetStore(self.engine, self.group)
        self._m_applied = self._m_dupes = self._m_errors = self._m_block = None
        self._m_hits = None
        if self.metrics is not None:
            self._m_applied = self.metrics.counter("events_applied_total", "Events applied")
            self._m_dupes = self.metrics.counter(
                "events_duplicate_total", "Re-published events dropped by position"
            )
            self._m_errors = self.metrics.counter(
                "consumer_errors_total", "Consumer failures", ("kind",)
            )
            self._m_block = self.metrics.gauge(
                "applied_block", "Block the consumer has applied every event through"
            )

    async def mark(self) -> Mark:
        async with self.engine.connect() as conn:
            return await read_mark(conn, self.group, self.topic)

    async def run(self, stop: asyncio.Event) -> None:
        self.status.running = True
        failures = 0
        try:
            while not stop.is_set():
                try:
                    await self._consume(stop)
                    return
                except ConsumerStopped as exc:
                    self.status.error = str(exc)
                    self._count_error("stopped")
                    log.error(
                        "CONSUMER STOPPED", group=self.group, topic=self.topic, error=str(exc)
                    )
                    raise
                except (PortError, OperationalError, DBAPIError, OSError) as exc:
                    failures += 1
                    self._count_error("transient")
                    delay = min(10.0, 0.2 * 2 ** min(failures, 6))
                    log.warning(
                        "consumer failed; resuming from stored offsets",
                        group=self.group,
                        error=str(exc)[:300],
                        retry_in_s=delay,
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
        finally:
            self.status.running = False

    async def _consume(self, stop: asyncio.Event) -> None:
        consumer = await self.bus.consumer(self.topic, group=self.group)
        try:
            stored = await self.offsets.load(self.topic)
            for partition in await consumer.partitions():
                await consumer.seek(partition, stored.get(partition, 0))
            mark = self.committed = await self.mark()
            await self._clear_cache()
            while not stop.is_set():
                records = await self._fetch(consumer, self.batch_size, self.poll_s)
                if not records:
                    self.status.caught_up_at = time.monotonic()
                    continue
                # a fetch may hand over one small record batch: gather what is ready now, so
                # a transaction applies up to batch_size records (the per-transaction cost of
                # offsets and marks dominated topics of small batches, e.g. staking)
                # history (a backfill) may wait for the rest of gather_s: fewer, fuller
                # transactions; at the tip only what is ready now (freshness first)
                gather_until = time.monotonic() + self.gather_s
                patient = _historical(records[-1].value)
                while len(records) < self.batch_size and time.monotonic() < gather_until:
                    wait = gather_until - time.monotonic() if patient else 0.005
                    more = await self._fetch(
                        consumer, self.batch_size - len(records), max(0.001, wait)
                    )
                    if not more:
                        break
                    records.extend(more)
                    patient = _historical(more[-1].value)
                envelopes = []
                for r in records:
                    try:
                        envelopes.append(events.parse(r.value))
                    except Exception as exc:
                        raise ConsumerStopped(
                            f"{self.topic}[{r.partition}]@{r.offset}: undecodable record: {exc}"
                        ) from exc
                prev = mark
                fresh, mark = self._dedupe(envelopes, mark)
                positions = {}
                for r in records:
                    positions[r.partition] = r.offset + 1
                keys: set[str] = set()
                async with self.engine.begin() as conn:
                    # first, so a second replica waits on the mark's row lock, then finds
                    # that the mark moved and applies nothing twice
                    await self._move_mark(conn, prev, mark)
                    if fresh:
                        try:
                            keys = await self.handle(conn, fresh)
                        except (OperationalError, DBAPIError, PortError):
                            raise
                        except Exception as exc:
                            first = records[0]
                            raise ConsumerStopped(
                                f"{self.topic}[{first.partition}] offsets {first.offset}.."
                                f"{records[-1].offset}: cannot apply: {type(exc).__name__}: {exc}"
                            ) from exc
                    await self.offsets.save_in(conn, self.topic, positions, max(0, mark[1]))
                self.committed = mark  # before the invalidation: a read after it is this fresh
                await consumer.committed(positions)
                await self._invalidate(keys)
                self.status.last_block = mark[1]
                if self._m_block is not None:
                    self._m_block.set(mark[1])
        finally:
            await consumer.close()

    async def _fetch(self, consumer: BusConsumer, n: int, timeout_s: float) -> list[BusRecord]:
        try:
            return await consumer.fetch(n, timeout_s=timeout_s)
        except RecordsGone as exc:  # not transient: waiting will not bring them back
            raise ConsumerStopped(
                f"{exc}. The {self.group} index cannot be completed from the topic: "
                're-index from the chain (README: "Records gone from the broker")'
            ) from exc

    async def _move_mark(self, conn: AsyncConnection, prev: Mark, mark: Mark) -> None:
        """Compare and set: the stored mark must still be the one this consumer last read or
        wrote, or another consumer of the group applied these records (a second replica, or a
        zombie that lost the race): :class:`MarkMoved`, the batch rolls back, and this
        consumer resumes from the stored offsets and mark."""
        c = consumer_marks.c
        moved = await conn.execute(
            consumer_marks.update()
            .where(
                c.consumer_group == self.group,
                c.topic == self.topic,
                c.generation == prev[0],
                c.block_number == prev[1],
                c.log_index == prev[2],
            )
            .values(generation=mark[0], block_number=mark[1], log_index=mark[2])
        )
        if moved.rowcount == 1:
            return
        if prev == NO_MARK:  # the first batch: a replica that raced us makes this a duplicate key
            await conn.execute(
                consumer_marks.insert().values(
                    consumer_group=self.group,
                    topic=self.topic,
                    generation=mark[0],
                    block_number=mark[1],
                    log_index=mark[2],
                )
            )
            return
        raise MarkMoved(
            f"{self.group}/{self.topic}: the stored mark is no longer {prev}: another consumer "
            "of this group applied these records"
        )

    def _dedupe(
        self, envelopes: Sequence[events.EventEnvelope], mark: Mark
    ) -> tuple[list[events.EventEnvelope], Mark]:
        """Drop what was applied already. Records are ordered by (generation, block, log
        index): a record of an older fork generation than the mark is a replay from before a
        revert (applied, or orphaned), a revert marker of a generation the mark has reached is
        applied already, and within a generation the chain position decides."""
        fresh = []
        reverts = progressed = 0
        for env in envelopes:
            body = env.WhichOneof("body")
            gen = env.generation
            if body == "revert":
                if gen <= mark[0]:
                    self._duplicate()
                    continue
                mark = (gen, *min(mark[1:], (env.revert.to_block, MAX_LOG_INDEX)))
                fresh.append(env)
                reverts += 1
                self.status.reverts += 1
                continue
            if gen < mark[0]:
                self._duplicate()
                continue
            if body == "progress":  # everything up to its block is published: applied through
                through = (gen, env.progress.block_number, MAX_LOG_INDEX)
                if through > mark:
                    mark = through
                    fresh.append(env)
                    progressed += 1
                continue
            position = (gen, env.event.block_number, env.event.log_index)
            if position <= mark:
                self._duplicate()
                continue
            mark = position
            fresh.append(env)
        applied = len(fresh) - reverts - progressed
        self.status.applied += applied
        if self._m_applied is not None and applied:
            self._m_applied.inc(applied)  # once per batch: a locked call per event cost ~1.5%
        return fresh, mark

    def _duplicate(self) -> None:
        self.status.duplicates += 1
        if self._m_dupes is not None:
            self._m_dupes.inc()

    async def _invalidate(self, keys: set[str]) -> None:
        """After the commit: drop the cached values the batch changed (Redis down = no cache,
        entries then expire by TTL; reads never serve a value older than its TTL)."""
        if not keys or self.cache is None:
            return
        try:
            await self.cache.delete(*sorted(keys))
        except CacheUnavailable as exc:
            self._count_error("cache")
            log.warning("cache invalidation failed", error=str(exc)[:200], keys=len(keys))

    async def _clear_cache(self) -> None:
        if self.cache is None or self.cache_domain is None:
            return
        try:
            await self.cache.clear(self.cache_domain)
        except CacheUnavailable as exc:  # Redis down: its entries expire by TTL
            self._count_error("cache")
            log.warning("cache clear failed", domain=self.cache_domain, error=str(exc)[:200])

    def _count_error(self, kind: str) -> None:
        if self._m_errors is not None:
            self._m_errors.labels(kind).inc()


def _historical(value: bytes) -> bool:
    """Whether a record is a contract event or a progress marker the block sync marked
    historical (backfill)."""
    try:
        env = events.parse(value)
    except Exception:  # noqa: BLE001 - undecodable records are reported where they are applied
        return False
    body = env.WhichOneof("body")
    if body == "progress":
        return env.progress.historical
    return body == "event" and env.event.historical
