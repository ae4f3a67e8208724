"""The ordered sync pipeline: backfill in adaptive log ranges, follow the tip block by block,
detect reorgs, publish every tracked event exactly in chain order.

Below ``head - confirmations - reorg_window`` blocks are read as eth_getLogs ranges (several in
flight, applied strictly in order); inside the window every block is read by number with its
parent hash checked against the block before it (stored, or in the unit published before), and
its logs by block hash. A unit of work (a range or a run of window blocks) is published first
(acked), then its rows and the checkpoint are committed in one transaction; while catching up,
the next unit is fetched and published meanwhile, and checkpoints still move unit by unit. A
crash in between republishes the same events with the same identities; nothing is skipped.
Errors are retried with backoff, never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from block_sync_service.application.ports import ChainReader, EventSink, HeadSignal, SyncStore
from block_sync_service.domain.errors import (
    ChainMismatch,
    ChainUnavailable,
    DecodeError,
    Fenced,
    RangeTooLarge,
    RewindRefused,
    StoreUnavailable,
)
from block_sync_service.domain.model import BlockBatch, BlockHeader, Checkpoint, RawLog, Reorg
from block_sync_service.domain.rules import DeepReorgError, Follow, RangeSizer, find_reorg
from common.jsonrpc import RpcError
from common.logging import get_logger
from common.ports import PortError

log = get_logger(__name__)


@dataclass
class SyncConfig:
    addresses: Sequence[str]
    start_block: int
    confirmations: int = 0
    finality: str | None = None  # "safe" / "finalized": follow that block instead of head - N
    reorg_window: int = 128
    poll_interval_s: float = 1.0
    range_concurrency: int = 2
    commits_in_flight: int = 2  # units below the tip whose rows are being written at once
    window_batch: int = 64  # at most this many window blocks per unit (fewer on dense blocks)
    max_logs_per_unit: int = 2_500  # bounds memory: units shrink to about this many logs
    retry_base_s: float = 0.2

    retry_max_s: float = 15.0
    # contracts that events of tracked ones name, followed from the naming event's block
    follows: Sequence[Follow] = ()


@dataclass
class SyncStatus:
    head: int = 0
    final: int = 0  # what the sync follows: head - confirmations, or the finality tag's block
    synced: int = -1
    synced_hash: str = ""
    events_total: int = 0  # chain logs published (a log sent to two topics counts once)
    events_per_second: float = 0.0
    last_reorg_block: int = 0
    last_reorg_depth: int = 0
    last_reorg_at: int = 0
    reorgs_total: int = 0
    alarm: str = ""
    running: bool = False
    # the contracts followed since an event named them: (name, address lower case, from block)
    followed: list[tuple[str, str, int]] = field(default_factory=list)
    _rate: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=64))

    @property
    def lag(self) -> int:
        return max(0, self.head - self.synced)

    def count_events(self, n: int, now: float) -> None:
        self.events_total += n
        self._rate.append((now, self.events_total))
        first_t, first_n = self._rate[0]
        if now - first_t > 0:
            self.events_per_second = (self.events_total - first_n) / (now - first_t)


class SyncObserver:
    """Hooks for metrics and progress bars (no-ops by default)."""

    def on_unit(self, status: SyncStatus, batch: BlockBatch, published: int) -> None: ...

    def on_reorg(self, status: SyncStatus, reorg: Reorg) -> None: ...

    def on_error(self, where: str, exc: BaseException) -> None: ...

    def on_range_size(self, size: int) -> None: ...

    def on_alarm(self, alarm: str) -> None: ...


class Syncer:
    def __init__(
        self,
        chain: ChainReader,
        store: SyncStore,
        sink: EventSink,
        config: SyncConfig,
        *,
        sizer: RangeSizer | None = None,
        heads: HeadSignal | None = None,
        observer: SyncObserver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.store = store
        self.sink = sink
        self.cfg = config
        self.sizer = sizer or RangeSizer()
        self.heads = heads
        self.obs = observer or SyncObserver()
        self.clock = clock
        self.status = SyncStatus()
        self._epoch = 0
        self._checkpoint = Checkpoint(config.start_block - 1, "")
        self._commits: deque[asyncio.Task[None]] = deque()
        self._window_span = config.window_batch
        self._base = frozenset(a.lower() for a in config.addresses)
        self._followed: dict[str, int] = {}  # a followed contract -> the block it is from
        self._names: dict[str, str] = {}  # a followed contract -> what it is
        self._follows_by_topic = {rule.topic0: rule for rule in config.follows}

    async def open(self) -> None:
        self._checkpoint, self._epoch = await self.store.open(self.cfg.start_block)
        await self._load_followed()
        self.status.synced = self._checkpoint.number
        self.status.synced_hash = self._checkpoint.hash
        log.info("sync opened", synced=self._checkpoint.number, epoch=self._epoch)
        pending = await self.store.pending_revert()
        if pending is not None:  # a revert a crash interrupted: its marker again, its rows
            log.warning("completing an interrupted revert", to_block=pending)
            await self._revert(await self._to(pending), self._checkpoint.generation, as_reorg=False)

    # ------------------------------------------------------------------ loops

    async def run(self, stop: asyncio.Event, until: int | None = None) -> None:
        """Follow the chain until ``stop`` (or, with ``until``, until that block is synced)."""
        if self._epoch == 0:
            await self.open()
        self.status.running = True
        failures = 0
        try:
            while not stop.is_set():
                try:
                    progressed = await self.step(until)
                    failures = 0
                except (
                    ChainUnavailable,
                    ChainMismatch,
                    RangeTooLarge,  # a block's logs of a followed contract the node refuses
                    RpcError,
                    OSError,
                    TimeoutError,
                ) as exc:
                    # RpcError: an answer the client does not expect (e.g. a load-balanced
                    # node's transient "header not found"); retried, logged, counted

                    failures += 1
                    self._forget_uncommitted()
                    self.obs.on_error("step", exc)
                    delay = min(self.cfg.retry_max_s, self.cfg.retry_base_s * 2 ** min(failures, 8))
                    log.warning(
                        "sync step failed; retrying",
                        error=str(exc)[:300],
                        attempt=failures,
                        synced=self._checkpoint.number,
                        retry_in_s=round(delay, 2),
                    )
                    await _wait(stop, delay)
                    continue
                except (PortError, StoreUnavailable) as exc:
                    failures += 1
                    self._forget_uncommitted()
                    self.obs.on_error("publish", exc)
                    delay = min(self.cfg.retry_max_s, self.cfg.retry_base_s * 2 ** min(failures, 8))
                    log.warning(
                        "publish/store failed; retrying",
                        error=str(exc)[:300],
                        attempt=failures,
                        synced=self._checkpoint.number,
                    )
                    await _wait(stop, delay)
                    continue
                if until is not None and self._checkpoint.number >= until:
                    return
                if not progressed:
                    if self.heads is not None:
                        await _race(stop, self.heads.wait(self.cfg.poll_interval_s))
                    else:
                        await _wait(stop, self.cfg.poll_interval_s)
        except DeepReorgError as exc:
            await self._alarm(f"deep reorg: {exc}")
            raise
        except DecodeError as exc:
            await self._alarm(f"undecodable log: {exc}")
            raise
        except Fenced as exc:
            # not an alarm: the sync_state row is the new syncer's now, and the index goes on
            log.error("sync fenced: another syncer took over", error=str(exc))
            raise
        finally:
            self.status.running = False

    async def _alarm(self, text: str) -> None:
        self.status.alarm = text
        self.obs.on_alarm(text)
        log.error("SYNC STOPPED", alarm=text, synced=self._checkpoint.number)
        try:
            await self.store.set_alarm(text)
        except Exception as exc:  # noqa: BLE001 - the alarm must not hide the original error
            log.error("could not persist the alarm", error=str(exc))

    async def step(self, until: int | None = None) -> bool:
        """Do one unit of work. Returns False when there was nothing to do."""
        head = await self.chain.head()
        self.status.head = head
        final = await self._final(head)
        self.status.final = final
        target = final if until is None else min(final, until)
        synced = self._checkpoint.number
        if synced >= target:
            if not self._checkpoint.hash:
                return False
            if synced > head:
                await self._handle_reorg()  # the chain got shorter under us
                return True
            # caught up: is our tip still canonical? (a same-height reorg sends no new block)
            (current,) = (await self.chain.headers([synced])).values()
            if current.hash != self._checkpoint.hash:
                await self._handle_reorg()
                return True
            return False
        deep_end = final - self.cfg.reorg_window
        if synced < deep_end and synced + 1 <= min(deep_end, target):
            await self._backfill_ranges(synced + 1, min(deep_end, target), head)
        else:
            await self._window_units(synced + 1, target, head, final)
        return True

    async def _final(self, head: int) -> int:
        """The last block considered final: ``confirmations`` below the head, or the node's
        block of the ``finality`` tag (never above the head it reported)."""
        if self.cfg.finality is None:
            return head - self.cfg.confirmations
        return min(head, await self.chain.tagged(self.cfg.finality))

    # ------------------------------------------------------------------ window mode

    async def _window_units(self, first: int, target: int, head: int, final: int) -> None:
        """Window units over ``first..target``: every block read by number, the first one's
        parent checked against the checkpoint and each unit's against the unit before it. A
        unit more than two blocks below the final block (catching up) is pipelined like the
        ranges: the next unit is fetched while it is published, and its commit runs in the
        background. At the tip (the final block: ``confirmations`` or the finality tag below the
        head), one unit at a time, published as not historical (consumers apply it at once)."""
        parent = self._checkpoint.hash
        start = first
        ahead: asyncio.Task[BlockBatch | None] | None = None
        try:
            while start <= target:
                end = min(target, start + self._window_span - 1)
                batch = await (ahead or self._window_fetch(start, end))
                ahead = None
                if batch is None or (parent and batch.headers[start].parent_hash != parent):
                    # the chain got shorter, or forked below this unit: the commits in flight
                    # land first, then the stored window is compared with the chain
                    await self._drain()
                    if not self._checkpoint.hash:
                        raise ChainMismatch(f"block {start} vanished before anything was stored")
                    await self._handle_reorg()
                    return
                # the next unit spans about max_logs_per_unit logs at this density (memory)
                span = (batch.last - start + 1) * self.cfg.max_logs_per_unit
                self._window_span = max(
                    1, min(self.cfg.window_batch, span // max(1, len(batch.logs)))
                )
                historical = final - batch.last > 2  # catching up; else at the (final) tip
                start, parent = batch.last + 1, batch.last_header.hash
                if historical and start <= target:
                    end = min(target, start + self._window_span - 1)
                    ahead = asyncio.create_task(self._window_fetch(start, end))
                await self._finish(batch, head, historical, overlap=historical)
            await self._drain()
        finally:
            await self._settle([ahead] if ahead is not None else [])

    async def _window_fetch(self, first: int, last: int) -> BlockBatch | None:
        """Blocks ``first..last`` with their logs (by block hash) and transactions; None when
        a block vanished (the chain got shorter)."""
        numbers = list(range(first, last + 1))
        try:
            headers = await self.chain.headers(numbers)
        except ChainMismatch:
            return None
        for n in numbers[1:]:
            if headers[n].parent_hash != headers[n - 1].hash:
                raise ChainMismatch(f"block {n}'s parent is not block {n - 1} (reorg racing)")
        addresses = self._addresses(first)
        per_block = await self.chain.logs_by_block_hash(
            [headers[n].hash for n in numbers], addresses
        )
        logs: list[RawLog] = []
        for n, block_logs in zip(numbers, per_block, strict=True):
            for lg in block_logs:
                if lg.block_hash != headers[n].hash:
                    raise ChainMismatch(f"log of block {n} has another block hash")
            logs.extend(sorted(block_logs, key=lambda x: x.log_index))
        batch = BlockBatch(first, last, headers=headers, logs=logs, addresses=_lower(addresses))
        return await self._with_transactions(batch)

    # ------------------------------------------------------------------ range mode

    async def _backfill_ranges(self, first: int, last: int, head: int) -> None:
        if self._checkpoint.hash:  # is our checkpoint still canonical?
            (current,) = (await self.chain.headers([self._checkpoint.number])).values()
            if current.hash != self._checkpoint.hash:
                await self._handle_reorg()
                return
        next_start = first
        in_flight: deque[tuple[int, int, asyncio.Task[BlockBatch]]] = deque()
        try:
            while next_start <= last or in_flight:
                while len(in_flight) < self.cfg.range_concurrency and next_start <= last:
                    end = min(last, next_start + self.sizer.size - 1)
                    task = asyncio.create_task(self._fetch_range(next_start, end))
                    in_flight.append((next_start, end, task))
                    next_start = end + 1
                start, end, task = in_flight[0]
                try:
                    batch = await task
                except RangeTooLarge as exc:
                    size = self.sizer.shrink(exc.hint)
                    self.obs.on_range_size(size)
                    log.info(
                        "log range too large; shrinking",
                        first=start,
                        last=end,
                        new_size=size,
                        error=str(exc)[:200],
                    )
                    for _, _, t in in_flight:
                        t.cancel()
                    await asyncio.gather(*(t for _, _, t in in_flight), return_exceptions=True)
                    in_flight.clear()
                    next_start = start
                    continue
                in_flight.popleft()
                self.obs.on_range_size(
                    self.sizer.observe(end - start + 1, len(batch.logs), self.cfg.max_logs_per_unit)
                )
                await self._finish(batch, head, historical=True, overlap=True)
            await self._drain()
            # the window follows at the density the ranges found
            self._window_span = max(1, min(self.cfg.window_batch, self.sizer.size))
        finally:
            await self._settle([t for _, _, t in in_flight])

    async def _fetch_range(self, first: int, last: int) -> BlockBatch:
        addresses = self._addresses(first)
        logs = await self.chain.logs(first, last, addresses)
        logs.sort(key=lambda x: (x.block_number, x.log_index))
        numbers = sorted({lg.block_number for lg in logs} | {last})
        headers = await self.chain.headers(numbers)
        for lg in logs:
            if headers[lg.block_number].hash != lg.block_hash:
                raise ChainMismatch(f"logs of block {lg.block_number} changed fork mid-request")
        batch = BlockBatch(first, last, headers=headers, logs=logs, addresses=_lower(addresses))
        return await self._with_transactions(batch)

    # ------------------------------------------------------------------ followed contracts

    def _addresses(self, first: int) -> list[str]:
        """What a unit from ``first`` reads logs of: the tracked contracts and those followed
        from before it (one followed from within it: :meth:`_follow`)."""
        return [*self.cfg.addresses, *(a for a, b in self._followed.items() if b < first)]

    async def _load_followed(self) -> None:
        """The contracts followed so far: named by the stored events (a revert removes those
        above its block, and what they named with them)."""
        followed: dict[str, int] = {}
        for rule in self.cfg.follows:
            for lg in await self.store.stored_logs(rule.emitter, rule.topic0):
                named = rule.named_by(lg.address, lg.topics, lg.data)
                if named is not None and named not in self._base and named not in followed:
                    followed[named] = lg.block_number
                    self._names[named] = rule.name
                    self.sink.track(rule.name, named)
        self._set_followed(followed)

    def _forget_uncommitted(self) -> None:
        """After a failed step: a contract named in a unit that was not committed is not
        followed (the units are read again from the checkpoint, and name it again if the chain
        still does). Checkpoints are units' last blocks, in order: one at or above the naming
        block means its unit was committed."""
        done = self._checkpoint.number
        self._set_followed({a: b for a, b in self._followed.items() if b <= done})

    def _set_followed(self, followed: dict[str, int]) -> None:
        self._followed = followed
        self.status.followed = [(self._names[a], a, b) for a, b in followed.items()]

    async def _follow(self, batch: BlockBatch) -> None:
        """Before a unit is published (units are, in chain order): a contract its logs name is
        followed from that block on, and the unit gets the logs of every followed contract it
        was read without (it was read before the naming event was seen, or the contract is
        followed from within it: from that block)."""
        by_topic = self._follows_by_topic
        for lg in batch.logs if by_topic else ():
            rule = by_topic.get(lg.topics[0]) if lg.topics else None  # one lookup a log
            if rule is not None:
                named = rule.named_by(lg.address, lg.topics, lg.data)
                if named is None or named in self._base or named in self._followed:
                    continue
                self._names[named] = rule.name
                self._set_followed({**self._followed, named: lg.block_number})
                self.sink.track(rule.name, named)
                log.info(
                    "following a contract an event names",
                    contract=rule.name,
                    address=named,
                    from_block=lg.block_number,
                )
        if not self._followed:
            return
        missing = {
            a: b for a, b in self._followed.items() if b <= batch.last and a not in batch.addresses
        }
        if missing:
            found = await self._logs_of(sorted(missing), min(missing.values()), batch)
            numbers = sorted({lg.block_number for lg in found} - batch.headers.keys())
            batch.headers.update(await self.chain.headers(numbers) if numbers else {})
            for lg in found:
                if batch.headers[lg.block_number].hash != lg.block_hash:
                    raise ChainMismatch(f"logs of block {lg.block_number} changed fork")
            batch.logs = sorted([*batch.logs, *found], key=lambda x: (x.block_number, x.log_index))
            batch.addresses |= missing.keys()
            await self._with_transactions(batch)

    async def _logs_of(self, addresses: list[str], first: int, batch: BlockBatch) -> list[RawLog]:
        """The logs of ``addresses`` in the unit's blocks from ``first``: by block hash in a
        window unit (it holds every block), else by ranges, halved when the node refuses."""
        first = max(first, batch.first)
        numbers = range(first, batch.last + 1)
        if all(n in batch.headers for n in numbers):
            hashes = [batch.headers[n].hash for n in numbers]
            return [
                lg for logs in await self.chain.logs_by_block_hash(hashes, addresses) for lg in logs
            ]
        return await self._range_logs(first, batch.last, addresses)

    async def _range_logs(self, first: int, last: int, addresses: list[str]) -> list[RawLog]:
        try:
            return await self.chain.logs(first, last, addresses)
        except RangeTooLarge:
            if first == last:
                raise
            mid = (first + last) // 2
            low = await self._range_logs(first, mid, addresses)
            return low + await self._range_logs(mid + 1, last, addresses)

    # ------------------------------------------------------------------ shared

    async def _with_transactions(self, batch: BlockBatch) -> BlockBatch:
        """The transactions that carry the batch's logs (fetched with the range, so ranges in
        flight overlap this too), checked to sit in the batch's blocks."""
        if batch.logs:
            tx_hashes = list(dict.fromkeys(lg.tx_hash for lg in batch.logs))
            batch.transactions = await self.chain.transactions(tx_hashes)
            for tx in batch.transactions.values():
                header = batch.headers.get(tx.block_number)
                if header is None or header.hash != tx.block_hash:
                    raise ChainMismatch(f"transaction {tx.hash} moved to another block")
        return batch

    async def _finish(
        self, batch: BlockBatch, head: int, historical: bool, overlap: bool = False
    ) -> None:
        """Publish the batch (acked), then commit its rows and the checkpoint. With ``overlap``
        the commit runs in the background while the caller publishes the next batches (up to
        ``commits_in_flight`` commits at once, each writing its rows meanwhile); a commit
        moves the checkpoint only after the previous one did (checkpoints move in order), and
        a failed commit fails the ones after it and surfaces at a next batch, so the retry
        republishes from the checkpoint."""
        await self._follow(batch)
        generation = self._checkpoint.generation
        published = await self.sink.publish_batch(batch, historical, generation)
        checkpoint = Checkpoint(batch.last, batch.last_header.hash, generation)
        if not overlap:
            await self._drain()
            await self._commit(batch, checkpoint, head, published, None)
            return
        while len(self._commits) >= max(1, self.cfg.commits_in_flight):
            await self._commits.popleft()
        previous = self._commits[-1] if self._commits else None
        self._commits.append(
            asyncio.create_task(self._commit(batch, checkpoint, head, published, previous))
        )

    async def _settle(self, fetches: Sequence[asyncio.Task[Any]]) -> None:
        """On the way out of a pipelined loop (done or failing): cancel the fetches ahead, and
        let the commits in flight land or fail (their errors are the loop's to report)."""
        for t in fetches:
            t.cancel()
        await asyncio.gather(*fetches, return_exceptions=True)
        if self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)
            self._commits.clear()

    async def _drain(self) -> None:
        """Wait for the commits in flight (raising the first error)."""
        while self._commits:
            await self._commits.popleft()

    async def _commit(
        self,
        batch: BlockBatch,
        checkpoint: Checkpoint,
        head: int,
        published: int,
        previous: asyncio.Task[None] | None,
    ) -> None:
        # the previous commit must land first: shielded, so that cancelling this one leaves it
        after = None if previous is None else asyncio.shield(previous)
        await self.store.commit(batch, checkpoint, self._epoch, head, after)
        self._checkpoint = checkpoint
        self.status.synced = checkpoint.number
        self.status.synced_hash = checkpoint.hash
        self.status.count_events(len(batch.logs), time.monotonic())  # chain events, not records
        self.obs.on_unit(self.status, batch, published)

    async def _handle_reorg(self) -> None:
        lowest = max(self.cfg.start_block - 1, self._checkpoint.number - self.cfg.reorg_window)
        stored = await self.store.window(lowest)
        stored = {n: h for n, h in stored.items() if n <= self._checkpoint.number}
        canonical = await self._canonical_hashes(sorted(stored))
        reorg = find_reorg(stored, canonical)
        if reorg is None:
            raise ChainMismatch("parent hash mismatch but the stored window is canonical")
        await self._revert(reorg, self._checkpoint.generation + 1, as_reorg=True)
        self.status.last_reorg_block = reorg.ancestor + 1
        self.status.last_reorg_depth = reorg.depth
        self.status.last_reorg_at = int(self.clock())
        self.status.reorgs_total += 1
        self.obs.on_reorg(self.status, reorg)
        log.warning(
            "reorg",
            ancestor=reorg.ancestor,
            depth=reorg.depth,
            orphaned=",".join(h for _, h in reorg.orphaned[:4]),
        )

    async def rewind(self, to_block: int) -> None:
        """Go back to ``to_block`` as a reorg to it would, whatever the chain says: a revert
        marker of a new fork generation on every topic, the rows above it deleted, and
        everything above read and published again. For a bus that lost records its consumers
        had not read yet (the embedded mode's bus starts empty on every run): they undo what
        they applied above the block and apply the republished records."""
        if self._epoch == 0:
            await self.open()
        if to_block >= self._checkpoint.number:
            return
        generation = self._checkpoint.generation + 1
        await self._revert(await self._to(to_block), generation, as_reorg=False)
        log.warning("sync rewound: republishing", to_block=to_block, generation=generation)

    async def _to(self, block: int) -> Reorg:
        """A revert to ``block``: every stored block above it orphaned."""
        stored = await self.store.window(block + 1)
        return Reorg(block, tuple(sorted(stored.items())))

    async def _revert(self, reorg: Reorg, generation: int, *, as_reorg: bool) -> None:
        """Revert to ``reorg.ancestor`` in ``generation``: recorded first, then the marker
        published on every topic, then the rows above it deleted and the checkpoint moved
        (which clears the record). A crash in between leaves the record, and the next
        :meth:`open` completes the revert; without it the sync would go on from the old
        checkpoint in the new generation, and the consumers, which undid everything above
        the block at the marker, would never receive it again."""
        await self.store.begin_revert(reorg.ancestor, self._epoch, generation)
        await self.sink.publish_revert(reorg, generation)
        self._checkpoint = await self.store.revert(
            reorg, self._epoch, int(self.clock()), generation, as_reorg=as_reorg
        )
        self.status.synced = self._checkpoint.number
        self.status.synced_hash = self._checkpoint.hash
        # a contract named above the block is not followed any more (the event is gone)
        self._set_followed({a: b for a, b in self._followed.items() if b <= reorg.ancestor})

    async def rewind_checked(self, to_block: int) -> Checkpoint:
        """An operator's rewind (``nova rewind``), e.g. after a reorg deeper than the window
        stopped the sync: everything above ``to_block`` is reverted on every topic and read
        again. Only to a point whose history is still the chain's: ``start_block - 1`` (a full
        re-index), or a stored block whose hash the chain still has (then every block below it
        is the chain's too). Any other block could hide a fork below it whose new blocks carry
        events never read. Refused with :class:`RewindRefused` (naming the highest safe block)
        otherwise; returns the checkpoint it rewound from."""
        if self._epoch == 0:
            await self.open()
        before = self._checkpoint
        await self.check_rewind(to_block, before.number)
        await self.rewind(to_block)
        return before

    async def check_rewind(self, to_block: int, synced: int) -> None:
        """The checks of :meth:`rewind_checked` alone, reading only (``nova rewind
        --dry-run``): RewindRefused unless a sync at ``synced`` may go back to
        ``to_block``."""
        first = self.cfg.start_block - 1
        if not first <= to_block < synced:
            raise RewindRefused(
                f"--to {to_block} must be from {first} (the block before the start block: a "
                f"full re-index) to below the synced block {synced}"
            )
        if to_block > first:
            stored = await self.store.stored_below(to_block, 1)
            if not stored or stored[0][0] != to_block:
                safe = await self._highest_canonical(to_block)
                raise RewindRefused(
                    f"block {to_block} is not stored (it carried no tracked event), so whether "
                    f"it is still the chain's cannot be checked; {_rewind_hint(safe, first)}"
                )
            (header,) = (await self.chain.headers([to_block])).values()
            if header.hash != stored[0][1]:
                safe = await self._highest_canonical(to_block)
                raise RewindRefused(
                    f"block {to_block} is not on the chain any more (stored {stored[0][1]}, "
                    f"the chain has {header.hash}); {_rewind_hint(safe, first)}"
                )

    async def _highest_canonical(self, below: int, page: int = 200, pages: int = 20) -> int | None:
        """The highest stored block at or below ``below`` that the chain still has (looked
        for in pages of stored blocks, each checked in one batch), or None."""
        while pages > 0:
            stored = await self.store.stored_below(below, page)
            if not stored:
                return None
            canonical = await self._canonical_hashes([n for n, _ in stored])
            for n, h in stored:
                if canonical.get(n) == h:
                    return n
            below, pages = stored[-1][0] - 1, pages - 1
        return None

    @property
    def checkpoint(self) -> Checkpoint:
        return self._checkpoint

    async def _canonical_hashes(self, numbers: Sequence[int]) -> dict[int, str]:
        if not numbers:
            return {}
        head = await self.chain.head()
        present = [n for n in numbers if n <= head]
        headers: dict[int, BlockHeader] = await self.chain.headers(present) if present else {}
        return {n: h.hash for n, h in headers.items()}


def _lower(addresses: Sequence[str]) -> frozenset[str]:
    return frozenset(a.lower() for a in addresses)


def _rewind_hint(safe: int | None, first: int) -> str:
    if safe is None:
        return f"no stored block below it is the chain's: rewind to {first} (a full re-index)"
    return f"the highest stored block below it that is still the chain's is {safe}: rewind to it"


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _race(stop: asyncio.Event, other: Coroutine[Any, Any, None]) -> None:
    stopper = asyncio.ensure_future(stop.wait())
    waiter = asyncio.ensure_future(other)
    try:
        await asyncio.wait({stopper, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (stopper, waiter):
            t.cancel()
