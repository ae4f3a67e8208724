"""Stakes and rewards, as NovaStaking defines them (block timestamps only, integers only):

    rewards(stake, t) = amount * reward_rate * whole_hours(t - last_claim_time) / 100

A claim (``RewardsClaimed(user, amount)``) pays every ACTIVE stake of the user and moves each
one's last_claim_time forward by the whole hours it paid; ``unstake`` claims first. Rewards owed
are computed on demand from the stake and a timestamp, never accumulated on read. Stakes below the
contract's minimum revert on chain, so the indexer never sees them and never rejects an event.

A stake's last_claim_time only ever moves to its start plus the whole hours since its start, so
it follows from the time of its user's latest claim alone (:func:`claimed_through`, proven
against the contract's rule :func:`claim` in the tests): the index keeps that one time per user,
and a claim costs the same whatever number of stakes it moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

HOUR = 3600
RATE_DENOMINATOR = 100
ACTIVE = "active"
UNSTAKED = "unstaked"


class StakingRuleError(ValueError):
    """An event contradicts the indexed state (e.g. unstaking an unknown stake)."""


@dataclass(slots=True)
class Stake:
    id: int
    user: str
    amount: int
    start_time: int
    last_claim_time: int
    block_number: int
    tx_hash: str
    status: str = ACTIVE
    end_time: int = 0
    unstaked_block: int = 0

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True, slots=True)
class RewardClaim:
    id: str  # "<tx_hash>:<log_index>"
    user: str
    amount: int
    block_number: int
    timestamp: int


def rewards_owed(stake: Stake, reward_rate: int, at: int) -> int:
    """What the contract's pendingRewards(id) returns at block timestamp ``at``."""
    if not stake.active or at <= stake.last_claim_time:
        return 0
    hours = (at - stake.last_claim_time) // HOUR
    return stake.amount * reward_rate * hours // RATE_DENOMINATOR


def claimed_through(start_time: int, end_time: int, active: bool, user_last_claim: int) -> int:
    """A stake's last_claim_time, given the block timestamp of its user's latest claim (0 when
    none): every claim while the stake is active moves it to start + the whole hours since the
    start, whatever it was before; unstaking claims first, so an ended stake's stays at its end.
    A claim before the stake (or in its block) moves nothing."""
    at = user_last_claim if active else end_time
    if at <= start_time:
        return start_time
    return start_time + (at - start_time) // HOUR * HOUR


def claim(stakes: Iterable[Stake], at: int) -> dict[int, int]:
    """The contract's rule: apply a claim at ``at`` to the user's active stakes; returns
    {stake id: previous last_claim_time} for every stake it moved."""
    moved: dict[int, int] = {}
    for stake in stakes:
        if not stake.active:
            continue
        hours = (at - stake.last_claim_time) // HOUR
        if hours > 0:
            moved[stake.id] = stake.last_claim_time
            stake.last_claim_time += hours * HOUR
    return moved


def unstake(stake: Stake, at: int, block: int) -> None:
    if not stake.active:
        raise StakingRuleError(f"stake {stake.id} is already unstaked")
    stake.status = UNSTAKED
    stake.end_time = at
    stake.unstaked_block = block
