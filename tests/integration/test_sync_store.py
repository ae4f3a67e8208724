"""The sync store writes logs as rendered SQL literals: every topic count reads back as it
was, and a value that is not plain hex (never from a sane node) goes through the driver's
escaping instead, on MariaDB and SQLite alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from block_sync_service.domain.model import BlockBatch, BlockHeader, Checkpoint, RawLog
from block_sync_service.infrastructure.store import SqlAlchemySyncStore, _log_values, logs
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
