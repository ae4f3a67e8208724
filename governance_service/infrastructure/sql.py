"""Governance state in SQL (SQLAlchemy 2 Core): the repository the consumer writes through and
the views the gRPC API reads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from common.consumer import read_mark
from common.db import insert_rows
from common.read_replica import Reads
from common.sqltypes import Amount, Uint256
from common.validation import (
    OutOfRange,
    Page,
    address_cursor,
    make_cursor,
    position_cursor,
    ranked_cursor,
)
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

metadata = sa.MetaData()
proposals_t = sa.Table(
    "gov_proposals",
    metadata,
    sa.Column("id", Uint256, primary_key=True),
    sa.Column("proposer", sa.String(42)),
    sa.Column("actions", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("vote_start", sa.BigInteger),
    sa.Column("vote_end", sa.BigInteger),
    sa.Column("created_block", sa.BigInteger),
    sa.Column("tx_hash", sa.String(66)),
    sa.Column("for_votes", Amount),
    sa.Column("against_votes", Amount),
    sa.Column("abstain_votes", Amount),
    sa.Column("canceled_block", sa.BigInteger),
    sa.Column("queued_block", sa.BigInteger),
    sa.Column("eta", sa.BigInteger),
    sa.Column("executed_block", sa.BigInteger),
    sa.Column("timelock_id", sa.String(66)),
    sa.Column("queued_on", sa.String(42)),
    sa.Column("by_timelock", sa.Boolean),
)
votes_t = sa.Table(
    "gov_votes",
    metadata,
    sa.Column("proposal_id", Uint256, primary_key=True),
    sa.Column("voter", sa.String(42), primary_key=True),
    sa.Column("support", sa.SmallInteger),
    sa.Column("weight", Amount),
    sa.Column("reason", sa.Text),
    sa.Column("params", sa.Text),
    sa.Column("block_number", sa.BigInteger),
    sa.Column("log_index", sa.BigInteger),
    sa.Column("tx_hash", sa.String(66)),
)
changes_t = sa.Table(
    "gov_delegation_changes",
    metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("delegator", sa.String(42)),
    sa.Column("from_delegate", sa.String(42)),
    sa.Column("to_delegate", sa.String(42)),
)
delegations_t = sa.Table(
    "gov_delegations",
    metadata,
    sa.Column("delegator", sa.String(42), primary_key=True),
    sa.Column("delegatee", sa.String(42)),
    sa.Column("block_number", sa.BigInteger),
)
vote_cp_t = sa.Table(
    "gov_vote_checkpoints",
    metadata,
    sa.Column("delegate", sa.String(42), primary_key=True),
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("votes", Amount),
)
# each delegate's latest checkpoint (migration 0015): the list by voting power reads it
delegate_votes_t = sa.Table(
    "gov_delegate_votes",
    metadata,
    sa.Column("delegate", sa.String(42), primary_key=True),
    sa.Column("votes", Amount),
)
stats_t = sa.Table(  # one row: how many delegates have votes
    "gov_stats",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("delegates", sa.BigInteger),
)
supply_cp_t = sa.Table(
    "gov_supply_checkpoints",
    metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("total_supply", Amount),
)
# the governor's TimelockChange events (migration 0017): which timelock state() asks, by block
timelock_changes_t = sa.Table(
    "gov_timelock_changes",
    metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("old_timelock", sa.String(42)),
    sa.Column("new_timelock", sa.String(42)),
)
quorum_cp_t = sa.Table(
    "gov_quorum_checkpoints",
    metadata,
    sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("numerator", sa.BigInteger),
)


# the states _may_be selects exactly: no quorum needed
DECIDED_IN_SQL = frozenset(
    (ProposalState.Executed, ProposalState.Canceled, ProposalState.Pending, ProposalState.Active)
)


def _may_be(state: ProposalState, now: int) -> list[Any]:
    """SQL conditions that every proposal in ``state`` at block ``now`` meets, following
    ``proposal_state``'s tests in its order: exactly those proposals for the states decided
    by the stored columns and the head, more for those that also need the quorum (Defeated,
    Succeeded, Queued), none for a state it never gives."""
    p = proposals_t.c
    live = [p.executed_block == 0, p.canceled_block == 0]
    ended = [*live, p.vote_start < now, p.vote_end < now]
    return {
        ProposalState.Executed: [p.executed_block != 0],
        ProposalState.Canceled: [p.executed_block == 0, p.canceled_block != 0],
        ProposalState.Pending: [*live, p.vote_start >= now],
        ProposalState.Active: [*live, p.vote_start < now, p.vote_end >= now],
        ProposalState.Defeated: ended,
        ProposalState.Succeeded: [*ended, p.eta == 0],
        ProposalState.Queued: [*ended, p.eta != 0],
    }.get(state, [])


def _proposal(r: Any) -> Proposal:
    actions = json.loads(r.actions)
    return Proposal(
        id=r.id,
        proposer=r.proposer,
        targets=actions["targets"],
        values=[int(v) for v in actions["values"]],
        signatures=actions["signatures"],
        calldatas=actions["calldatas"],
        description=r.description,
        vote_start=r.vote_start,
        vote_end=r.vote_end,
        created_block=r.created_block,
        tx_hash=r.tx_hash,
        for_votes=r.for_votes,
        against_votes=r.against_votes,
        abstain_votes=r.abstain_votes,
        canceled_block=r.canceled_block,
        queued_block=r.queued_block,
        eta=r.eta,
        executed_block=r.executed_block,
        timelock_id=r.timelock_id,
        queued_on=r.queued_on,
        by_timelock=bool(r.by_timelock),
    )


def _proposal_row(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "proposer": p.proposer,
        "actions": json.dumps(
            {
                "targets": p.targets,
                "values": [str(v) for v in p.values],  # uint256: strings, never floats
                "signatures": p.signatures,
                "calldatas": p.calldatas,
            }
        ),
        "description": p.description,
        "vote_start": p.vote_start,
        "vote_end": p.vote_end,
        "created_block": p.created_block,
        "tx_hash": p.tx_hash,
        "for_votes": p.for_votes,
        "against_votes": p.against_votes,
        "abstain_votes": p.abstain_votes,
        "canceled_block": p.canceled_block,
        "queued_block": p.queued_block,
        "eta": p.eta,
        "executed_block": p.executed_block,
        "timelock_id": p.timelock_id,
        "queued_on": p.queued_on,
        "by_timelock": p.by_timelock,
    }


def _vote(r: Any) -> Vote:
    return Vote(
        r.proposal_id,
        r.voter,
        r.support,
        r.weight,
        r.reason,
        r.params,
        r.block_number,
        r.log_index,
        r.tx_hash,
    )


async def _checkpoint(
    conn: AsyncConnection, table: sa.Table, column: str, block: int | None, *where: Any
) -> int:
    """The value of the last checkpoint at or before ``block`` (the latest when None)."""
    q = sa.select(table.c[column]).where(*where)
    if block is not None:
        q = q.where(table.c.block_number <= block)
    q = q.order_by(table.c.block_number.desc(), table.c.log_index.desc()).limit(1)
    value = (await conn.execute(q)).scalar()
    return int(value) if value is not None else 0


def _queued_on(p: Proposal, timelocks: Timelocks) -> str:
    return timelocks.resolve(p.queued_on) if p.eta else ""


async def _timelocks(conn: AsyncConnection) -> Timelocks:
    t = timelock_changes_t.c
    history = Timelocks()
    for r in await conn.execute(
        sa.select(timelock_changes_t).order_by(t.block_number, t.log_index)
    ):
        history.push(r.block_number, r.log_index, r.old_timelock, r.new_timelock)
    return history


async def _delegate_votes(conn: AsyncConnection, delegates: Iterable[str]) -> dict[str, int]:
    """The stored current votes of those delegates (the ones with a row)."""
    d = delegate_votes_t.c
    rows = await conn.execute(
        sa.select(d.delegate, d.votes).where(d.delegate.in_(sorted(delegates)))
    )
    return {a.lower(): int(v) for a, v in rows}


async def _count_delegates(
    conn: AsyncConnection, before: dict[str, int], after: dict[str, int]
) -> None:
    """Move ``gov_stats.delegates`` by the delegates that gained or lost all their votes."""
    change = sum(1 for v in after.values() if v) - sum(1 for v in before.values() if v)
    if change:
        s = stats_t.c
        await conn.execute(
            sa.update(stats_t).where(s.id == 1).values(delegates=s.delegates + change)
        )


class SqlGovernanceRepository:
    """The governance state of one transaction, written behind: delegates' vote checkpoints
    (one per DelegateVotesChanged: most of this topic's records), delegation changes, supply
    and quorum checkpoints, votes and the proposals they count in are kept here and written in
    multi-row statements by :meth:`flush` (before a revert and at the end of the batch). A
    proposal is read once per batch and then served from here; four statements per vote were
    the consumer's largest cost, then a statement or two per delegation and per mint/burn."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._vote_checkpoints: list[dict[str, Any]] = []
        self._proposals: dict[int, Proposal] = {}  # read or saved in this transaction
        self._dirty: set[int] = set()  # ids of the saved ones, not yet written
        self._votes: dict[tuple[int, str], Vote] = {}  # (proposal, voter lower case)
        self._changes: list[dict[str, Any]] = []
        self._delegations: dict[str, dict[str, Any]] = {}  # delegator -> its latest row
        self._supply_checkpoints: list[dict[str, Any]] = []
        self._quorum_checkpoints: list[dict[str, Any]] = []
        self._timelocks: Timelocks | None = None  # read once, then kept here
        self._timelock_changes: list[dict[str, Any]] = []

    async def flush(self) -> None:
        c = self.conn
        if self._votes:
            pids = sorted({pid for pid, _ in self._votes})
            voters = sorted({v.voter for v in self._votes.values()})
            for pid, voter in await c.execute(
                sa.select(votes_t.c.proposal_id, votes_t.c.voter).where(
                    votes_t.c.proposal_id.in_(pids), votes_t.c.voter.in_(voters)
                )
            ):
                if (int(pid), voter.lower()) in self._votes:
                    raise GovernanceRuleError(f"{voter} voted twice on proposal {pid}")
        rows = [_proposal_row(self._proposals[pid]) for pid in sorted(self._dirty)]
        if rows:
            await insert_rows(c, proposals_t, rows, update=[k for k in rows[0] if k != "id"])
        await insert_rows(c, votes_t, [asdict(v) for v in self._votes.values()])  # fields = columns
        await insert_rows(c, vote_cp_t, self._vote_checkpoints)
        latest = {cp["delegate"]: cp["votes"] for cp in self._vote_checkpoints}  # chain order
        if latest:
            before = await _delegate_votes(c, latest)
            await insert_rows(
                c,
                delegate_votes_t,
                [{"delegate": d, "votes": v} for d, v in sorted(latest.items())],
                update=["votes"],
            )
            await _count_delegates(c, before, latest)
        await insert_rows(c, changes_t, self._changes)
        await insert_rows(
            c, delegations_t, list(self._delegations.values()), update=["delegatee", "block_number"]
        )
        await insert_rows(c, supply_cp_t, self._supply_checkpoints)
        await insert_rows(c, quorum_cp_t, self._quorum_checkpoints)
        await insert_rows(c, timelock_changes_t, self._timelock_changes)
        self._timelock_changes = []
        self._timelocks = None
        self._vote_checkpoints = []
        self._changes = []
        self._delegations = {}
        self._supply_checkpoints = []
        self._quorum_checkpoints = []
        self._proposals.clear()  # a revert changes the rows behind them
        self._dirty.clear()
        self._votes.clear()

    async def proposal(self, pid: int) -> Proposal | None:
        if pid not in self._proposals:
            row = (
                await self.conn.execute(sa.select(proposals_t).where(proposals_t.c.id == pid))
            ).first()
            if row is None:
                return None
            self._proposals[pid] = _proposal(row)
        return self._proposals[pid]

    async def save_proposal(self, p: Proposal) -> None:
        self._proposals[p.id] = p
        self._dirty.add(p.id)

    async def proposal_queued_as(self, operation: str) -> Proposal | None:
        for mine in self._proposals.values():  # this batch's, maybe queued in it
            if mine.timelock_id == operation:
                return mine
        row = (
            await self.conn.execute(
                sa.select(proposals_t.c.id).where(proposals_t.c.timelock_id == operation)
            )
        ).first()
        if row is None:
            return None
        p = await self.proposal(int(row.id))
        return p if p is not None and p.timelock_id == operation else None

    async def add_vote(self, v: Vote) -> None:
        """Raises GovernanceRuleError on a second vote of the voter on the proposal (in this
        batch here, against the stored votes at :meth:`flush`)."""
        key = (v.proposal_id, v.voter.lower())
        if key in self._votes:
            raise GovernanceRuleError(f"{v.voter} voted twice on proposal {v.proposal_id}")
        self._votes[key] = v

    async def add_delegation(
        self, delegator: str, previous: str, delegatee: str, block: int, log_index: int
    ) -> None:
        self._changes.append(
            {
                "block_number": block,
                "log_index": log_index,
                "delegator": delegator,
                "from_delegate": previous,
                "to_delegate": delegatee,
            }
        )
        self._delegations[delegator] = {
            "delegator": delegator,
            "delegatee": delegatee,
            "block_number": block,
        }

    async def add_votes_checkpoint(
        self, delegate: str, block: int, log_index: int, votes: int
    ) -> None:
        self._vote_checkpoints.append(
            {"delegate": delegate, "block_number": block, "log_index": log_index, "votes": votes}
        )

    async def latest_supply(self) -> int:
        if self._supply_checkpoints:
            return int(self._supply_checkpoints[-1]["total_supply"])
        return await _checkpoint(self.conn, supply_cp_t, "total_supply", None)

    async def add_supply_checkpoint(self, block: int, log_index: int, supply: int) -> None:
        self._supply_checkpoints.append(
            {"block_number": block, "log_index": log_index, "total_supply": supply}
        )

    async def add_quorum_checkpoint(self, block: int, log_index: int, numerator: int) -> None:
        self._quorum_checkpoints.append(
            {"block_number": block, "log_index": log_index, "numerator": numerator}
        )

    async def timelocks(self) -> Timelocks:
        if self._timelocks is None:
            self._timelocks = await _timelocks(self.conn)
        return self._timelocks

    async def add_timelock_change(self, block: int, log_index: int, old: str, new: str) -> None:
        (await self.timelocks()).push(block, log_index, old, new)
        self._timelock_changes.append(
            {
                "block_number": block,
                "log_index": log_index,
                "old_timelock": old,
                "new_timelock": new,
            }
        )

    async def revert_above(self, block: int) -> None:
        await self.flush()
        c = self.conn
        # votes: drop them, then recompute the tallies of the proposals they counted in
        touched = {
            pid
            for (pid,) in await c.execute(
                sa.select(votes_t.c.proposal_id).where(votes_t.c.block_number > block)
            )
        }
        await c.execute(sa.delete(votes_t).where(votes_t.c.block_number > block))
        await c.execute(sa.delete(proposals_t).where(proposals_t.c.created_block > block))
        for column, reset in (
            ("canceled_block", {"canceled_block": 0, "by_timelock": False}),
            ("executed_block", {"executed_block": 0, "by_timelock": False}),
            ("queued_block", {"queued_block": 0, "eta": 0, "timelock_id": "", "queued_on": ""}),
        ):
            await c.execute(
                sa.update(proposals_t).where(proposals_t.c[column] > block).values(**reset)
            )
        for pid in sorted(touched):
            p = await self.proposal(pid)
            if p is None:  # created above the block too
                continue
            p.for_votes = p.against_votes = p.abstain_votes = 0
            for v in await c.execute(
                sa.select(votes_t.c.support, votes_t.c.weight).where(votes_t.c.proposal_id == pid)
            ):
                p.count(v.support, v.weight)
            await self.save_proposal(p)
        # delegations: drop the changes, then restore each touched delegator's latest one
        delegators = {
            d
            for (d,) in await c.execute(
                sa.select(changes_t.c.delegator).where(changes_t.c.block_number > block)
            )
        }
        await c.execute(sa.delete(changes_t).where(changes_t.c.block_number > block))
        for d in sorted(delegators):
            last = (
                await c.execute(
                    sa.select(changes_t)
                    .where(changes_t.c.delegator == d)
                    .order_by(changes_t.c.block_number.desc(), changes_t.c.log_index.desc())
                    .limit(1)
                )
            ).first()
            await c.execute(sa.delete(delegations_t).where(delegations_t.c.delegator == d))
            if last is not None:
                await c.execute(
                    sa.insert(delegations_t).values(
                        delegator=d, delegatee=last.to_delegate, block_number=last.block_number
                    )
                )
        # delegates' current votes: the latest checkpoint each touched one has left, if any
        cp = vote_cp_t.c
        touched_delegates = sorted(
            d
            for (d,) in await c.execute(
                sa.select(cp.delegate).where(cp.block_number > block).distinct()
            )
        )
        for table in (vote_cp_t, supply_cp_t, quorum_cp_t, timelock_changes_t):
            await c.execute(sa.delete(table).where(table.c.block_number > block))
        if touched_delegates:
            before = await _delegate_votes(c, touched_delegates)
            await c.execute(
                sa.delete(delegate_votes_t).where(
                    delegate_votes_t.c.delegate.in_(touched_delegates)
                )
            )
            later = vote_cp_t.alias("later")
            newest = (
                sa.select(cp.delegate, cp.votes)
                .where(cp.delegate.in_(touched_delegates))
                .where(
                    ~sa.exists().where(
                        later.c.delegate == cp.delegate,
                        sa.or_(
                            later.c.block_number > cp.block_number,
                            sa.and_(
                                later.c.block_number == cp.block_number,
                                later.c.log_index > cp.log_index,
                            ),
                        ),
                    )
                )
            )
            await c.execute(sa.insert(delegate_votes_t).from_select(["delegate", "votes"], newest))
            await _count_delegates(c, before, await _delegate_votes(c, touched_delegates))


@dataclass(frozen=True)
class ProposalView:
    proposal: Proposal
    state: ProposalState
    quorum: int
    at_block: int  # the indexed head the state and quorum were derived at
    timelock: str = ""  # the timelock it was queued on (lower case; "" until queued, or unknown)


@dataclass(frozen=True)
class DelegateView:
    address: str
    votes: int
    votes_at_block: int
    at_block: int
    delegatee: str
    delegators: list[str]  # by address, the first MAX_DELEGATORS
    delegators_total: int


# a delegate's delegators listed in one answer (a popular one has thousands)
MAX_DELEGATORS = 1000


class GovernanceViews:
    """Reads, all evaluated at the indexed head: the block the consumer has applied through."""

    def __init__(self, engine: Reads, group: str, topic: str, default_quorum: int) -> None:
        self.engine = engine
        self.group = group
        self.topic = topic
        self.default_quorum = default_quorum  # numerator until a QuorumNumeratorUpdated is seen

    async def head(self, conn: AsyncConnection | None = None) -> int:
        async def read(c: AsyncConnection) -> int:
            return max(0, (await read_mark(c, self.group, self.topic))[1])

        if conn is not None:
            return await read(conn)
        async with self.engine.connect() as c:
            return await read(c)

    async def quorum_at(self, timepoint: int) -> int:
        """The quorum at a past block as the index knows it (the governor's quorum(t))."""
        async with self.engine.connect() as conn:
            return (await self._quorums(conn, [timepoint]))[timepoint]

    async def _quorums(self, conn: AsyncConnection, timepoints: Sequence[int]) -> dict[int, int]:
        """quorum(t) for each timepoint, in a statement per 500 of them (a statement or two per
        proposal made a list of 2,500 proposals take 2.9 s)."""
        numerators = Checkpoints()  # few: the governor's QuorumNumeratorUpdated events
        for block, log_index, numerator in await conn.execute(
            sa.select(
                quorum_cp_t.c.block_number, quorum_cp_t.c.log_index, quorum_cp_t.c.numerator
            ).order_by(quorum_cp_t.c.block_number, quorum_cp_t.c.log_index)
        ):
            numerators.push(block, log_index, numerator)
        points = sorted(set(timepoints))
        supply: dict[int, int] = {}
        # the lookups as SQL text: building and compiling 500 SQLAlchemy selects took longer
        # than MariaDB's answer (the timepoints are ints, rendered by %d)
        lookup = (
            "SELECT %d, (SELECT total_supply FROM gov_supply_checkpoints WHERE block_number <= %d"
            " ORDER BY block_number DESC, log_index DESC LIMIT 1)"
        )
        for i in range(0, len(points), 500):
            sql = " UNION ALL ".join(lookup % (t, t) for t in points[i : i + 500])
            rows: Any = await conn.exec_driver_sql(sql)  # typed as one-column rows
            supply.update({int(t): int(v or 0) for t, v in rows})
        return {
            t: quorum(supply[t], numerators.at(t) if numerators.keys else self.default_quorum)
            for t in points
        }

    async def proposal(self, pid: int) -> ProposalView | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(proposals_t).where(proposals_t.c.id == pid))
            ).first()
            if row is None:
                return None
            return (await self._views(conn, [_proposal(row)]))[0]

    async def proposal_at(self, pid: int, block: int) -> ProposalView | None:
        """The proposal, its tallies and its state as the governor gave them at the end of
        ``block`` (its votes cast by then; None when it was not proposed yet), read in one
        transaction. OutOfRange above the indexed head."""
        async with self.engine.connect() as conn:
            now = await self.head(conn)
            if block > now:
                raise OutOfRange(f"block {block} is above the indexed head {now}")
            row = (
                await conn.execute(sa.select(proposals_t).where(proposals_t.c.id == pid))
            ).first()
            if row is None or row.created_block > block:
                return None
            votes = await conn.execute(
                sa.select(votes_t.c.support, votes_t.c.weight).where(
                    votes_t.c.proposal_id == pid, votes_t.c.block_number <= block
                )
            )
            p = proposal_as_of(_proposal(row), block, [(int(s), int(w)) for s, w in votes])
            timepoint = min(p.vote_start, block)
            quorum = (await self._quorums(conn, [timepoint]))[timepoint]
            timelocks = await _timelocks(conn)
        state = proposal_state(p, block, quorum, timelocks)
        return ProposalView(p, state, quorum, block, _queued_on(p, timelocks))

    async def _views(
        self, conn: AsyncConnection, proposals: list[Proposal], timelocks: Timelocks | None = None
    ) -> list[ProposalView]:
        now = await self.head(conn)
        quorums = await self._quorums(conn, [min(p.vote_start, now) for p in proposals])
        if timelocks is None:
            timelocks = await _timelocks(conn)
        out = []
        for p in proposals:
            q = quorums[min(p.vote_start, now)]
            state = proposal_state(p, now, q, timelocks)
            out.append(ProposalView(p, state, q, now, _queued_on(p, timelocks)))
        return out

    async def proposals(
        self, state: ProposalState | None, limit: int, offset: int
    ) -> tuple[list[ProposalView], int]:
        """Newest first. States are derived (they move with the head): without a filter, or
        with one the stored columns decide, only the page's are; with one that needs the
        quorum, those of the proposals that can be in that state (what ``_may_be``
        selects), then filtered on the derived state. Once the governor has moved to another
        timelock, the columns decide no state (a proposal queued on the former one is
        Canceled until it moves back), and every proposal is a candidate."""
        newest = sa.select(proposals_t).order_by(
            proposals_t.c.created_block.desc(), proposals_t.c.id
        )
        async with self.engine.connect() as conn:
            timelocks = await _timelocks(conn)
            where = []
            if state is not None and not timelocks.moved:
                where = _may_be(state, await self.head(conn))
            if state is None or (state in DECIDED_IN_SQL and not timelocks.moved):
                total = (
                    await conn.execute(
                        sa.select(sa.func.count()).select_from(proposals_t).where(*where)
                    )
                ).scalar_one()
                rows = await conn.execute(newest.where(*where).limit(limit).offset(offset))
                page = await self._views(conn, [_proposal(r) for r in rows], timelocks)
                return page, int(total)
            candidates = newest.where(*where)
            views = await self._views(
                conn, [_proposal(r) for r in await conn.execute(candidates)], timelocks
            )
        views = [v for v in views if v.state == state]
        return views[offset : offset + limit], len(views)

    async def timelocks(self) -> Timelocks:
        """The governor's timelock changes indexed."""
        async with self.engine.connect() as conn:
            return await _timelocks(conn)

    async def all_proposals(self) -> list[ProposalView]:
        views, _ = await self.proposals(None, 2**31, 0)
        return views

    async def votes(
        self, pid: int, limit: int, offset: int, cursor: str | None = None
    ) -> Page[Vote]:
        return await self._votes(votes_t.c.proposal_id == pid, limit, offset, cursor)

    async def voter(
        self, voter: str, limit: int, offset: int, cursor: str | None = None
    ) -> Page[Vote]:
        return await self._votes(votes_t.c.voter == voter, limit, offset, cursor)

    async def _votes(self, where: Any, limit: int, offset: int, cursor: str | None) -> Page[Vote]:
        """Votes in chain order; ``cursor`` (a page's ``next_cursor``) continues after that
        page at the cost of a first page (migration 0012's indexes), where an offset costs
        the entries it skips."""
        v = votes_t.c
        after = []
        if cursor:
            block, index = position_cursor(cursor)
            after.append(
                sa.or_(
                    v.block_number > block, sa.and_(v.block_number == block, v.log_index > index)
                )
            )
            offset = 0
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(votes_t)
                .where(where, *after)
                .order_by(v.block_number, v.log_index)
                .limit(limit + 1)
                .offset(offset)
            )
            page = [_vote(r) for r in rows]
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(votes_t).where(where))
            ).scalar_one()
        nxt = ""
        if len(page) > limit:
            last = page[limit - 1]
            nxt = make_cursor(last.block_number, last.log_index)
        return Page(page[:limit], int(total), nxt)

    async def delegate(self, address: str, at_block: int | None) -> DelegateView:
        async with self.engine.connect() as conn:
            head = await self.head(conn)
            at = head if at_block is None else at_block
            if at > head:
                raise OutOfRange(f"block {at} is above the indexed head {head}")
            where = vote_cp_t.c.delegate == address
            votes = await _checkpoint(conn, vote_cp_t, "votes", None, where)
            past = await _checkpoint(conn, vote_cp_t, "votes", at, where)
            delegatee = (
                await conn.execute(
                    sa.select(delegations_t.c.delegatee).where(delegations_t.c.delegator == address)
                )
            ).scalar()
            mine = delegations_t.c.delegatee == address
            delegators = [
                d
                for (d,) in await conn.execute(
                    sa.select(delegations_t.c.delegator)
                    .where(mine)
                    .order_by(delegations_t.c.delegator)
                    .limit(MAX_DELEGATORS)
                )
            ]
            total = len(delegators)
            if total == MAX_DELEGATORS:
                total = (
                    await conn.execute(
                        sa.select(sa.func.count()).select_from(delegations_t).where(mine)
                    )
                ).scalar_one()
        return DelegateView(address, votes, past, at, delegatee or "", delegators, int(total))

    async def ranked_delegates(
        self, limit: int, offset: int, cursor: str | None = None
    ) -> tuple[Page[tuple[str, int]], int]:
        """Delegates with votes, by votes, then address, both descending, and the indexed
        head they are read at; ``cursor`` (a page's ``next_cursor``) continues after that page
        at the cost of a first page (migration 0015's index), where an offset costs the
        entries it skips."""
        d = delegate_votes_t.c
        q = sa.select(d.delegate, d.votes).where(d.votes > 0)
        if cursor:
            votes, address = ranked_cursor(cursor)
            q = q.where(sa.or_(d.votes < votes, sa.and_(d.votes == votes, d.delegate < address)))
            offset = 0
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                q.order_by(d.votes.desc(), d.delegate.desc()).limit(limit + 1).offset(offset)
            )
            page = [(a, int(v)) for a, v in rows]
            total = (await conn.execute(sa.select(stats_t.c.delegates))).scalar() or 0
            head = await self.head(conn)
        nxt = ""
        if len(page) > limit:
            address, votes = page[limit - 1]
            nxt = make_cursor(votes, address)
        return Page(page[:limit], int(total), nxt), head

    async def delegators(
        self, delegatee: str, limit: int, offset: int, cursor: str | None = None
    ) -> tuple[Page[tuple[str, int]], int]:
        """Who delegates to ``delegatee`` now, by address, with the block they delegated in,
        and the indexed head it is read at; ``cursor`` continues after a page at the cost of
        a first page (the delegatee index holds the delegator, the key), where an offset costs
        the entries it skips."""
        d = delegations_t.c
        mine = d.delegatee == delegatee
        q = sa.select(d.delegator, d.block_number).where(mine)
        if cursor:
            q = q.where(d.delegator > address_cursor(cursor))
            offset = 0
        async with self.engine.connect() as conn:
            rows = await conn.execute(q.order_by(d.delegator).limit(limit + 1).offset(offset))
            page = [(a, int(b)) for a, b in rows]
            total = (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(delegations_t).where(mine)
                )
            ).scalar_one()
            head = await self.head(conn)
        nxt = make_cursor(page[limit - 1][0]) if len(page) > limit else ""
        return Page(page[:limit], int(total), nxt), head

    async def tallies_of_rows(self) -> dict[int, tuple[int, int, int]]:
        """Each proposal's (against, for, abstain) summed from its vote rows (what GetVotes
        lists), exactly, in Python (SQLite's SUM of text amounts would be a float)."""
        out: dict[int, list[int]] = {}
        async with self.engine.connect() as conn:
            v = votes_t.c
            for pid, support, weight in await conn.execute(
                sa.select(v.proposal_id, v.support, v.weight)
            ):
                out.setdefault(int(pid), [0, 0, 0])[support] += int(weight)
        return {pid: (a, f, ab) for pid, (a, f, ab) in out.items()}

    async def delegations(self) -> tuple[dict[str, str], int]:
        """Every delegator's current delegatee, and the indexed head they are read at."""
        async with self.engine.connect() as conn:
            d = delegations_t.c
            rows = await conn.execute(sa.select(d.delegator, d.delegatee))
            return {a: b for a, b in rows}, await self.head(conn)

    async def delegates(self) -> list[str]:
        """Every address that ever held votes (what the verifier checks)."""
        async with self.engine.connect() as conn:
            return [d for (d,) in await conn.execute(sa.select(vote_cp_t.c.delegate).distinct())]

    async def votes_of(self, delegates: Sequence[str], at: int) -> dict[str, int]:
        async with self.engine.connect() as conn:
            return {
                d: await _checkpoint(conn, vote_cp_t, "votes", at, vote_cp_t.c.delegate == d)
                for d in delegates
            }
