"""The governance proposal list on MariaDB and SQLite: a state filter reads only the proposals
that can be in that state, and lists exactly those the governor's rules put there, also once
the governor has moved to another timelock (then a queued proposal's state depends on the one
it was queued on)."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from common.consumer import consumer_marks
from common.db import create_engine, migrate
from governance_service.domain.governance import (
    ZERO_ADDRESS,
    Proposal,
    ProposalState,
    proposal_state,
)
from governance_service.infrastructure.sql import (
    GovernanceViews,
    _proposal_row,
    proposals_t,
    supply_cp_t,
    timelock_changes_t,
)

HEAD = 100
# total supply 100 and a quorum numerator of 4 (percent): the quorum is 4 votes
SUPPLY, NUMERATOR = 100, 4
C, D = "0x" + "0c" * 20, "0x" + "0d" * 20  # the governor's first timelock, and its second


@pytest.fixture(params=["mysql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def _proposals(moved: bool) -> list[Proposal]:
    """Every side of every test the state makes: vote start and end at, below and above the
    head, executed, canceled, queued or not, quorum reached or not, for above against or not,
    queued on either timelock (once the governor moved), done through the governor or on the
    timelock only."""
    out = []
    combos = itertools.product(
        (C, D) if moved else (C,),  # queued on
        (False, True),  # executed or canceled on the timelock only
        (HEAD - 2, HEAD - 1, HEAD, HEAD + 1),  # vote start
        (0, 1, 2),  # vote end - vote start
        ((0, 0), (HEAD - 1, 0), (0, HEAD - 1), (HEAD - 2, HEAD - 1)),  # executed, canceled
        (0, 1_700_000_000),  # eta
        ((5, 1, 0), (2, 1, 0), (2, 1, 2), (1, 5, 0), (3, 3, 1)),  # for, against, abstain
    )
    for n, (on, by_timelock, start, length, (executed, canceled), eta, votes) in enumerate(combos):
        yes, no, abstain = votes
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
                queued_on=on if eta else "",
                by_timelock=by_timelock and bool(eta and (executed or canceled)),
            )
        )
    return out


@pytest.mark.parametrize("moved", [False, True], ids=["one timelock", "moved"])
async def test_a_state_filter_lists_what_the_rules_put_in_that_state(
    db_url: str, moved: bool
) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    proposals = _proposals(moved)
    changes = [(1, 0, ZERO_ADDRESS, C)] + ([(HEAD - 3, 5, C, D)] if moved else [])
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(proposals_t), [_proposal_row(p) for p in proposals])
            await conn.execute(
                sa.insert(timelock_changes_t),
                [
                    {"block_number": b, "log_index": i, "old_timelock": o, "new_timelock": n}
                    for b, i, o, n in changes
                ],
            )
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
        assert total == len(every) == len(proposals)
        # a proposal queued on C that the rules without timelocks call Queued, or Executed or
        # Canceled on the timelock only, reads Canceled once the governor moved to D
        hinges = [
            v
            for v in every
            if v.proposal.queued_on == C
            if (s := proposal_state(v.proposal, HEAD, 4)) == ProposalState.Queued
            or (v.proposal.by_timelock and s in (ProposalState.Executed, ProposalState.Canceled))
        ]
        assert len({proposal_state(v.proposal, HEAD, 4) for v in hinges}) == 3
        for v in hinges:
            assert v.state == (
                ProposalState.Canceled if moved else proposal_state(v.proposal, HEAD, 4)
            )
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
