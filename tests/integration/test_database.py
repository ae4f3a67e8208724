"""Migrations and the engine factory against MariaDB (the real stack) and SQLite (embedded)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from common.db import create_engine, downgrade, migrate
from common.sqltypes import Amount, AmountOverflow


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


async def test_bulk_insert_ignore_literal_and_fallback_paths(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of chain data go as SQL literals (in chunks); any other string goes parameterised.
    Both store exactly what was given, and duplicates are ignored."""
    import sqlalchemy as sa

    import common.db as db

    monkeypatch.setattr(db, "_CHUNK_CHARS", 200)  # several statements per call
    meta = sa.MetaData()
    table = sa.Table(
        "bulk_probe",
        meta,
        sa.Column("k", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("s", sa.String(80)),
        sa.Column("b", sa.LargeBinary),
        sa.Column("f", sa.Boolean),
        sa.Column("amt", Amount),
    )
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
        hexes = [
            {
                "k": i,
                "s": f"0x{i:064x}",
                "b": bytes([i, 0, 39, 92]),
                "f": i % 2 == 0,
                "amt": 10**64 + i if i % 3 else i,
            }
            for i in range(20)
        ]
        hexes.append({"k": 20, "s": None, "b": None, "f": None, "amt": None})
        tricky = [
            {"k": 100, "s": "it's", "b": b"'", "f": True, "amt": 1},
            {
                "k": 101,
                "s": "back\\slash; DROP TABLE bulk_probe; --",
                "b": b"",
                "f": False,
                "amt": 0,
            },
            {"k": 102, "s": "ünïcode", "b": None, "f": None, "amt": None},
        ]
        async with engine.begin() as conn:
            await db.insert_rows(conn, table, hexes)
            await db.insert_rows(conn, table, tricky)
            await db.insert_rows(conn, table, hexes[:3], ignore=True)  # duplicates: ignored
            await db.insert_rows(conn, table, [], ignore=True)
        with pytest.raises(sa.exc.IntegrityError):  # without ignore, a duplicate is an error
            async with engine.begin() as conn:
                await db.insert_rows(conn, table, hexes[5:6])
        with pytest.raises(AmountOverflow):  # the amount type's checks still apply
            async with engine.begin() as conn:
                await db.insert_rows(conn, table, [{**hexes[0], "k": 999, "amt": 10**65}])
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(table).order_by(table.c.k))).mappings().all()
        assert [dict(r) for r in rows] == hexes + tricky

        # upsert: duplicates update the named columns only, new keys are inserted; on the
        # literal path and (a quote in a value) on the parameterised one
        changed = [{**r, "s": f"0x{r['k']:x}ff", "amt": 7, "f": None} for r in hexes[:4]]
        changed.append({"k": 50, "s": "0xnew", "b": b"\x01", "f": True, "amt": 10**64})
        odd = [{**tricky[0], "s": "it's changed", "amt": 2}]
        async with engine.begin() as conn:
            await db.insert_rows(conn, table, changed, update=("s", "amt"))
            await db.insert_rows(conn, table, odd, update=("s", "amt"))
        with pytest.raises(ValueError, match="exclusive"):
            async with engine.begin() as conn:
                await db.insert_rows(conn, table, odd, ignore=True, update=("s",))
        want: dict[int, dict[str, object]] = {int(str(r["k"])): r for r in hexes + tricky}
        for r in changed[:4] + odd:
            k = int(str(r["k"]))
            want[k] = {**want[k], "s": r["s"], "amt": r["amt"]}  # f kept
        want[50] = changed[4]
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(table).order_by(table.c.k))).mappings().all()
        assert [dict(r) for r in rows] == [want[k] for k in sorted(want)]
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(meta.drop_all)
        await engine.dispose()
