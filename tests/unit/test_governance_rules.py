"""Governance domain rules: the governor's state machine, table-driven, and checkpoint lookups;
the ingest use case over an in-memory repository (revert markers undo exactly)."""

from __future__ import annotations

import copy

import pytest

from common import events
from common.abi import timelock_operation_id
from governance_service.application.ingest import ZERO_ADDRESS, apply_batch
from governance_service.domain.governance import (
    Checkpoints,
    GovernanceRuleError,
    Proposal,
    ProposalState,
    Timelocks,
    Vote,
    proposal_as_of,
    proposal_state,
    quorum,
)
from tests.envelopes import event, revert

S = ProposalState
A, B, C, D = (f"0x{i:040x}" for i in (0xA, 0xB, 0xC, 0xD))


def _p(**kw: object) -> Proposal:
    p = Proposal(
        1,
        A,
        [B],
        [0],
        [""],
        ["0x"],
        "d",
        vote_start=10,
        vote_end=20,
        created_block=9,
        tx_hash="0x" + "1" * 64,
    )
    for k, v in kw.items():
        setattr(p, k, v)
    return p


@pytest.mark.parametrize(
    ("fields", "now", "quorum_", "expected"),
    [
        ({}, 9, 0, S.Pending),
        ({}, 10, 0, S.Pending),  # voteStart >= now: still pending AT the snapshot block
        ({}, 11, 0, S.Active),
        ({}, 20, 0, S.Active),  # voteEnd >= now: the deadline block still votes
        ({"for_votes": 5}, 21, 5, S.Succeeded),  # quorum met exactly
        ({"for_votes": 4}, 21, 5, S.Defeated),  # quorum missed
        ({"for_votes": 3, "abstain_votes": 2}, 21, 5, S.Succeeded),  # abstain counts for quorum
        ({"for_votes": 5, "against_votes": 5}, 21, 1, S.Defeated),  # a tie is defeated
        ({"for_votes": 6, "against_votes": 5}, 21, 1, S.Succeeded),
        ({"against_votes": 9}, 21, 0, S.Defeated),  # zero quorum, no for votes
        ({"for_votes": 6, "eta": 1000, "queued_block": 22}, 23, 1, S.Queued),
        ({"for_votes": 6, "eta": 1000, "executed_block": 30}, 31, 1, S.Executed),
        ({"canceled_block": 10}, 11, 0, S.Canceled),
        ({"canceled_block": 9}, 5, 0, S.Canceled),
        ({"for_votes": 9, "canceled_block": 15}, 50, 0, S.Canceled),
        ({"executed_block": 30, "canceled_block": 15}, 50, 0, S.Executed),  # executed wins
    ],
)
def test_state_machine(fields: dict[str, int], now: int, quorum_: int, expected: S) -> None:
    assert proposal_state(_p(**fields), now, quorum_) == expected


def test_a_queued_proposal_is_asked_of_the_governors_timelock_at_the_time() -> None:
    """GovernorTimelockControl.state() asks its current timelock: after updateTimelock a
    proposal queued on the former one is Canceled, also one executed or cancelled there
    directly, until the governor moves back; one done through the governor stays done."""
    t = Timelocks()
    t.push(1, 0, ZERO_ADDRESS, C)  # the constructor's
    t.push(30, 2, C, D)
    t.push(40, 0, D, C)
    assert [t.at(b) for b in (0, 1, 29, 30, 39, 40)] == [ZERO_ADDRESS, C, C, D, D, C]
    assert t.moved and not Timelocks([(1, 0)], [(ZERO_ADDRESS, C)]).moved
    with pytest.raises(GovernanceRuleError):
        t.push(40, 0, C, D)
    ended: dict[str, object] = {"for_votes": 6, "eta": 1000, "queued_block": 22}
    queued = _p(**ended, queued_on=C)
    direct = _p(**ended, queued_on=C, executed_block=25, by_timelock=True)
    cancelled = _p(**ended, queued_on=C, canceled_block=25, by_timelock=True)
    governed = _p(**ended, queued_on=C, executed_block=25)
    on_d = _p(**ended, queued_on=D)
    rows = [queued, direct, cancelled, governed, on_d]
    assert [proposal_state(p, 29, 1, t) for p in rows] == [
        S.Queued,
        S.Executed,
        S.Canceled,
        S.Executed,
        S.Canceled,  # queued on D, which the governor does not use yet (or was cancelled)
    ]
    assert [proposal_state(p, 35, 1, t) for p in rows] == [
        S.Canceled,
        S.Canceled,
        S.Canceled,
        S.Executed,
        S.Queued,
    ]
    assert [proposal_state(p, 45, 1, t) for p in rows] == [
        proposal_state(p, 29, 1, t) for p in rows
    ]
    # no change indexed (an index from before migration 0017): the one timelock there is
    assert proposal_state(_p(**ended), 35, 1, Timelocks()) == S.Queued
    # "" (queued before the first change indexed) is the timelock that change left
    t2 = Timelocks()
    t2.push(30, 2, C, D)
    assert proposal_state(_p(**ended), 29, 1, t2) == S.Queued
    assert proposal_state(_p(**ended), 35, 1, t2) == S.Canceled
    # as of a block: queued on the timelock only if queued by then
    assert proposal_as_of(direct, 24, []).queued_on == C
    assert not proposal_as_of(direct, 24, []).by_timelock
    assert proposal_as_of(direct, 21, []).queued_on == ""


def test_quorum_rounds_down() -> None:
    assert quorum(1_000, 4) == 40
    assert quorum(999, 4) == 39
    assert quorum(0, 4) == 0


def test_checkpoints_lookup_and_truncate() -> None:
    cp = Checkpoints()
    assert cp.at(100) == 0 and cp.latest() == 0
    cp.push(5, 0, 10)
    cp.push(5, 3, 12)  # same block: the last write of the block wins
    cp.push(9, 1, 7)
    assert [cp.at(b) for b in (4, 5, 6, 8, 9, 1000)] == [0, 12, 12, 12, 7, 7]
    with pytest.raises(GovernanceRuleError):
        cp.push(9, 1, 1)
    cp.truncate_above(5)
    assert cp.latest() == 12 and cp.at(9) == 12


# ---------------------------------------------------------------------------- ingest


class MemoryRepo:
    """An in-process GovernanceRepository."""

    def __init__(self) -> None:
        self.proposals: dict[int, Proposal] = {}
        self.votes: dict[tuple[int, str], Vote] = {}
        self.changes: list[tuple[int, int, str, str]] = []  # block, log, delegator, to
        self.vote_cps: dict[str, Checkpoints] = {}
        self.supply = Checkpoints()
        self.quorum = Checkpoints()
        self.timelock_changes = Timelocks()

    def snapshot(self) -> object:
        return copy.deepcopy(
            (
                self.proposals,
                self.votes,
                self.changes,
                self.vote_cps,
                self.supply,
                self.quorum,
                self.timelock_changes,
            )
        )

    async def proposal(self, pid: int) -> Proposal | None:
        return copy.deepcopy(self.proposals.get(pid))

    async def save_proposal(self, p: Proposal) -> None:
        self.proposals[p.id] = copy.deepcopy(p)

    async def proposal_queued_as(self, operation: str) -> Proposal | None:
        found = [p for p in self.proposals.values() if p.timelock_id == operation]
        return copy.deepcopy(found[0]) if found else None

    async def add_vote(self, v: Vote) -> None:
        if (v.proposal_id, v.voter) in self.votes:
            raise GovernanceRuleError("twice")
        self.votes[(v.proposal_id, v.voter)] = v

    async def add_delegation(
        self, delegator: str, previous: str, delegatee: str, block: int, log_index: int
    ) -> None:
        self.changes.append((block, log_index, delegator, delegatee))

    async def add_votes_checkpoint(
        self, delegate: str, block: int, log_index: int, votes: int
    ) -> None:
        self.vote_cps.setdefault(delegate, Checkpoints()).push(block, log_index, votes)

    async def latest_supply(self) -> int:
        return self.supply.latest()

    async def add_supply_checkpoint(self, block: int, log_index: int, supply: int) -> None:
        self.supply.push(block, log_index, supply)

    async def add_quorum_checkpoint(self, block: int, log_index: int, numerator: int) -> None:
        self.quorum.push(block, log_index, numerator)

    async def timelocks(self) -> Timelocks:
        return copy.deepcopy(self.timelock_changes)

    async def add_timelock_change(self, block: int, log_index: int, old: str, new: str) -> None:
        self.timelock_changes.push(block, log_index, old, new)

    async def revert_above(self, block: int) -> None:
        self.votes = {k: v for k, v in self.votes.items() if v.block_number <= block}
        self.proposals = {k: p for k, p in self.proposals.items() if p.created_block <= block}
        for p in self.proposals.values():
            if p.canceled_block > block:
                p.canceled_block, p.by_timelock = 0, False
            if p.executed_block > block:
                p.executed_block, p.by_timelock = 0, False
            if p.queued_block > block:
                p.queued_block = p.eta = 0
                p.timelock_id = p.queued_on = ""
            p.for_votes = p.against_votes = p.abstain_votes = 0
            for v in self.votes.values():
                if v.proposal_id == p.id:
                    p.count(v.support, v.weight)
        self.changes = [c for c in self.changes if c[0] <= block]
        for cp in (*self.vote_cps.values(), self.supply, self.quorum):
            cp.truncate_above(block)
        self.timelock_changes.truncate_above(block)
        self.vote_cps = {d: cp for d, cp in self.vote_cps.items() if cp.keys}


def _ev(name: str, block: int, log: int, **args: object) -> events.EventEnvelope:
    return event(A, name, block, log, **args)


def _created(pid: int, block: int) -> events.EventEnvelope:
    return _ev(
        "ProposalCreated",
        block,
        0,
        proposalId=pid,
        proposer=A,
        targets=[B],
        values=[0],
        signatures=[""],
        calldatas=["0x"],
        voteStart=block + 1,
        voteEnd=block + 5,
        description=f"p{pid}",
    )


def _vote(
    pid: int, voter: str, support: int, weight: int, block: int, log: int = 1
) -> events.EventEnvelope:
    return _ev(
        "VoteCast",
        block,
        log,
        voter=voter,
        proposalId=pid,
        support=support,
        weight=weight,
        reason="",
    )


async def test_ingest_tallies_supply_delegation_and_exact_revert() -> None:
    repo = MemoryRepo()
    await apply_batch(
        repo,
        [
            _ev("Transfer", 1, 0, **{"from": ZERO_ADDRESS, "to": A, "value": 1000}),
            _ev("QuorumNumeratorUpdated", 1, 1, oldQuorumNumerator=0, newQuorumNumerator=4),
            _ev("DelegateChanged", 2, 0, delegator=A, fromDelegate=ZERO_ADDRESS, toDelegate=A),
            _ev("DelegateVotesChanged", 2, 1, delegate=A, previousVotes=0, newVotes=1000),
            _created(7, 3),
        ],
    )
    before = repo.snapshot()
    await apply_batch(
        repo,
        [
            _vote(7, A, 1, 600, 5),
            _vote(7, B, 0, 100, 5, 2),
            _ev("Transfer", 6, 0, **{"from": A, "to": ZERO_ADDRESS, "value": 10}),
            _ev("DelegateVotesChanged", 6, 1, delegate=A, previousVotes=1000, newVotes=990),
            _ev("ProposalQueued", 9, 0, proposalId=7, etaSeconds=1234),
            _created(8, 9),
        ],
    )
    p = repo.proposals[7]
    assert (p.for_votes, p.against_votes, p.eta) == (600, 100, 1234)
    assert repo.supply.latest() == 990 and repo.vote_cps[A].at(5) == 1000
    assert proposal_state(p, 10, quorum(repo.supply.at(p.vote_start), 4)) == S.Queued
    await apply_batch(repo, [revert(4)])
    assert repo.snapshot() == before


async def test_a_proposal_follows_its_operation_on_the_timelock() -> None:
    """Queued, a proposal is the timelock operation hashOperationBatch(targets, values,
    calldatas, 0, bytes20(governor) ^ keccak(description)); executed or cancelled on the
    timelock directly (no governor event) it is Executed or Canceled, as state() says; through
    the governor the timelock's event comes first and the governor's changes nothing; another
    proposer's operation is ignored; a revert undoes the queue and what followed it."""
    timelock = C
    repo = MemoryRepo()
    await apply_batch(repo, [_created(7, 3), _created(8, 3), _created(9, 3)])
    queued = [_ev("ProposalQueued", 9, pid, proposalId=pid, etaSeconds=1234) for pid in (7, 8, 9)]
    await apply_batch(repo, queued)
    ops = {pid: timelock_operation_id(A, [B], [0], ["0x"], f"p{pid}") for pid in (7, 8, 9)}
    assert {pid: repo.proposals[pid].timelock_id for pid in ops} == ops
    assert len(set(ops.values())) == 3
    before = repo.snapshot()

    def call(name: str, block: int, log: int, op: str, **more: object) -> events.EventEnvelope:
        return event(timelock, name, block, log, id=op, **more)

    call_args = {"index": 0, "target": B, "value": 0, "data": "0x"}
    await apply_batch(
        repo,
        [
            call("CallExecuted", 12, 0, ops[7], **call_args),  # by anyone, on the timelock
            call("Cancelled", 12, 1, ops[8]),  # by a canceller, on the timelock
            call("CallExecuted", 13, 0, ops[9], **call_args),  # through the governor:
            _ev("ProposalExecuted", 13, 1, proposalId=9),  # its event follows
            call("CallExecuted", 13, 2, "0x" + "ee" * 32, **call_args),  # not a proposal's
            call("Cancelled", 14, 0, ops[7]),  # done already: cannot be cancelled
        ],
    )
    p7, p8, p9 = (repo.proposals[pid] for pid in (7, 8, 9))
    assert (p7.executed_block, p7.canceled_block) == (12, 0)
    assert (p8.executed_block, p8.canceled_block) == (0, 12)
    assert (p9.executed_block, p9.canceled_block) == (13, 0)
    assert [proposal_state(p, 20, 0) for p in (p7, p8, p9)] == [S.Executed, S.Canceled, S.Executed]
    await apply_batch(repo, [revert(10)])
    assert repo.snapshot() == before
    await apply_batch(repo, [revert(8)])  # below the queue: no operation is theirs any more
    assert {repo.proposals[pid].timelock_id for pid in ops} == {""}
    await apply_batch(repo, [call("CallExecuted", 9, 0, ops[7], **call_args)])
    assert repo.proposals[7].executed_block == 0


async def test_proposals_follow_the_governors_timelock_changes() -> None:
    """TimelockChange is kept; a proposal is queued on the governor's timelock then; a timelock
    event applies to the proposal only from the timelock it was queued on; a revert undoes the
    change (and the queue after it)."""
    repo = MemoryRepo()
    ops = {pid: timelock_operation_id(A, [B], [0], ["0x"], f"p{pid}") for pid in (7, 8, 9)}
    call_args = {"index": 0, "target": B, "value": 0, "data": "0x"}
    await apply_batch(
        repo,
        [
            _ev("TimelockChange", 1, 0, oldTimelock=ZERO_ADDRESS, newTimelock=C),
            _created(7, 3),
            _created(8, 3),
            _vote(7, A, 1, 5, 5),
            _vote(8, A, 1, 5, 5),
            _ev("ProposalQueued", 9, 0, proposalId=7, etaSeconds=1234),
            event(C, "CallExecuted", 12, 0, id=ops[7], **call_args),  # on C directly
        ],
    )
    before = repo.snapshot()
    await apply_batch(
        repo,
        [
            _ev("TimelockChange", 20, 3, oldTimelock=C, newTimelock=D),
            _ev("ProposalQueued", 21, 0, proposalId=8, etaSeconds=1234),
            # the same operation on the former timelock C is not the proposal's
            event(C, "Cancelled", 22, 0, id=ops[8]),
        ],
    )
    p7, p8 = repo.proposals[7], repo.proposals[8]
    assert (p7.queued_on, p7.executed_block, p7.by_timelock) == (C, 12, True)
    assert (p8.queued_on, p8.canceled_block) == (D, 0)
    t = repo.timelock_changes
    assert [proposal_state(p, 25, 0, t) for p in (p7, p8)] == [S.Canceled, S.Queued]
    at_15 = [proposal_as_of(p, 15, [(1, 5)]) for p in (p7, p8)]
    assert [proposal_state(p, 15, 0, t) for p in at_15] == [S.Executed, S.Succeeded]
    await apply_batch(repo, [revert(19)])
    assert repo.snapshot() == before


async def test_ingest_refuses_contradictions() -> None:
    repo = MemoryRepo()
    with pytest.raises(GovernanceRuleError, match="unknown proposal"):
        await apply_batch(repo, [_vote(1, A, 1, 1, 5)])
    await apply_batch(repo, [_created(1, 3)])
    with pytest.raises(GovernanceRuleError, match="created twice"):
        await apply_batch(repo, [_created(1, 4)])
    with pytest.raises(GovernanceRuleError, match="unknown support"):
        await apply_batch(repo, [_vote(1, A, 3, 1, 5)])


def test_a_proposal_as_of_a_block_has_its_votes_and_its_life_up_to_then() -> None:
    """Tallies from the votes cast by then; queued, executed or canceled only if it happened
    by then; the proposal itself is not changed."""
    p = _p(for_votes=9, against_votes=4, queued_block=22, eta=1_000, executed_block=25)
    votes = [(1, 5), (0, 4), (1, 4)]  # for 5, against 4, for 4 (support, weight)
    at_15 = proposal_as_of(p, 15, votes[:2])
    assert (at_15.for_votes, at_15.against_votes, at_15.abstain_votes) == (5, 4, 0)
    assert (at_15.queued_block, at_15.eta, at_15.executed_block) == (0, 0, 0)
    assert proposal_state(at_15, 15, 1) == S.Active
    at_23 = proposal_as_of(p, 23, votes)
    assert (at_23.for_votes, at_23.queued_block, at_23.eta, at_23.executed_block) == (
        9,
        22,
        1_000,
        0,
    )
    assert proposal_state(at_23, 23, 1) == S.Queued
    assert proposal_state(proposal_as_of(p, 25, votes), 25, 1) == S.Executed
    canceled = _p(canceled_block=12)
    assert proposal_state(proposal_as_of(canceled, 11, []), 11, 1) == S.Active
    assert proposal_state(proposal_as_of(canceled, 12, []), 12, 1) == S.Canceled
    assert (p.for_votes, p.executed_block) == (9, 25)  # a copy
