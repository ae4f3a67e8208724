"""The governance proposal list on MariaDB and SQLite: a state filter reads only the proposals
that can be in that state, and lists exactly those the governor's rules put there."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from common.consumer import consumer_marks
from common.db import create_engine, migrate
from governance_service.domain.governance import Proposal, ProposalState
from governance_service.infrastructure.sql import (
    GovernanceViews,
    _proposal_row,
    proposals_t,
    supply_cp_t,
)

HEAD = 100
# total supply 100 and a quorum numerator of 4 (percent): the quorum is 4 votes
SUPPLY, NUMERATOR = 100, 4


@pytest.fixture(params=["mysql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def _proposals() -> list[Proposal]:
    """Every side of every test the state makes: vote start and end at, below and above the
    head, executed, canceled, queued or not, quorum reached or not, for above against or not."""
    out = []
    combos = itertools.product(
        (HEAD - 2, HEAD - 1, HEAD, HEAD + 1),  # vote start
        (0, 1, 2),  # vote end - vote start
        ((0, 0), (HEAD - 1, 0), (0, HEAD - 1), (HEAD - 2, HEAD - 1)),  # executed, canceled
        (0, 1_700_000_000),  # eta
        ((5, 1, 0), (2, 1, 0), (2, 1, 2), (1, 5, 0), (3, 3, 1)),  # for, against, abstain
    )
    for n, (start, length, (executed, canceled), eta, (yes, no, abstain)) in enumerate(combos):
        out.append(
            Proposal(
                id=10**70 + n,  # uint256 ids
                proposer="0x" + "ab" * 20,
                targets=[],
                values=[],
                signatures=[],
                calldatas=[],
                description=f"NIP-{n}",
                vote_start=start,
                vote_end=start + length,
                created_block=start - 1 - n % 3,  # ties in the newest-first order
                tx_hash="0x" + "cd" * 32,
                for_votes=yes,
                against_votes=no,
                abstain_votes=abstain,
                canceled_block=canceled,
                queued_block=HEAD - 1 if eta else 0,
                eta=eta,
                executed_block=executed,
            )
        )
    return out


async def test_a_state_filter_lists_what_the_rules_put_in_that_state(db_url: str) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(proposals_t), [_proposal_row(p) for p in _proposals()])
            await conn.execute(
                sa.insert(supply_cp_t),
                [{"block_number": 0, "log_index": 0, "total_supply": SUPPLY}],
            )
            await conn.execute(
                sa.insert(consumer_marks),
                [{"consumer_group": "g", "topic": "t", "block_number": HEAD, "log_index": 0}],
            )
        views = GovernanceViews(engine, "g", "t", NUMERATOR)
        every, total = await views.proposals(None, 10_000, 0)
        assert total == len(every) == len(_proposals())
        seen = set()
        for state in ProposalState:
            want = [v.proposal.id for v in every if v.state == state]
            listed, count = await views.proposals(state, 10_000, 0)
            assert [v.proposal.id for v in listed] == want and count == len(want), state.name
            assert all(v.state == state and v.quorum == 4 for v in listed)
            page, count = await views.proposals(state, 3, 1)
            assert [v.proposal.id for v in page] == want[1:4] and count == len(want)
            seen |= {state.name} if want else set()
        # the cases above reach every state the governor gives here (it never says Expired)
        assert seen == {s.name for s in ProposalState} - {"Expired"}, seen
    finally:
        await engine.dispose()
