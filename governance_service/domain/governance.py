"""Proposals, votes and voting power, as OpenZeppelin 5's Governor derives them.

NovaGovernor = Governor + GovernorSettings + GovernorCountingSimple + GovernorVotes +
GovernorVotesQuorumFraction + GovernorTimelockControl, clock = block numbers. Its ``state(id)``
at block ``now`` is (Governor.state, then GovernorTimelockControl.state):

    executed                        -> Executed
    canceled                        -> Canceled
    voteStart >= now                -> Pending
    voteEnd   >= now                -> Active
    not (quorum reached and for > against) -> Defeated
    eta == 0                        -> Succeeded
    otherwise                       -> Queued

with quorum(voteStart) = pastTotalSupply(voteStart) * quorumNumerator(voteStart) // 100, and
"quorum reached" = for + abstain >= quorum. ``Expired`` is in the enum but OpenZeppelin 5 never
returns it with a TimelockController. Past values (supply, quorum numerator, a delegate's votes)
are checkpoints: the value at block N is the last one written at or before N.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum

QUORUM_DENOMINATOR = 100


class GovernanceRuleError(ValueError):
    """An event contradicts the indexed state (e.g. a vote on an unknown proposal)."""


class ProposalState(IntEnum):
    """The governor's enum, same order and values as IGovernor.ProposalState."""

    Pending = 0
    Active = 1
    Canceled = 2
    Defeated = 3
    Succeeded = 4
    Queued = 5
    Expired = 6
    Executed = 7


class Support(IntEnum):
    Against = 0
    For = 1
    Abstain = 2


@dataclass(slots=True)
class Proposal:
    id: int
    proposer: str
    targets: list[str]
    values: list[int]
    signatures: list[str]
    calldatas: list[str]
    description: str
    vote_start: int
    vote_end: int
    created_block: int
    tx_hash: str
    for_votes: int = 0
    against_votes: int = 0
    abstain_votes: int = 0
    canceled_block: int = 0
    queued_block: int = 0
    eta: int = 0
    executed_block: int = 0
    # the timelock operation it was queued as ("" until queued): executing or cancelling that
    # operation on the timelock directly executes or cancels the proposal too
    timelock_id: str = ""

    def count(self, support: int, weight: int) -> None:
        if support == Support.For:
            self.for_votes += weight
        elif support == Support.Against:
            self.against_votes += weight
        elif support == Support.Abstain:
            self.abstain_votes += weight
        else:
            raise GovernanceRuleError(f"vote on {self.id} with unknown support {support}")


@dataclass(frozen=True, slots=True)
class Vote:
    proposal_id: int
    voter: str
    support: int
    weight: int
    reason: str
    params: str  # 0x-hex, "0x" for a plain VoteCast
    block_number: int
    log_index: int
    tx_hash: str


def quorum(past_total_supply: int, numerator: int) -> int:
    return past_total_supply * numerator // QUORUM_DENOMINATOR


def proposal_as_of(p: Proposal, block: int, votes: Iterable[tuple[int, int]]) -> Proposal:
    """``p`` as it stood at the end of ``block``: tallied from ``votes`` (support, weight: the
    votes cast at or before it), and queued, executed or canceled only if that happened by
    then."""
    past = replace(
        p,
        for_votes=0,
        against_votes=0,
        abstain_votes=0,
        canceled_block=p.canceled_block if p.canceled_block <= block else 0,
        executed_block=p.executed_block if p.executed_block <= block else 0,
        queued_block=p.queued_block if p.queued_block <= block else 0,
        eta=p.eta if p.queued_block <= block else 0,
        timelock_id=p.timelock_id if p.queued_block <= block else "",
    )
    for support, weight in votes:
        past.count(support, weight)
    return past


def proposal_state(p: Proposal, now: int, quorum_at_snapshot: int) -> ProposalState:
    """The governor's ``state(p.id)`` evaluated at block ``now`` (the indexed head)."""
    if p.executed_block:
        return ProposalState.Executed
    if p.canceled_block:
        return ProposalState.Canceled
    if p.vote_start >= now:
        return ProposalState.Pending
    if p.vote_end >= now:
        return ProposalState.Active
    reached = p.for_votes + p.abstain_votes >= quorum_at_snapshot
    if not (reached and p.for_votes > p.against_votes):
        return ProposalState.Defeated
    if p.eta == 0:
        return ProposalState.Succeeded
    return ProposalState.Queued


@dataclass
class Checkpoints:
    """A history of values keyed by (block, log index), as ERC20Votes/Checkpoints keep it."""

    keys: list[tuple[int, int]] = field(default_factory=list)
    values: list[int] = field(default_factory=list)

    def push(self, block: int, log_index: int, value: int) -> None:
        key = (block, log_index)
        if self.keys and key <= self.keys[-1]:
            raise GovernanceRuleError(f"checkpoint {key} is not after {self.keys[-1]}")
        self.keys.append(key)
        self.values.append(value)

    def at(self, block: int) -> int:
        """The value at the end of ``block`` (0 before the first checkpoint)."""
        i = bisect.bisect_right(self.keys, (block, 2**63))
        return self.values[i - 1] if i else 0

    def latest(self) -> int:
        return self.values[-1] if self.values else 0

    def truncate_above(self, block: int) -> None:
        i = bisect.bisect_right(self.keys, (block, 2**63))
        del self.keys[i:], self.values[i:]
