"""The governance repository writes votes and proposals behind (per batch): what a batch saved
is what it reads back, what it flushed is what is stored, and a second vote is refused
whether the first is in the same batch or already stored."""

from __future__ import annotations

import pytest

from common.db import create_engine, migrate
from governance_service.domain.governance import GovernanceRuleError, Proposal, Vote
from governance_service.infrastructure.sql import SqlGovernanceRepository

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
