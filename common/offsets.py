"""Consumer offsets in SQL (table ``consumer_offsets``): the next offset to read, per
(group, topic, partition). Consumers save them in the same transaction as their effects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

consumer_offsets = sa.Table(
    "consumer_offsets",
    sa.MetaData(),
    sa.Column("consumer_group", sa.String(128), primary_key=True),
    sa.Column("topic", sa.String(255), primary_key=True),
    sa.Column("partition_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
    sa.Column("updated_block", sa.BigInteger, nullable=False),
)


def upsert(
    dialect: str,
    table: sa.Table,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    update: Sequence[str],
    increment: Sequence[str] = (),
) -> sa.Executable:
    """One INSERT ... ON DUPLICATE KEY UPDATE (MySQL) / ON CONFLICT DO UPDATE (SQLite), of one
    row or of many (one multi-row statement: one round trip instead of one per row): the
    ``update`` columns take the new row's value, the ``increment`` ones add it to theirs.

    Update-then-insert deadlocks on InnoDB gap locks when several consumers start at once.
    """
    rows = [dict(values)] if isinstance(values, Mapping) else [dict(v) for v in values]
    if dialect == "mysql":
        stmt = mysql_insert(table).values(rows)
        sets: dict[str, sa.ColumnElement[Any]] = {c: stmt.inserted[c] for c in update}
        sets.update({c: table.c[c] + stmt.inserted[c] for c in increment})
        return stmt.on_duplicate_key_update(sets)
    if dialect == "sqlite":
        lite = sqlite_insert(table).values(rows)
        keys = [c.name for c in table.primary_key.columns]
        lite_sets: dict[str, sa.ColumnElement[Any]] = {c: lite.excluded[c] for c in update}
        lite_sets.update({c: table.c[c] + lite.excluded[c] for c in increment})
        return lite.on_conflict_do_update(index_elements=keys, set_=lite_sets)
    raise ValueError(f"no upsert for dialect {dialect!r}")


class SqlOffsetStore:
    def __init__(self, engine: AsyncEngine, group: str) -> None:
        self.engine = engine
        self.group = group

    async def load(self, topic: str) -> dict[int, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(consumer_offsets.c.partition_id, consumer_offsets.c.next_offset).where(
                    consumer_offsets.c.consumer_group == self.group,
                    consumer_offsets.c.topic == topic,
                )
            )
            return {int(p): int(o) for p, o in rows}

    async def through(self) -> dict[str, int]:
        """Per topic, the block the group saved with its offsets (its lowest partition's)."""
        c = consumer_offsets.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(c.topic, sa.func.min(c.updated_block))
                .where(c.consumer_group == self.group)
                .group_by(c.topic)
            )
            return {str(t): int(b) for t, b in rows}

    async def save(self, topic: str, positions: Mapping[int, int], block: int = 0) -> None:
        async with self.engine.begin() as conn:
            await self.save_in(conn, topic, positions, block)

    async def save_in(
        self, conn: AsyncConnection, topic: str, positions: Mapping[int, int], block: int = 0
    ) -> None:
        """Save inside the caller's transaction (exactly-once effects)."""
        for partition, offset in positions.items():
            values = {
                "consumer_group": self.group,
                "topic": topic,
                "partition_id": partition,
                "next_offset": offset,
                "updated_block": block,
            }
            await conn.execute(
                upsert(
                    conn.dialect.name, consumer_offsets, values, ("next_offset", "updated_block")
                )
            )
