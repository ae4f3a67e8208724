"""Migrations and the engine factory against MariaDB (the real stack) and SQLite (embedded)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from common.db import create_engine, downgrade, migrate


@pytest.fixture(params=["mysql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


async def test_migrations_apply_roundtrip_and_revert(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)  # idempotent: already at head
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO consumer_offsets"
                    " (consumer_group, topic, partition_id, next_offset)"
                    " VALUES ('token', 'nova.token', 0, 0)"
                )
            )
        async with engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT partition_id, next_offset FROM consumer_offsets"))
            ).one()
        assert tuple(row) == (0, 0)  # a zero key stays zero: no auto-increment
    finally:
        await engine.dispose()
    downgrade(db_url, "base")
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: c.dialect.get_table_names(c))
        assert "consumer_offsets" not in tables
    finally:
        await engine.dispose()
