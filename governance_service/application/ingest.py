"""Apply the governance topic (NovaGovernor, the timelock, and NovaToken's delegation and supply
events) and revert markers to the governance state, batch by batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from common import events
from common.abi import timelock_operation_id
from governance_service.domain.governance import GovernanceRuleError, Proposal, Timelocks, Vote

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
PROPOSAL_EVENTS = {"ProposalCreated", "ProposalQueued", "ProposalExecuted", "ProposalCanceled"}
VOTE_EVENTS = {"VoteCast", "VoteCastWithParams"}
TIMELOCK_EVENTS = {"CallExecuted", "Cancelled"}


class GovernanceRepository(Protocol):
    """The governance aggregates, bound to one transaction."""

    async def proposal(self, pid: int) -> Proposal | None: ...

    async def save_proposal(self, p: Proposal) -> None: ...

    async def proposal_queued_as(self, operation: str) -> Proposal | None:
        """The proposal queued as that timelock operation, if any."""

    async def add_vote(self, v: Vote) -> None:
        """Raises GovernanceRuleError when the voter already voted on the proposal."""

    async def add_delegation(
        self, delegator: str, previous: str, delegatee: str, block: int, log_index: int
    ) -> None: ...

    async def add_votes_checkpoint(
        self, delegate: str, block: int, log_index: int, votes: int
    ) -> None: ...

    async def latest_supply(self) -> int: ...

    async def add_supply_checkpoint(self, block: int, log_index: int, supply: int) -> None: ...

    async def add_quorum_checkpoint(self, block: int, log_index: int, numerator: int) -> None: ...

    async def timelocks(self) -> Timelocks:
        """The governor's timelock changes indexed so far (this batch's included)."""

    async def add_timelock_change(self, block: int, log_index: int, old: str, new: str) -> None: ...

    async def revert_above(self, block: int) -> None:
        """Undo every effect above ``block``: proposals created, transitions, votes (tallies
        recomputed), delegations, all checkpoints and timelock changes."""


def _int(v: str | list[str]) -> int:
    return int(str(v))


async def apply_batch(
    repo: GovernanceRepository, envelopes: Sequence[events.EventEnvelope]
) -> set[str]:
    """Apply events in order. Governance reads are not cached: no keys to invalidate."""
    supply: int | None = None
    for env in envelopes:
        body = env.WhichOneof("body")
        if body == "progress":  # the head is the consumer's mark (GovernanceViews.head)
            continue
        if body == "revert":
            await repo.revert_above(env.revert.to_block)
            supply = None
            continue
        e = env.event
        name = e.event
        arg = events.scalar_arg  # the frequent events read their few args one by one
        if name == "DelegateVotesChanged":  # most of this topic
            await repo.add_votes_checkpoint(
                arg(e, "delegate"), e.block_number, e.log_index, int(arg(e, "newVotes"))
            )
            continue
        if name == "DelegateChanged":
            await repo.add_delegation(
                arg(e, "delegator"),
                arg(e, "fromDelegate"),
                arg(e, "toDelegate"),
                e.block_number,
                e.log_index,
            )
            continue
        if name == "Transfer":  # only mints and burns are routed here: the supply
            if supply is None:
                supply = await repo.latest_supply()
            value = int(arg(e, "value"))
            if arg(e, "from") == ZERO_ADDRESS:
                supply += value
            if arg(e, "to") == ZERO_ADDRESS:
                supply -= value
            await repo.add_supply_checkpoint(e.block_number, e.log_index, supply)
            continue
        a = events.arg_values(e)
        if name == "QuorumNumeratorUpdated":
            await repo.add_quorum_checkpoint(
                e.block_number, e.log_index, _int(a["newQuorumNumerator"])
            )
        elif name == "TimelockChange":
            await repo.add_timelock_change(
                e.block_number, e.log_index, str(a["oldTimelock"]), str(a["newTimelock"])
            )
        elif name in PROPOSAL_EVENTS:
            await _proposal_event(repo, e, a)
        elif name in TIMELOCK_EVENTS:
            await _timelock_event(repo, e, str(a["id"]))
        elif name in VOTE_EVENTS:
            pid = _int(a["proposalId"])
            p = await repo.proposal(pid)
            if p is None:
                raise GovernanceRuleError(f"{e.event} on unknown proposal {pid}")
            vote = Vote(
                pid,
                str(a["voter"]),
                _int(a["support"]),
                _int(a["weight"]),
                str(a["reason"]),
                str(a.get("params", "0x")),
                e.block_number,
                e.log_index,
                e.tx_hash,
            )
            p.count(vote.support, vote.weight)
            await repo.add_vote(vote)
            await repo.save_proposal(p)
        # anything else on this topic (timelock roles, schedules and settings, governor
        # settings) does not change what the service serves
    return set()


async def _proposal_event(
    repo: GovernanceRepository, e: events.ContractEvent, a: dict[str, str | list[str]]
) -> None:
    pid = _int(a["proposalId"])
    if e.event == "ProposalCreated":
        if await repo.proposal(pid) is not None:
            raise GovernanceRuleError(f"proposal {pid} created twice (block {e.block_number})")
        await repo.save_proposal(
            Proposal(
                id=pid,
                proposer=str(a["proposer"]),
                targets=list(a["targets"]),
                values=[int(v) for v in a["values"]],
                signatures=list(a["signatures"]),
                calldatas=list(a["calldatas"]),
                description=str(a["description"]),
                vote_start=_int(a["voteStart"]),
                vote_end=_int(a["voteEnd"]),
                created_block=e.block_number,
                tx_hash=e.tx_hash,
            )
        )
        return
    p = await repo.proposal(pid)
    if p is None:
        raise GovernanceRuleError(f"{e.event} for unknown proposal {pid}")
    if e.event == "ProposalQueued":
        p.queued_block, p.eta = e.block_number, _int(a["etaSeconds"])
        p.timelock_id = timelock_operation_id(
            e.contract, p.targets, p.values, p.calldatas, p.description
        )
        p.queued_on = (await repo.timelocks()).latest()
    elif e.event == "ProposalExecuted":
        p.executed_block, p.by_timelock = e.block_number, False
    else:
        p.canceled_block, p.by_timelock = e.block_number, False
    await repo.save_proposal(p)


async def _timelock_event(repo: GovernanceRepository, e: events.ContractEvent, op: str) -> None:
    """The governor's state() follows the timelock's operation: executed there (by anyone,
    when the executor role is open, as NovaTimelock's is) it is Executed, cancelled there
    Canceled, although the governor emits nothing (while the governor's timelock is that
    one: ``proposal_state``). Through the governor, these come just before its own
    ProposalExecuted / ProposalCanceled, in the same block."""
    p = await repo.proposal_queued_as(op)
    if p is None or p.executed_block:  # another proposer's operation, or already done
        return
    if not (await repo.timelocks()).same(p.queued_on, e.contract):
        return  # the same operation on another timelock than the proposal's: not its
    if e.event == "CallExecuted":
        p.executed_block, p.by_timelock = e.block_number, True
    elif not p.canceled_block:
        p.canceled_block, p.by_timelock = e.block_number, True
    await repo.save_proposal(p)
