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
    otherwise, the governor's timelock (now) has the proposal's operation:
        pending                     -> Queued
        done                        -> Executed
        neither                     -> Canceled

with quorum(voteStart) = pastTotalSupply(voteStart) * quorumNumerator(voteStart) // 100, and
"quorum reached" = for + abstain >= quorum. ``Expired`` is in the enum but OpenZeppelin 5 never
returns it with a TimelockController. The operation is asked of the governor's timelock at the
time: after ``updateTimelock`` (event ``TimelockChange``) a proposal queued on the former one is
Canceled, whatever that one did with it, until the governor moves back. Past values (supply,
quorum numerator, a delegate's votes) are checkpoints: the value at block N is the last one
written at or before N.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum

QUORUM_DENOMINATOR = 100
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


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
    # the governor's timelock when it was queued ("": the first one, its change not indexed)
    queued_on: str = ""
    # executed or canceled on that timelock only (no governor event): it holds while the
    # governor's timelock is that one
    by_timelock: bool = False

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
    executed = p.executed_block if p.executed_block <= block else 0
    canceled = p.canceled_block if p.canceled_block <= block else 0
    queued = p.queued_block <= block
    past = replace(
        p,
        for_votes=0,
        against_votes=0,
        abstain_votes=0,
        canceled_block=canceled,
        executed_block=executed,
        queued_block=p.queued_block if queued else 0,
        eta=p.eta if queued else 0,
        timelock_id=p.timelock_id if queued else "",
        queued_on=p.queued_on if queued else "",
        by_timelock=p.by_timelock and bool(executed or canceled),
    )
    for support, weight in votes:
        past.count(support, weight)
    return past


@dataclass
class Timelocks:
    """The governor's timelock by block: its ``TimelockChange`` events (old, new) in chain
    order. The constructor emits the first one, from the zero address."""

    keys: list[tuple[int, int]] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)

    def push(self, block: int, log_index: int, old: str, new: str) -> None:
        key = (block, log_index)
        if self.keys and key <= self.keys[-1]:
            raise GovernanceRuleError(f"timelock change {key} is not after {self.keys[-1]}")
        self.keys.append(key)
        self.changes.append((old.lower(), new.lower()))

    @property
    def initial(self) -> str:
        """The timelock before the first change indexed ("" when none is)."""
        return self.changes[0][0] if self.changes else ""

    def at(self, block: int) -> str:
        """The governor's timelock at the end of ``block``."""
        i = bisect.bisect_right(self.keys, (block, 2**63))
        return self.changes[i - 1][1] if i else self.initial

    def latest(self) -> str:
        return self.changes[-1][1] if self.changes else self.initial

    def resolve(self, timelock: str) -> str:
        """A proposal's ``queued_on``: "" is the first timelock ("" too when unknown)."""
        return timelock or self.initial

    def same(self, a: str, b: str) -> bool:
        """Whether two timelocks are one; "" is the first (a proposal queued before any
        change was indexed), and matches any while no change is (the only one known)."""
        a, b = self.resolve(a).lower(), self.resolve(b).lower()
        return a == b or not a or not b

    @property
    def moved(self) -> bool:
        """Whether the governor had more than one timelock: only then does a proposal's
        state depend on the one it was queued on."""
        used = {new for _, new in self.changes} | {self.initial}
        return len(used - {"", ZERO_ADDRESS}) > 1

    def truncate_above(self, block: int) -> None:
        i = bisect.bisect_right(self.keys, (block, 2**63))
        del self.keys[i:], self.changes[i:]


def proposal_state(
    p: Proposal, now: int, quorum_at_snapshot: int, timelocks: Timelocks | None = None
) -> ProposalState:
    """The governor's ``state(p.id)`` evaluated at block ``now`` (the indexed head), with the
    governor's timelock history (none: it never changed)."""
    on_its_timelock = timelocks is None or timelocks.same(p.queued_on, timelocks.at(now))
    if p.executed_block or p.canceled_block:
        if p.by_timelock and not on_its_timelock:  # the governor asks another timelock now
            return ProposalState.Canceled
        return ProposalState.Executed if p.executed_block else ProposalState.Canceled
    if p.vote_start >= now:
        return ProposalState.Pending
    if p.vote_end >= now:
        return ProposalState.Active
    reached = p.for_votes + p.abstain_votes >= quorum_at_snapshot
    if not (reached and p.for_votes > p.against_votes):
        return ProposalState.Defeated
    if p.eta == 0:
        return ProposalState.Succeeded
    return ProposalState.Queued if on_its_timelock else ProposalState.Canceled


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
