"""The staking consumer's batch on MariaDB: the stakes a batch unstakes are read in one
statement, and what the batch itself did (stake, unstake, revert) is still what it reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from common import events
from common.db import create_engine, migrate
from common.validation import OutOfRange
from staking_service.application.ingest import apply_batch
from staking_service.domain.staking import StakingRuleError
from staking_service.infrastructure.sql import SqlStakingRepository, StakingViews
from tests.envelopes import event, progress, revert

STAKING = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
USERS = [f"0x{i:040x}" for i in range(1, 4)]


def _event(name: str, block: int, log_index: int, **args: object) -> events.EventEnvelope:
    return event(STAKING, name, block, log_index, **args)


def _staked(stake_id: int, block: int) -> events.EventEnvelope:
    user = USERS[stake_id % 3]
    return _event("Staked", block, stake_id, user=user, stakeId=stake_id, amount=10**18 + stake_id)


def _unstaked(stake_id: int, block: int) -> events.EventEnvelope:
    user = USERS[stake_id % 3]
    return _event(
        "Unstaked", block, 100 + stake_id, user=user, stakeId=stake_id, amount=10**18 + stake_id
    )


@pytest.fixture
async def engine(mysql_url: str) -> AsyncIterator[AsyncEngine]:
    migrate(mysql_url)
    engine = create_engine(mysql_url)
    yield engine
    await engine.dispose()


async def _apply(engine: AsyncEngine, envelopes: list[events.EventEnvelope]) -> list[str]:
    """Apply in one transaction; the statements that read stakes by id."""
    reads: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("SELECT") and "stakes.id IN" in statement:
            reads.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.begin() as conn:
            await apply_batch(SqlStakingRepository(conn), envelopes)
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    return reads


async def test_a_batch_reads_the_stakes_it_unstakes_in_one_statement(engine: AsyncEngine) -> None:
    await _apply(engine, [_staked(i, 10) for i in range(1, 21)])
    reads = await _apply(engine, [_unstaked(i, 11) for i in range(1, 21, 2)])
    assert len(reads) == 1, reads
    views = StakingViews(engine)
    for i in range(1, 21):
        stake = await views.stake(i)
        assert stake is not None
        assert (stake.unstaked_block == 11) == (i % 2 == 1), i
    assert (await views.stats()).active_stakes == 10


async def test_the_batch_reads_its_own_stakes_and_unstakes(engine: AsyncEngine) -> None:
    """Staked then Unstaked in one batch; unstaked twice in one batch is refused."""
    await _apply(engine, [_staked(1, 10), _unstaked(1, 11), _staked(2, 11)])
    views = StakingViews(engine)
    assert (await views.stats()).active_stakes == 1
    with pytest.raises(StakingRuleError):
        await _apply(engine, [_unstaked(2, 12), _unstaked(2, 13)])
    assert (await views.stats()).active_stakes == 1  # the failed batch left nothing


async def test_a_revert_inside_the_batch_is_seen_by_later_unstakes(engine: AsyncEngine) -> None:
    """A stake read before a revert marker that undoes its unstake is active again after it:
    the batch reads it anew, so it can be unstaked again on the new fork."""
    await _apply(engine, [_staked(1, 10), _staked(2, 10)])
    await _apply(engine, [_unstaked(1, 12), _unstaked(2, 20)])
    reads = await _apply(engine, [_staked(3, 21), revert(15), _unstaked(2, 16)])
    assert len(reads) == 2  # once for the batch, again after the revert
    views = StakingViews(engine)
    s1, s2 = await views.stake(1), await views.stake(2)
    assert s1 is not None and s1.unstaked_block == 12
    assert s2 is not None and s2.unstaked_block == 16


async def test_progress_moves_the_head_and_its_time_a_revert_lowers_the_head(
    engine: AsyncEngine,
) -> None:
    """A batch with only the sync's progress marker (blocks without a staking event) moves
    the index's head and the time rewards owed are served at; a revert lowers the head."""
    await _apply(engine, [_staked(1, 10), progress(12)])
    views = StakingViews(engine)
    stats = await views.stats()
    assert (stats.last_block, stats.last_timestamp) == (12, 1_012)
    await _apply(engine, [progress(40)])
    stats = await views.stats()
    assert (stats.last_block, stats.last_timestamp, stats.active_stakes) == (40, 1_040, 1)
    await _apply(engine, [revert(20), progress(25)])  # a new fork's first unit
    stats = await views.stats()
    assert (stats.last_block, stats.last_timestamp) == (25, 1_025)


@pytest.fixture(params=["mysql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


async def test_a_stake_id_beyond_the_column_is_not_found(db_url: str) -> None:
    """Stake ids are uint256 on the wire; one above the signed BIGINT column is simply not
    indexed (on SQLite binding it raised OverflowError: a 502 for GET /staking/stakes/2^63)."""
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        await _apply(engine, [_staked(1, 10)])
        views = StakingViews(engine)
        stake = await views.stake(1)
        assert stake is not None and stake.amount == 10**18 + 1
        for missing in (2, 2**63 - 1, 2**63, 2**256 - 1):
            assert await views.stake(missing) is None, missing
    finally:
        await engine.dispose()


async def test_the_totals_at_a_block_are_the_stakes_active_at_its_end(db_url: str) -> None:
    """GetTotalStaked at_block: the stakes made at or below the block and not unstaked by
    its end, at every block of a history with stakes unstaked in their own block, later, or
    never; above the indexed head it refuses."""
    migrate(db_url)
    engine = create_engine(db_url)
    views = StakingViews(engine)
    made = {i: 2 + i % 7 for i in range(1, 31)}  # stake id -> its block
    ended = {i: made[i] + (i % 4) for i in made if i % 3}  # some in their own block
    try:
        envelopes = [_staked(i, b) for i, b in made.items()]
        envelopes += [_unstaked(i, b) for i, b in ended.items()]
        claims = {(USERS[n % 3], 3 + n % 9, 200 + n): 10**15 * (n + 1) for n in range(12)}
        envelopes += [
            _event("RewardsClaimed", b, li, user=user, amount=amount)
            for (user, b, li), amount in claims.items()
        ]
        envelopes.sort(key=lambda e: (e.event.block_number, e.event.log_index))
        for i in range(0, len(envelopes), 7):
            await _apply(engine, envelopes[i : i + 7])
        top = max(ended.values()) + 1
        await _apply(engine, [progress(top)])
        for block in range(0, top + 1):
            active = [i for i, b in made.items() if b <= block and ended.get(i, top + 1) > block]
            want = (sum(10**18 + i for i in active), len(active))
            assert await views.totals_at(block) == want, block
            for user in USERS:
                mine = [i for i in active if USERS[i % 3] == user]
                paid = sum(v for (u, b, _), v in claims.items() if u == user and b <= block)
                want_user = (sum(10**18 + i for i in mine), paid, len(mine))
                assert await views.user_totals_at(user, block) == want_user, (block, user)
        stats = await views.stats()
        assert await views.totals_at(top) == (stats.total_staked, stats.active_stakes)
        for user in USERS:
            assert await views.user_totals_at(user, top) == await views.user_totals(user)
        assert await views.user_totals_at("0x" + "42" * 20, top) == (0, 0, 0)
        with pytest.raises(OutOfRange, match=f"above the indexed head {top}"):
            await views.totals_at(top + 1)
        with pytest.raises(OutOfRange):
            await views.user_totals_at(USERS[0], top + 1)
    finally:
        await engine.dispose()
