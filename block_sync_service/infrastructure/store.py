"""Chain data and the sync checkpoint in SQL (MySQL/MariaDB, or SQLite embedded).

The checkpoint only moves in a transaction that also stores the batch's rows, and only while
this process holds the current fencing epoch: a replica that lost its lock cannot move it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from block_sync_service.domain.errors import Fenced, StoreUnavailable
from block_sync_service.domain.model import BlockBatch, BlockHeader, Checkpoint, RawLog, Reorg
from common.abi import checksum
from common.db import insert_rows, insert_values, quoted_safely

metadata = sa.MetaData()
blocks = sa.Table(
    "blocks",
    metadata,
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(66)),
    sa.Column("parent_hash", sa.String(66)),
    sa.Column("timestamp", sa.BigInteger),
    sa.Column("gas_used", sa.BigInteger),
    sa.Column("gas_limit", sa.BigInteger),
    sa.Column("miner", sa.String(42)),
    sa.Column("size", sa.BigInteger),
    sa.Column("log_count", sa.Integer),
)
transactions = sa.Table(  # keyed by position, the hash unique (migration 0010)
    "transactions",
    metadata,
    sa.Column("hash", sa.String(66), unique=True),
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("block_hash", sa.String(66)),
    sa.Column("from_address", sa.String(42)),
    sa.Column("to_address", sa.String(42)),
    sa.Column("value", sa.String(78)),
    sa.Column("gas", sa.BigInteger),
    sa.Column("gas_price", sa.String(78)),
    sa.Column("input", sa.LargeBinary),
    sa.Column("status", sa.SmallInteger),
    sa.Column("tx_index", sa.Integer, primary_key=True, autoincrement=False),
)
logs = sa.Table(  # keyed by position: only canonical rows are stored (migration 0007)
    "logs",
    metadata,
    sa.Column("block_hash", sa.String(66)),
    sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("address", sa.String(42)),
    sa.Column("topic0", sa.String(66)),
    sa.Column("topic1", sa.String(66)),
    sa.Column("topic2", sa.String(66)),
    sa.Column("topic3", sa.String(66)),
    sa.Column("data", sa.Text),
    sa.Column("tx_hash", sa.String(66)),
    sa.Column("tx_index", sa.Integer),
    sa.Column("removed", sa.Boolean),
)
sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("synced_block", sa.BigInteger),
    sa.Column("synced_hash", sa.String(66)),
    sa.Column("head_block", sa.BigInteger),
    sa.Column("epoch", sa.BigInteger),
    sa.Column("alarm", sa.Text),
    sa.Column("last_reorg_block", sa.BigInteger),
    sa.Column("last_reorg_depth", sa.Integer),
    sa.Column("last_reorg_at", sa.BigInteger),
    sa.Column("generation", sa.BigInteger),
    sa.Column("revert_to", sa.BigInteger, nullable=True),  # a revert begun, not yet stored
)


@dataclass(frozen=True)
class SyncRow:
    synced_block: int
    synced_hash: str
    head_block: int
    epoch: int
    alarm: str | None
    last_reorg_block: int
    last_reorg_depth: int
    last_reorg_at: int


@contextlib.asynccontextmanager
async def _db_errors(what: str) -> AsyncIterator[None]:
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(f"{what}: {type(exc.orig).__name__}: {exc.orig}") from exc


class SqlAlchemySyncStore:
    def __init__(self, engine: AsyncEngine, chain_id: int) -> None:
        self.engine = engine
        self.chain_id = chain_id

    async def state(self) -> SyncRow | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(sync_state).where(sync_state.c.chain_id == self.chain_id)
                )
            ).first()
        if row is None:
            return None
        return SyncRow(
            synced_block=row.synced_block,
            synced_hash=row.synced_hash,
            head_block=row.head_block,
            epoch=row.epoch,
            alarm=row.alarm,
            last_reorg_block=row.last_reorg_block,
            last_reorg_depth=row.last_reorg_depth,
            last_reorg_at=row.last_reorg_at,
        )

    async def open(self, start_block: int) -> tuple[Checkpoint, int]:
        """Take a new fencing epoch; create the state at ``start_block - 1`` the first time."""
        async with _db_errors("open sync state"), self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        sync_state.c.synced_block,
                        sync_state.c.synced_hash,
                        sync_state.c.epoch,
                        sync_state.c.generation,
                    )
                    .where(sync_state.c.chain_id == self.chain_id)
                    .with_for_update()
                )
            ).first()
            if row is None:
                await conn.execute(
                    sa.insert(sync_state).values(
                        chain_id=self.chain_id,
                        synced_block=start_block - 1,
                        synced_hash="",
                        head_block=0,
                        epoch=1,
                        alarm=None,
                        last_reorg_block=0,
                        last_reorg_depth=0,
                        last_reorg_at=0,
                        generation=0,
                    )
                )
                return Checkpoint(start_block - 1, ""), 1
            epoch = int(row.epoch) + 1
            await conn.execute(
                sa.update(sync_state)
                .where(sync_state.c.chain_id == self.chain_id)
                .values(epoch=epoch, alarm=None)
            )
            return (
                Checkpoint(int(row.synced_block), str(row.synced_hash), int(row.generation)),
                epoch,
            )

    async def window(self, lowest: int) -> dict[int, str]:
        """Stored block hashes at or above ``lowest``."""
        async with _db_errors("read window"), self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(blocks.c.number, blocks.c.hash).where(blocks.c.number >= lowest)
            )
            return {int(n): str(h) for n, h in rows}

    async def stored_below(self, number: int, limit: int) -> list[tuple[int, str]]:
        async with _db_errors("read stored blocks"), self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(blocks.c.number, blocks.c.hash)
                .where(blocks.c.number <= number)
                .order_by(blocks.c.number.desc())
                .limit(limit)
            )
            return [(int(n), str(h)) for n, h in rows]

    async def commit(
        self,
        batch: BlockBatch,
        checkpoint: Checkpoint,
        epoch: int,
        head: int,
        after: Awaitable[None] | None = None,
    ) -> None:
        per_block: dict[int, int] = {}
        for lg in batch.logs:
            per_block[lg.block_number] = per_block.get(lg.block_number, 0) + 1
        block_rows = [_block_row(h, per_block.get(n, 0)) for n, h in sorted(batch.headers.items())]
        tx_rows = [
            {
                "hash": t.hash,
                "block_number": t.block_number,
                "block_hash": t.block_hash,
                "from_address": t.from_address,
                "to_address": t.to_address,
                "value": str(t.value),
                "gas": t.gas,
                "gas_price": str(t.gas_price),
                "input": t.input,
                "status": t.status,
                "tx_index": t.tx_index,
            }
            for t in batch.transactions.values()
        ]
        async with _db_errors("commit batch"), self.engine.begin() as conn:
            await insert_rows(conn, blocks, block_rows, ignore=True)
            await insert_rows(conn, transactions, tx_rows, ignore=True)
            log_values = _log_values(batch.logs)
            if log_values is not None:
                await insert_values(conn, logs, _LOG_COLUMNS, log_values, ignore=True)
            else:  # a string that is not plain hex: the driver escapes it
                await insert_rows(conn, logs, [_log_row(lg) for lg in batch.logs], ignore=True)
            if after is not None:
                await after
            await self._move(conn, epoch, checkpoint, head_block=head)

    async def _move(self, conn: Any, epoch: int, checkpoint: Checkpoint, **extra: Any) -> None:
        result = await conn.execute(
            sa.update(sync_state)
            .where(sync_state.c.chain_id == self.chain_id, sync_state.c.epoch == epoch)
            .values(synced_block=checkpoint.number, synced_hash=checkpoint.hash, **extra)
        )
        if result.rowcount != 1:
            raise Fenced(f"sync epoch {epoch} is no longer current: another syncer took over")

    async def revert(
        self, reorg: Reorg, epoch: int, now: int, generation: int, *, as_reorg: bool = True
    ) -> Checkpoint:
        """Delete every stored row above the ancestor; the checkpoint goes back to it."""
        async with _db_errors("revert"), self.engine.begin() as conn:
            ancestor_hash = (
                await conn.execute(
                    sa.select(blocks.c.hash).where(blocks.c.number == reorg.ancestor)
                )
            ).scalar_one_or_none()
            await conn.execute(sa.delete(logs).where(logs.c.block_number > reorg.ancestor))
            await conn.execute(
                sa.delete(transactions).where(transactions.c.block_number > reorg.ancestor)
            )
            await conn.execute(sa.delete(blocks).where(blocks.c.number > reorg.ancestor))
            checkpoint = Checkpoint(reorg.ancestor, ancestor_hash or "", generation)
            last_reorg = (
                {
                    "last_reorg_block": reorg.ancestor + 1,
                    "last_reorg_depth": reorg.depth,
                    "last_reorg_at": now,
                }
                if as_reorg
                else {}
            )
            await self._move(
                conn, epoch, checkpoint, generation=generation, revert_to=None, **last_reorg
            )
            return checkpoint

    async def begin_revert(self, to_block: int, epoch: int, generation: int) -> None:
        async with _db_errors("begin revert"), self.engine.begin() as conn:
            result = await conn.execute(
                sa.update(sync_state)
                .where(sync_state.c.chain_id == self.chain_id, sync_state.c.epoch == epoch)
                .values(generation=generation, revert_to=to_block)
            )
            if result.rowcount != 1:
                raise Fenced(f"sync epoch {epoch} is no longer current: another syncer took over")

    async def pending_revert(self) -> int | None:
        async with _db_errors("read sync state"), self.engine.connect() as conn:
            value = (
                await conn.execute(
                    sa.select(sync_state.c.revert_to).where(sync_state.c.chain_id == self.chain_id)
                )
            ).scalar_one_or_none()
        return None if value is None else int(value)

    async def stored_logs(self, address: str, topic0: str) -> list[RawLog]:
        c = logs.c
        async with _db_errors("read logs"), self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(logs)
                .where(c.address == checksum(address), c.topic0 == topic0.lower())
                .order_by(c.block_number, c.log_index)
            )
            return [
                RawLog(
                    r.address,
                    tuple(t for t in (r.topic0, r.topic1, r.topic2, r.topic3) if t is not None),
                    r.data,
                    r.block_number,
                    r.block_hash,
                    r.tx_hash,
                    r.tx_index,
                    r.log_index,
                )
                for r in rows
            ]

    async def set_alarm(self, alarm: str | None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(sync_state)
                .where(sync_state.c.chain_id == self.chain_id)
                .values(alarm=alarm)
            )

    # ------------------------------------------------------------------ reads (gRPC)

    async def get_block(self, number: int) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(blocks).where(blocks.c.number == number))).first()
            if row is None:
                return None
            txs = (
                (
                    await conn.execute(
                        sa.select(transactions)
                        .where(transactions.c.block_number == number)
                        .order_by(transactions.c.tx_index)
                    )
                )
                .mappings()
                .all()
            )
            lgs = (
                (
                    await conn.execute(
                        sa.select(logs)
                        .where(logs.c.block_number == number)
                        .order_by(logs.c.log_index)
                    )
                )
                .mappings()
                .all()
            )
        return {
            "block": dict(row._mapping),
            "transactions": [dict(t) for t in txs],
            "logs": [dict(lg) for lg in lgs],
        }

    async def get_transaction(self, tx_hash: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            tx = (
                (await conn.execute(sa.select(transactions).where(transactions.c.hash == tx_hash)))
                .mappings()
                .first()
            )
            if tx is None:
                return None
            lgs = (
                (
                    await conn.execute(
                        sa.select(logs)
                        .where(  # within its block: the key's prefix, no index on tx_hash
                            logs.c.block_number == tx["block_number"], logs.c.tx_hash == tx_hash
                        )
                        .order_by(logs.c.log_index)
                    )
                )
                .mappings()
                .all()
            )
        return {"transaction": dict(tx), "logs": [dict(lg) for lg in lgs]}

    async def get_logs(
        self,
        addresses: Sequence[str],
        from_block: int,
        to_block: int,
        topics: Sequence[str | None] = (),
        limit: int = 1000,
        offset: int = 0,
        after: tuple[int, int] | None = None,
        scan_budget: int | None = None,
    ) -> FoundLogs:
        """Logs in chain order, from ``from_block`` (or after the position ``after``) to
        ``to_block``. Topics are not indexed, so a topic filter reads the address's logs one
        by one until the page is full: a topic that is rare or absent reads every log in the
        range. ``scan_budget`` bounds that: the page then holds the matches among the next
        ``scan_budget`` logs. ``resume`` is where the next page starts after: the page's last
        log when more match, or where the budget stopped; None when nothing is left."""
        c = logs.c
        where = [c.block_number >= from_block, c.block_number <= to_block]
        if addresses:
            where.append(c.address.in_(list(addresses)))
        if after is not None:
            block, log_index = after
            where.append(
                sa.or_(
                    c.block_number > block,
                    sa.and_(c.block_number == block, c.log_index > log_index),
                )
            )
        filters = [
            getattr(c, f"topic{i}") == topic.lower() for i, topic in enumerate(topics[:4]) if topic
        ]
        order = (c.block_number, c.log_index)
        scanned_to = None
        async with self.engine.connect() as conn:
            if filters and scan_budget:
                # the budget's last log, if another follows it: read off the address index,
                # which holds the position too, so no row is looked up. MariaDB reads it by
                # the address alone (every earlier log of the address, then the ones wanted:
                # 0.13-0.16 s late in a million logs) unless the index is forced (0.03 s).
                ends_q = sa.select(*order).where(*where).order_by(*order)
                if addresses:
                    for dialect in ("mysql", "mariadb"):
                        ends_q = ends_q.with_hint(logs, f"FORCE INDEX ({ADDRESS_INDEX})", dialect)
                ends = (await conn.execute(ends_q.offset(scan_budget - 1).limit(2))).all()
                if len(ends) == 2:
                    scanned_to = (int(ends[0][0]), int(ends[0][1]))
                    block, log_index = scanned_to
                    where.append(
                        sa.or_(
                            c.block_number < block,
                            sa.and_(c.block_number == block, c.log_index <= log_index),
                        )
                    )
            q = sa.select(logs).where(*where, *filters).order_by(*order)
            rows = [
                dict(r) for r in (await conn.execute(q.limit(limit + 1).offset(offset))).mappings()
            ]
        if len(rows) > limit:
            last = rows[limit - 1]
            return FoundLogs(rows[:limit], (last["block_number"], last["log_index"]))
        return FoundLogs(rows, scanned_to)

    async def transactions_between(self, first: int, last: int) -> list[dict[str, Any]]:
        """The stored transactions of blocks ``first`` to ``last``."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(transactions).where(
                    transactions.c.block_number >= first, transactions.c.block_number <= last
                )
            )
            return [dict(r) for r in rows.mappings()]

    async def block_hashes(self, first: int, last: int) -> dict[int, str]:
        """The stored blocks' hashes, by number, from ``first`` to ``last``."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(blocks.c.number, blocks.c.hash).where(
                    blocks.c.number >= first, blocks.c.number <= last
                )
            )
            return {int(n): h for n, h in rows}

    async def count(self, table: str) -> int:
        t = metadata.tables[table]
        async with self.engine.connect() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one())


ADDRESS_INDEX = "idx_logs_address_block"  # logs (address, block_number), migration 0007


@dataclass(frozen=True)
class FoundLogs:
    rows: list[dict[str, Any]]
    # the position (block, log index) the next page starts after; None: no more
    resume: tuple[int, int] | None = None


def _block_row(h: BlockHeader, log_count: int) -> dict[str, Any]:
    return {
        "number": h.number,
        "hash": h.hash,
        "parent_hash": h.parent_hash,
        "timestamp": h.timestamp,
        "gas_used": h.gas_used,
        "gas_limit": h.gas_limit,
        "miner": h.miner,
        "size": h.size,
        "log_count": log_count,
    }


_LOG_COLUMNS = tuple(c.name for c in logs.columns)  # the order _LOG_LITERALS renders
# per topic count (a log has 0-4): the row with that many quoted topics, NULL for the rest
_LOG_LITERALS = [
    "('%s',%d,%d,'%s'," + ",".join(["'%s'"] * n + ["NULL"] * (4 - n)) + ",'%s','%s',%d,0)"
    for n in range(5)
]


def _log_values(batch_logs: Sequence[RawLog]) -> list[str] | None:
    """The logs as SQL literal rows (the backfill's largest insert: the generic rendering of
    twelve values per row cost about three times this), or None when a string value would
    not read back as itself (never from a sane node: the driver then escapes the rows)."""
    out = []
    quoted = 0
    for lg in batch_logs:
        t = lg.topics
        if len(t) > 4:
            return None
        quoted += 4 + len(t)
        out.append(
            _LOG_LITERALS[len(t)]
            % (
                lg.block_hash,
                lg.log_index,
                lg.block_number,
                lg.address,
                *t,
                lg.data,
                lg.tx_hash,
                lg.tx_index,
            )
        )
    return out if quoted_safely(out, quoted) else None


def _log_row(lg: RawLog) -> dict[str, Any]:
    t = lg.topics
    return {
        "block_hash": lg.block_hash,
        "log_index": lg.log_index,
        "block_number": lg.block_number,
        "address": lg.address,
        "topic0": t[0] if len(t) > 0 else None,
        "topic1": t[1] if len(t) > 1 else None,
        "topic2": t[2] if len(t) > 2 else None,
        "topic3": t[3] if len(t) > 3 else None,
        "data": lg.data,
        "tx_hash": lg.tx_hash,
        "tx_index": lg.tx_index,
        "removed": False,
    }
