"""Migrations and the engine factory against MariaDB (the real stack) and SQLite (embedded)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from common.db import HEAD_REVISION, MIGRATIONS_DIR, at_head, create_engine, downgrade, migrate
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


def test_head_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_migrate_at_head_is_one_query_without_alembic(db_url: str) -> None:
    assert not at_head(db_url)  # a fresh database has no version table
    migrate(db_url)
    assert at_head(db_url)
    # a process started on an up-to-date database does not load Alembic
    probe = (
        "import sys; from common.db import migrate; migrate(sys.argv[1]);"
        " print('alembic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, db_url], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
    downgrade(db_url, "0009")
    assert not at_head(db_url)
    migrate(db_url)  # one behind: Alembic upgrades it
    assert at_head(db_url)


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
                "amt": 10**64 + i if i % 3 else 10**65 - 1 - i if i % 2 else i,
            }
            for i in range(20)
        ]
        hexes.append({"k": 20, "s": None, "b": None, "f": None, "amt": None})
        tricky = [
            {"k": 100, "s": "it's", "b": b"'", "f": True, "amt": 10**65 - 1},  # the driver's way
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
        # increment: duplicates add the new value to the stored one (both paths again)
        more: list[dict[str, object]] = [
            {"k": k, "s": "0xab", "b": None, "f": None, "amt": k + 10} for k in (1, 2, 60)
        ]
        odd_more: list[dict[str, object]] = [
            {"k": 100, "s": "it's", "b": None, "f": None, "amt": 1}
        ]
        async with engine.begin() as conn:
            await db.insert_rows(conn, table, more, update=("s",), increment=("amt",))
            await db.insert_rows(conn, table, odd_more, increment=("amt",))
        for r in more + odd_more:
            k = int(str(r["k"]))
            if k in want:
                amount = want[k]["amt"]
                assert isinstance(amount, int)
                want[k] = {**want[k], "amt": amount + int(str(r["amt"]))}
                if k != 100:
                    want[k]["s"] = r["s"]
            else:
                want[k] = r
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(table).order_by(table.c.k))).mappings().all()
        assert [dict(r) for r in rows] == [want[k] for k in sorted(want)]
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(meta.drop_all)
        await engine.dispose()


async def test_stake_claim_times_survive_migration_0008_both_ways(db_url: str) -> None:
    """0008 drops the stored per-stake claim times (and claim_effects) for the user's latest
    claim time: stakes indexed before it read back the same times after it, and a downgrade
    writes them back."""
    from staking_service.infrastructure.sql import StakingViews

    hour, t0, user = 3600, 1_700_000_000, "0x" + "ab" * 20
    migrate(db_url, "0007")
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            # stake 1 active, claimed at t0 + 5h30; stake 2 made after that claim; stake 3
            # unstaked at t0 + 2h10 (its claim moved it to t0 + 2h)
            await conn.execute(
                text(
                    "INSERT INTO stakes (id, user, amount, start_time, last_claim_time,"
                    " end_time, block_number, unstaked_block, status, tx_hash) VALUES"
                    " (:id, :user, '1000', :start, :last, :end, 1, 0, :status, '0x')"
                ),
                [
                    {
                        "id": 1,
                        "user": user,
                        "start": t0,
                        "last": t0 + 5 * hour,
                        "end": 0,
                        "status": "active",
                    },
                    {
                        "id": 2,
                        "user": user,
                        "start": t0 + 6 * hour,
                        "last": t0 + 6 * hour,
                        "end": 0,
                        "status": "active",
                    },
                    {
                        "id": 3,
                        "user": user,
                        "start": t0,
                        "last": t0 + 2 * hour,
                        "end": t0 + 2 * hour + 600,
                        "status": "unstaked",
                    },
                ],
            )
            await conn.execute(
                text(
                    "INSERT INTO reward_claims (id, user, amount, block_number, timestamp)"
                    " VALUES (:id, :user, '1', 1, :at)"
                ),
                [
                    {"id": "a", "user": user, "at": t0 + 2 * hour + 600},
                    {"id": "b", "user": user, "at": t0 + 5 * hour + 1800},
                ],
            )
            await conn.execute(
                text(
                    "INSERT INTO staking_user_totals (user, staked, claimed, active_stakes)"
                    " VALUES (:user, '2000', '2', 2)"
                ),
                {"user": user},
            )
    finally:
        await engine.dispose()
    want = {1: t0 + 5 * hour, 2: t0 + 6 * hour, 3: t0 + 2 * hour}
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        views = StakingViews(engine)
        got = {}
        for sid in want:
            stake = await views.stake(sid)
            assert stake is not None
            got[sid] = stake.last_claim_time
        assert got == want
    finally:
        await engine.dispose()
    downgrade(db_url, "0007")
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT id, last_claim_time FROM stakes ORDER BY id"))
            assert {int(r[0]): int(r[1]) for r in rows} == want
    finally:
        await engine.dispose()
        migrate(db_url)


async def test_token_event_rows_survive_rekeying_by_position_both_ways(db_url: str) -> None:
    """0009 keys transfers, approvals and supply events by (block_number, log_index): rows
    stored before it read back the same after it, and after a downgrade."""
    migrate(db_url, "0008")
    tx = "0x" + "cd" * 32
    inserts = {
        "transfers": (
            "INSERT INTO transfers (tx_hash, log_index, block_hash, block_number, tx_index,"
            " from_address, to_address, value, timestamp) VALUES"
            " (:tx, 3, :tx, 7, 0, '0xa', '0xb', '1000000000000000000000', 5)"
        ),
        "approvals": (
            "INSERT INTO approvals (tx_hash, log_index, block_number, owner, spender, value,"
            " timestamp) VALUES (:tx, 4, 7, '0xa', '0xb', :max, 5)"
        ),
        "token_supply_events": (
            "INSERT INTO token_supply_events (tx_hash, log_index, kind, account, amount,"
            " block_number, timestamp) VALUES (:tx, 3, 'mint', '0xa', '12', 7, 5)"
        ),
    }
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            for sql in inserts.values():
                await conn.execute(text(sql), {"tx": tx, "max": str(2**256 - 1)})
    finally:
        await engine.dispose()

    async def stored() -> dict[str, list[tuple[object, ...]]]:
        engine = create_engine(db_url)
        try:
            async with engine.connect() as conn:
                return {
                    t: [tuple(r) for r in await conn.execute(text(f"SELECT * FROM {t}"))]  # noqa: S608
                    for t in inserts
                }
        finally:
            await engine.dispose()

    before = await stored()
    assert all(len(rows) == 1 for rows in before.values())
    migrate(db_url, "0009")
    after = await stored()
    assert {t: sorted(map(str, r[0])) for t, r in after.items()} == {
        t: sorted(map(str, r[0])) for t, r in before.items()
    }
    downgrade(db_url, "0008")
    back = await stored()
    assert {t: sorted(map(str, r[0])) for t, r in back.items()} == {
        t: sorted(map(str, r[0])) for t, r in before.items()
    }
    migrate(db_url)


async def test_transactions_survive_rekeying_by_position_both_ways(db_url: str) -> None:
    """0010 keys transactions by (block_number, tx_index), the hash unique: rows stored before
    it read back the same after it and after a downgrade; a second row with the same hash is
    refused."""
    migrate(db_url, "0009")
    engine = create_engine(db_url)
    row = {"h": "0x" + "ab" * 32, "input": bytes(range(7))}
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO blocks (number, hash, parent_hash, timestamp, gas_used,"
                    " gas_limit, miner, size, log_count) VALUES (7, '0x07', '0x06', 5, 0, 0,"
                    " '0x0', 0, 0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO transactions (hash, block_number, block_hash, from_address,"
                    " to_address, value, gas, gas_price, input, status, tx_index) VALUES"
                    " (:h, 7, '0x07', '0xa', NULL, '0', 21000, '1', :input, 1, 3)"
                ),
                row,
            )
    finally:
        await engine.dispose()

    async def stored() -> list[str]:
        engine = create_engine(db_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT * FROM transactions"))
                return [str(sorted(map(str, r))) for r in rows]
        finally:
            await engine.dispose()

    before = await stored()
    assert len(before) == 1
    migrate(db_url, "0010")
    assert await stored() == before
    engine = create_engine(db_url)
    try:
        with pytest.raises(sa_exc.IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO transactions (hash, block_number, block_hash,"
                        " from_address, to_address, value, gas, gas_price, input, status,"
                        " tx_index) VALUES (:h, 7, '0x07', '0xa', NULL, '0', 1, '1', :input,"
                        " 1, 4)"
                    ),
                    row,
                )
    finally:
        await engine.dispose()
    downgrade(db_url, "0009")
    assert await stored() == before
    migrate(db_url)


async def test_transfer_counts_are_filled_by_migration_0011(db_url: str) -> None:
    """0011 keeps transfer counts with the ledger: upgrading an index counts the transfers
    already there (all, and per address sent / received / to itself)."""
    from token_service.infrastructure.sql import TokenViews

    a, b, zero = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "00" * 20
    moves = [(zero, a), (a, b), (a, a), (b, a), (a, zero), (a, b)]
    migrate(db_url, "0010")
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO transfers (tx_hash, log_index, block_hash, block_number,"
                    " tx_index, from_address, to_address, value, timestamp) VALUES"
                    " ('0x', :i, '0x', 1, 0, :frm, :to, 1, 0)"
                ),
                [{"i": i, "frm": frm, "to": to} for i, (frm, to) in enumerate(moves)],
            )
            await conn.execute(
                text(
                    "INSERT INTO token_stats (id, minted, burned, holders, last_block)"
                    " VALUES (1, 1, 1, 2, 1)"
                )
            )
    finally:
        await engine.dispose()
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        views = TokenViews(engine)
        assert (await views.stats()).transfers == len(moves)
        totals = {
            (who, direction): (await views.transfers(who, direction, 0, None, 1, 0, None)).total
            for who in (a, b, zero)
            for direction in ("in", "out", "any")
        }
        assert totals == {
            (a, "in"): 3, (a, "out"): 4, (a, "any"): 6,
            (b, "in"): 2, (b, "out"): 1, (b, "any"): 3,
            (zero, "in"): 1, (zero, "out"): 1, (zero, "any"): 2,
        }  # fmt: skip
    finally:
        await engine.dispose()
    downgrade(db_url, "0010")
    migrate(db_url)  # and up again


async def test_a_read_only_engine_reads_one_snapshot_per_connection(db_url: str) -> None:
    """Two reads of one connection straddling another connection's commit see the same data
    (MariaDB's REPEATABLE READ; on SQLite only with ``read_only``, whose transactions are real
    ones: pysqlite ran each SELECT on its own)."""
    writer = create_engine(db_url)
    reader = create_engine(db_url, read_only=True)
    try:
        async with writer.begin() as conn:
            await conn.execute(text("CREATE TABLE snap (x INTEGER)"))
            await conn.execute(text("INSERT INTO snap VALUES (1)"))
        async with reader.connect() as conn:
            count = text("SELECT COUNT(*) FROM snap")
            assert (await conn.execute(count)).scalar_one() == 1
            async with writer.begin() as other:
                await other.execute(text("INSERT INTO snap VALUES (2)"))
            assert (await conn.execute(count)).scalar_one() == 1  # the same snapshot
        async with reader.connect() as conn:  # a new transaction sees the commit
            assert (await conn.execute(text("SELECT COUNT(*) FROM snap"))).scalar_one() == 2
    finally:
        await reader.dispose()
        await writer.dispose()
