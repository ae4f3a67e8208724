"""The governance repository writes votes and proposals behind (per batch): what a batch saved
is what it reads back, what it flushed is what is stored, and a second vote is refused
whether the first is in the same batch or already stored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from common.db import create_engine, migrate
from governance_service.domain.governance import GovernanceRuleError, Proposal, Vote
from governance_service.infrastructure.sql import (
    SqlGovernanceRepository,
    changes_t,
    delegations_t,
    quorum_cp_t,
    supply_cp_t,
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
