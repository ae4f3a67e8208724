"""The governance repository writes votes and proposals behind (per batch): what a batch saved
is what it reads back, what it flushed is what is stored, and a second vote is refused
whether the first is in the same batch or already stored."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from common import validation
from common.abi import checksum
from common.db import create_engine, migrate
from governance_service.domain.governance import GovernanceRuleError, Proposal, Vote
from governance_service.infrastructure.sql import (
    GovernanceViews,
    SqlGovernanceRepository,
    changes_t,
    delegations_t,
    quorum_cp_t,
    supply_cp_t,
    timelock_changes_t,
    vote_cp_t,
)

VOTER = "0x" + "ab" * 20
PID = 2**255 + 7  # uint256 ids


@pytest.fixture(params=["mysql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def _proposal() -> Proposal:
    return Proposal(
        PID,
        VOTER,
        ["0x" + "01" * 20],
        [10**30],
        [""],
        ["0x"],
        "it's a test; 100%",
        5,
        9,
        3,
        "0x" + "cd" * 32,
    )


def _vote(voter: str, weight: int, block: int) -> Vote:
    return Vote(PID, voter, 1, weight, "why not?", "0x", block, 0, "0x" + "ef" * 32)


async def test_votes_and_proposals_written_behind(db_url: str) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:  # batch 1: created, voted on, read back unwritten
            repo = SqlGovernanceRepository(conn)
            await repo.save_proposal(_proposal())
            p = await repo.proposal(PID)
            assert p is not None and p.description == "it's a test; 100%"
            p.count(1, 10**25)
            await repo.add_vote(_vote(VOTER, 10**25, 4))
            await repo.save_proposal(p)
            with pytest.raises(GovernanceRuleError, match="voted twice"):  # same batch
                await repo.add_vote(_vote(VOTER.upper().replace("0X", "0x"), 1, 4))
            await repo.flush()
        async with engine.begin() as conn:  # batch 2 reads what batch 1 stored
            repo = SqlGovernanceRepository(conn)
            p = await repo.proposal(PID)
            assert p is not None and p.for_votes == 10**25 and p.values == [10**30]
            other = "0x" + "12" * 20
            p.count(1, 5)
            await repo.add_vote(_vote(other, 5, 6))
            await repo.save_proposal(p)
            await repo.flush()
        async with engine.connect() as conn:  # against the stored votes, at the flush
            repo = SqlGovernanceRepository(conn)
            await repo.add_vote(_vote(VOTER, 1, 8))
            with pytest.raises(GovernanceRuleError, match="voted twice"):
                await repo.flush()
            await conn.rollback()
        async with engine.begin() as conn:  # a revert recounts from the stored votes
            repo = SqlGovernanceRepository(conn)
            await repo.revert_above(5)
            await repo.flush()
        async with engine.connect() as conn:
            p = await SqlGovernanceRepository(conn).proposal(PID)
            assert p is not None and p.for_votes == 10**25
    finally:
        await engine.dispose()


async def test_delegations_and_checkpoints_written_behind(db_url: str) -> None:
    """Delegation changes (the delegator's latest wins), supply and quorum checkpoints are
    buffered per batch: the batch's own supply reads see them, the flush stores them, and a
    revert (which flushes first) restores each delegator's latest remaining delegation."""
    a, b = "0x" + "a1" * 20, "0x" + "b2" * 20
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            repo = SqlGovernanceRepository(conn)
            assert await repo.latest_supply() == 0
            await repo.add_supply_checkpoint(3, 0, 10**30)
            assert await repo.latest_supply() == 10**30  # unwritten, read back
            await repo.add_delegation(VOTER, "0x" + "00" * 20, a, 3, 1)
            await repo.add_quorum_checkpoint(3, 2, 4)
            await repo.flush()
        async with engine.begin() as conn:
            repo = SqlGovernanceRepository(conn)
            assert await repo.latest_supply() == 10**30  # stored
            await repo.add_delegation(VOTER, a, b, 7, 0)
            await repo.add_delegation(VOTER, b, a, 7, 5)  # same batch: the later one wins
            await repo.add_supply_checkpoint(7, 6, 10**30 - 1)
            await repo.flush()
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(delegations_t))).all()
            assert [(r.delegator, r.delegatee, r.block_number) for r in rows] == [(VOTER, a, 7)]
            assert (
                await conn.execute(sa.select(sa.func.count()).select_from(changes_t))
            ).scalar() == 3
            supply = (await conn.execute(sa.select(supply_cp_t.c.total_supply))).scalars().all()
            assert sorted(int(s) for s in supply) == [10**30 - 1, 10**30]
            assert (await conn.execute(sa.select(quorum_cp_t.c.numerator))).scalars().all() == [4]
        async with engine.begin() as conn:  # pending changes land before the revert runs
            repo = SqlGovernanceRepository(conn)
            await repo.add_delegation(VOTER, a, b, 9, 0)
            await repo.revert_above(6)
            await repo.flush()
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(delegations_t))).all()
            assert [(r.delegator, r.delegatee, r.block_number) for r in rows] == [(VOTER, a, 3)]
            assert await SqlGovernanceRepository(conn).latest_supply() == 10**30
    finally:
        await engine.dispose()


async def test_timelock_changes_written_behind_and_reverted(db_url: str) -> None:
    """The governor's timelock changes are read back in their batch, stored by the flush, and
    dropped by a revert with what the proposals took from them (the timelock queued on, an
    outcome on the timelock only)."""
    zero, c, d = "0x" + "00" * 20, "0x" + "0c" * 20, "0x" + "0d" * 20
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            repo = SqlGovernanceRepository(conn)
            assert (await repo.timelocks()).latest() == ""
            await repo.add_timelock_change(1, 0, zero, c)
            assert (await repo.timelocks()).latest() == c  # unwritten, read back
            p = _proposal()
            p.queued_block, p.eta, p.queued_on = 10, 1_000, c
            p.executed_block, p.by_timelock = 12, True
            await repo.save_proposal(p)
            await repo.flush()
        async with engine.begin() as conn:
            repo = SqlGovernanceRepository(conn)
            t = await repo.timelocks()
            assert (t.latest(), t.moved) == (c, False)  # stored
            await repo.add_timelock_change(20, 3, c, d)
            assert (await repo.timelocks()).moved
            await repo.flush()
        async with engine.connect() as conn:
            repo = SqlGovernanceRepository(conn)
            assert [(await repo.timelocks()).at(b) for b in (0, 19, 20)] == [zero, c, d]
            stored = await repo.proposal(PID)
            assert stored is not None and (stored.queued_on, stored.by_timelock) == (c, True)
            assert [r.new_timelock for r in await conn.execute(sa.select(timelock_changes_t))] == [
                c,
                d,
            ]
        async with engine.begin() as conn:
            repo = SqlGovernanceRepository(conn)
            await repo.revert_above(11)
            await repo.flush()
        async with engine.connect() as conn:
            repo = SqlGovernanceRepository(conn)
            assert (await repo.timelocks()).keys == [(1, 0)]
            reverted = await repo.proposal(PID)
            assert reverted is not None
            assert (reverted.queued_on, reverted.executed_block, reverted.by_timelock) == (
                c,
                0,
                False,
            )
        async with engine.begin() as conn:
            await SqlGovernanceRepository(conn).revert_above(9)
        async with engine.connect() as conn:
            unqueued = await SqlGovernanceRepository(conn).proposal(PID)
            assert unqueued is not None and (unqueued.queued_on, unqueued.eta) == ("", 0)
    finally:
        await engine.dispose()


Checkpoint = tuple[str, int, int, int]  # delegate, block, log index, votes


def _ranked(checkpoints: list[Checkpoint], mysql: bool) -> list[tuple[str, int]]:
    """The model: each delegate's latest votes, those with votes, by votes then address, both
    descending (MariaDB compares addresses without case, SQLite by their bytes)."""
    latest: dict[str, tuple[int, int, int]] = {}
    for d, block, index, votes in checkpoints:
        if (block, index) > latest.get(d, (-1, -1, 0))[:2]:
            latest[d] = (block, index, votes)
    ranked = [(d, v) for d, (_, _, v) in latest.items() if v]
    return sorted(ranked, key=lambda x: (x[1], x[0].lower() if mysql else x[0]), reverse=True)


async def _listed(views: GovernanceViews, size: int) -> list[tuple[str, int]]:
    by_cursor: list[tuple[str, int]] = []
    cursor = None
    while True:
        page, _ = await views.ranked_delegates(size, 0, cursor)
        by_cursor += page.items
        if not page.next_cursor:
            break
        assert len(page.items) == size
        cursor = page.next_cursor
    by_offset: list[tuple[str, int]] = []
    while len(by_offset) < page.total:
        more, _ = await views.ranked_delegates(size, len(by_offset))
        assert more.items and more.total == page.total
        by_offset += more.items
    assert by_offset == by_cursor and page.total == len(by_cursor)
    return by_cursor


async def test_delegates_ranked_by_votes_through_batches_and_reverts(db_url: str) -> None:
    """The list of delegates by voting power (migration 0015's table, kept by the batches'
    flushes) equals each delegate's latest checkpoint after every batch of a random history
    with reverts (some in the batch that wrote the blocks they undo), paged by cursor and by
    offset, with ties of votes broken by address and delegates whose votes fell to 0 left
    out; and the migration fills it from checkpoints already stored."""
    rng = random.Random(15)
    delegates = [checksum("0x" + f"{rng.getrandbits(160):040x}") for _ in range(9)]
    amounts = [0, 1, 7, 7, 10**30, 10**30, 10**64 + 3]  # ties, zero and near the 10^65 cap
    mysql = db_url.startswith("mysql")
    migrate(db_url, "0014")
    engine = create_engine(db_url)
    stored: list[Checkpoint] = []
    try:
        async with engine.begin() as conn:  # history from before the table existed
            for block in range(1, 6):
                for index in range(3):  # a delegate's last two often share a block
                    cp = (rng.choice(delegates[:3]), block, index, rng.choice(amounts))
                    stored.append(cp)
                    await conn.execute(
                        sa.insert(vote_cp_t).values(
                            delegate=cp[0], block_number=block, log_index=index, votes=cp[3]
                        )
                    )
        migrate(db_url)
        views = GovernanceViews(engine, "governance", "nova.token", 4)
        assert await _listed(views, 2) == _ranked(stored, mysql)
        block, index = 5, 10
        for _ in range(25):
            async with engine.begin() as conn:
                repo = SqlGovernanceRepository(conn)
                for _ in range(rng.randint(1, 3)):
                    block += rng.randint(0, 2)
                    for _ in range(rng.randint(1, 4)):
                        index += 1  # unique in any block
                        cp = (rng.choice(delegates), block, index, rng.choice(amounts))
                        stored.append(cp)
                        await repo.add_votes_checkpoint(*cp)
                if rng.random() < 0.35:
                    to = rng.randint(max(0, block - 6), block)
                    await repo.revert_above(to)
                    stored = [cp for cp in stored if cp[1] <= to]
                    block = to
                await repo.flush()
            want = _ranked(stored, mysql)
            assert await _listed(views, rng.choice([1, 3, 1000])) == want
        assert len(want) >= 3 and len({v for _, v in want}) < len(want)  # ties were ranked
        with pytest.raises(validation.BadCursor):
            await views.ranked_delegates(5, 0, validation.make_cursor(7, "0x12"))
    finally:
        await engine.dispose()
