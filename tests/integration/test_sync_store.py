"""The sync store writes logs as rendered SQL literals: every topic count reads back as it
was, and a value that is not plain hex (never from a sane node) goes through the driver's
escaping instead, on MariaDB and SQLite alike. Commits in flight together (backfill) write
their rows side by side on MariaDB, and each moves the checkpoint only after the previous."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from block_sync_service.domain.errors import StoreUnavailable
from block_sync_service.domain.model import (
    BlockBatch,
    BlockHeader,
    ChainTransaction,
    Checkpoint,
    RawLog,
)
from block_sync_service.infrastructure.store import (
    SqlAlchemySyncStore,
    _log_values,
    blocks,
    logs,
    sync_state,
    transactions,
)
from common.db import create_engine, migrate

ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.fixture(params=["mysql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def _batch(block: int, datas: list[str]) -> BlockBatch:
    header = BlockHeader(block, "0x" + f"{block:02x}" * 32, "0x" + f"{block - 1:02x}" * 32, 1000)
    batch_logs = [
        RawLog(
            ADDRESS,
            tuple("0x" + f"{t + 1:02x}" * 32 for t in range(i % 5)),  # 0-4 topics
            data,
            block,
            header.hash,
            "0x" + "cd" * 32,
            0,
            i,
        )
        for i, data in enumerate(datas)
    ]
    return BlockBatch(block, block, headers={block: header}, logs=batch_logs)


def _stored(row: sa.Row[object]) -> RawLog:
    topics = tuple(t for t in (row.topic0, row.topic1, row.topic2, row.topic3) if t is not None)
    return RawLog(
        row.address,
        topics,
        row.data,
        row.block_number,
        row.block_hash,
        row.tx_hash,
        row.tx_index,
        row.log_index,
    )


async def test_logs_read_back_as_they_were(db_url: str) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        store = SqlAlchemySyncStore(engine, 31337)
        _, epoch = await store.open(1)
        plain = _batch(2, ["0x", "0x" + "00" * 31 + "07", "0x" + "ab" * 64, "0x1", "0x2"])
        assert _log_values(plain.logs) is not None  # the rendered path
        await store.commit(plain, Checkpoint(2, plain.last_header.hash), epoch, 2)
        # a quote, a backslash, non-ASCII: the rows go through the driver's escaping
        hostile = _batch(3, ["0x", "it's", "back\\slash', 1, 2); --", "ünï"])
        assert _log_values(hostile.logs) is None
        await store.commit(hostile, Checkpoint(3, hostile.last_header.hash), epoch, 3)
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(logs).order_by(logs.c.block_number, logs.c.log_index)
            )
            assert [_stored(r) for r in rows] == plain.logs + hostile.logs
    finally:
        await engine.dispose()


async def test_a_topic_filter_reads_a_bounded_scan_and_the_cursor_misses_nothing(
    db_url: str,
) -> None:
    """With a scan budget an answer holds the matches among the next ``budget`` logs (some
    answers none) and says where it stopped; continuing from there lists every match once."""
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        store = SqlAlchemySyncStore(engine, 31337)
        _, epoch = await store.open(1)
        for block in range(2, 22):  # 12 logs a block, with 0-4 topics
            batch = _batch(block, ["0x"] * 12)
            await store.commit(batch, Checkpoint(block, batch.last_header.hash), epoch, block)
        rare = "0x" + "04" * 32  # topic3 of a log with four topics: every fifth
        every = await store.get_logs([ADDRESS], 0, 30, limit=1000)
        want = [(r["block_number"], r["log_index"]) for r in every.rows if r["topic3"] == rare]
        assert every.resume is None and len(every.rows) == 240 and want
        for limit, budget in [(1, 7), (3, 7), (100, 7), (100, 50), (100, 240), (2, 1)]:
            listed: list[tuple[int, int]] = []
            cut, after = 0, None
            for _ in range(1000):
                found = await store.get_logs(
                    [ADDRESS], 3, 30, [None, None, None, rare], limit, 0, after, budget
                )
                page = [(r["block_number"], r["log_index"]) for r in found.rows]
                listed += page
                if found.resume is None:
                    break
                cut += page[-1:] != [found.resume]  # the budget ended it, not the page's end
                after = found.resume
            assert listed == [p for p in want if p[0] >= 3], (limit, budget)
            assert (cut > 0) == (budget < 228), (limit, budget, cut)  # 228 logs from block 3
        nothing = await store.get_logs([ADDRESS], 0, 30, ["0x" + "ee" * 32], 10, 0, None, 100)
        assert nothing.rows == [] and nothing.resume == (10, 3)  # the 100th log
    finally:
        await engine.dispose()


def _with_tx(batch: BlockBatch) -> BlockBatch:
    """The batch's logs carried by one transaction of their block (a row per table)."""
    header = batch.last_header
    tx = ChainTransaction(
        f"0x{batch.last:064x}", batch.last, header.hash, ADDRESS, ADDRESS, 0, 21000, 1, b"", 1, 0
    )
    batch.logs = [
        RawLog(lg.address, lg.topics, lg.data, lg.block_number, lg.block_hash, tx.hash, 0, i)
        for i, lg in enumerate(batch.logs)
    ]
    batch.transactions = {tx.hash: tx}
    return batch


async def _stored_blocks(engine: object) -> tuple[int, list[int], int, int]:
    """(checkpoint, stored block numbers, transactions, logs) as another connection sees them."""
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        synced = (await conn.execute(sa.select(sync_state.c.synced_block))).scalar_one()
        numbers = [n for (n,) in await conn.execute(sa.select(blocks.c.number).order_by("number"))]
        txs = (await conn.execute(sa.select(sa.func.count()).select_from(transactions))).scalar()
        n_logs = (await conn.execute(sa.select(sa.func.count()).select_from(logs))).scalar()
    return int(synced), numbers, int(txs or 0), int(n_logs or 0)


OPEN_ROWS = "SELECT MAX(trx_rows_modified) FROM information_schema.innodb_trx"


async def test_commits_in_flight_write_side_by_side_and_land_in_order(mysql_url: str) -> None:
    """The backfill's next unit writes its rows while the previous unit's commit is open: on
    MariaDB neither waits for the other's locks; the later one moves the checkpoint only once
    the earlier landed, and if the earlier fails nothing of the later one is stored."""
    migrate(mysql_url)
    engine = create_engine(mysql_url)
    try:
        store = SqlAlchemySyncStore(engine, 31337)
        _, epoch = await store.open(1)
        b2, b3, b4 = (_with_tx(_batch(n, ["0x1", "0x2", "0x3"])) for n in (2, 3, 4))
        previous: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        written = asyncio.Event()
        open_rows: list[int] = []

        async def after_previous() -> None:  # reached once block 3's rows are written
            async with engine.connect() as conn:  # its open transaction holds them (5 rows)
                most = await conn.execute(sa.text(OPEN_ROWS))
                open_rows.append(int(most.scalar() or 0))
            written.set()
            await previous

        later = asyncio.create_task(
            store.commit(b3, Checkpoint(3, b3.last_header.hash), epoch, 4, after_previous())
        )
        await asyncio.wait_for(written.wait(), 10)
        assert open_rows == [5]  # a block, a transaction and three logs, not committed yet
        # block 3's transaction is open with its rows: block 2's commits beside it
        await asyncio.wait_for(store.commit(b2, Checkpoint(2, b2.last_header.hash), epoch, 4), 10)
        assert not later.done()
        assert await _stored_blocks(engine) == (2, [2], 1, 3)
        previous.set_result(None)
        await asyncio.wait_for(later, 10)
        assert await _stored_blocks(engine) == (3, [2, 3], 2, 6)

        failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        failed.set_exception(StoreUnavailable("the previous commit failed"))
        with pytest.raises(StoreUnavailable):
            await store.commit(b4, Checkpoint(4, b4.last_header.hash), epoch, 4, failed)
        assert await _stored_blocks(engine) == (3, [2, 3], 2, 6)  # nothing of block 4
    finally:
        await engine.dispose()


async def test_a_begun_revert_is_kept_until_its_rows_are_reverted(db_url: str) -> None:
    """begin_revert records the revert and its generation (what a restart completes);
    revert clears it with the rows; a fenced syncer cannot begin one."""
    from block_sync_service.domain.errors import Fenced
    from block_sync_service.domain.model import Reorg

    migrate(db_url)
    engine = create_engine(db_url)
    try:
        store = SqlAlchemySyncStore(engine, 31337)
        _, epoch = await store.open(1)
        for block in (2, 3, 4):
            batch = _batch(block, ["0x"])
            await store.commit(batch, Checkpoint(block, batch.last_header.hash), epoch, block)
        assert await store.pending_revert() is None
        await store.begin_revert(2, epoch, 1)
        assert await store.pending_revert() == 2
        checkpoint, epoch = await store.open(1)  # a restart: still at 4, in the new generation
        assert (checkpoint.number, checkpoint.generation) == (4, 1)
        assert await store.pending_revert() == 2
        orphaned = tuple(sorted((await store.window(3)).items()))
        reverted = await store.revert(Reorg(2, orphaned), epoch, 0, 1, as_reorg=False)
        assert (reverted.number, reverted.generation) == (2, 1)
        assert await store.pending_revert() is None
        assert sorted(await store.window(0)) == [2]
        with pytest.raises(Fenced):
            await store.begin_revert(1, epoch - 1, 2)
    finally:
        await engine.dispose()
