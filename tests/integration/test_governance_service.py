"""Governance service end to end on the real stack (anvil -> block sync -> tansu -> MariaDB),
compared with NovaGovernor's state()/proposalVotes() and NovaToken's getVotes()/getPastVotes()."""

from __future__ import annotations

import contextlib
from collections import Counter

import grpc
import pytest
import sqlalchemy as sa

from common.db import migrate
from common.metrics import isolated_registry
from governance_service.bootstrap import bootstrap as gov_bootstrap
from governance_service.domain.governance import ProposalState
from governance_service.infrastructure import sql as gov_sql
from governance_service.infrastructure.sql import supply_cp_t
from governance_service.infrastructure.verify import GovernanceDrift, verify_governance
from governance_service.settings import GovernanceSettings
from nova import stack
from nova.devnet import artifacts
from nova.devnet.reorg import force_reorg
from novapb.governance.v1 import governance_pb2 as pb
from novapb.governance.v1 import governance_pb2_grpc as pb_grpc
from tests.chain_helpers import Devnet, beside_sync, make_devnet, paged_by_cursor, wait_for
from tests.integration.test_block_sync import settings_for

GOV = artifacts.load("NovaGovernor").abi
TOK = artifacts.load("NovaToken").abi
TL = artifacts.load("NovaTimelock").abi


@pytest.fixture(scope="module")
async def devnet(anvil_url: str, tmp_path_factory: pytest.TempPathFactory):
    net = await make_devnet(
        anvil_url, tmp_path_factory.mktemp("devnet"), seed=81, blocks=120, txs_per_block=10
    )
    yield net
    await net.rpc.close()


@contextlib.asynccontextmanager
async def pipeline(net: Devnet, endpoints: stack.Endpoints, db_url: str):
    sync_settings = settings_for(net, endpoints, db_url, reorg_window=64)
    migrate(db_url)
    settings = GovernanceSettings(
        database_url=db_url,
        kafka_bootstrap_servers=endpoints.kafka_bootstrap,
        kafka_topic_prefix=sync_settings.kafka_topic_prefix,
        manifest=net.manifest_path,
        grpc_port=0,
    )
    last: list[GovernanceDrift] = []

    async def settled() -> bool:
        """Indexed through the chain head, and no drift there."""
        head = await net.chain.block_number()
        if await app.views.head() < head:
            return False
        drift = await verify_governance(
            app.views,
            net.rpc,
            net.manifest.address("NovaGovernor"),
            net.manifest.address("NovaToken"),
            GOV,
            TOK,
        )
        last[:] = [drift]
        # the delegates list is compared with getVotes too, and each delegator's delegatee with
        # delegates(), unless the index moved meanwhile
        checked = drift.ranking_checked and drift.delegators is not None
        return drift.ok and drift.block == head and checked

    async def settle(what: str) -> None:
        try:
            await wait_for(settled, what, 120)
        except AssertionError as exc:  # say what differs, not only that it timed out
            raise AssertionError(f"{exc}; last check: {last and last[0].lines()}") from None

    async with contextlib.AsyncExitStack() as down:
        app = gov_bootstrap(settings, registry=isolated_registry())
        sync, channel = await beside_sync(down, sync_settings, app)
        yield app, pb_grpc.GovernanceServiceStub(channel), settle, last, sync


async def test_proposals_votes_and_power_equal_the_chain(devnet, endpoints, mysql_url):
    async with pipeline(devnet, endpoints, mysql_url) as (app, stub, settle, last, _):
        states: Counter[str] = Counter()
        for round_ in range(3):  # several heads: states move with the block number
            if round_:
                await devnet.sim.resync()
                await devnet.sim.run(blocks=15)
            await settle(f"governance = chain (round {round_})")
            assert last[0].proposals > 0 and last[0].delegates > 0
            listed = await stub.ListProposals(pb.ListProposalsRequest(limit=1000))
            assert listed.total == len(listed.proposals) == last[0].proposals
            states.update(p.state for p in listed.proposals)
            # a state filter (which reads only the proposals that can be in it) lists what the
            # unfiltered list says is in that state, in the same order
            for name in ProposalState.__members__:
                only = await stub.ListProposals(pb.ListProposalsRequest(state=name, limit=1000))
                want = [x.id for x in listed.proposals if x.state == name]
                assert [x.id for x in only.proposals] == want and only.total == len(want), name
        # the simulator's traffic reaches the governor's interesting states
        assert {"Executed", "Canceled", "Active"} & set(states), states
        assert states["Executed"] > 0 and states["Canceled"] > 0, states
        # a queued or executed proposal names its timelock operation, which the timelock has
        # (the simulator executes every second one there directly: state() still matched)
        timelock = devnet.manifest.address("NovaTimelock")
        for x in listed.proposals:
            assert bool(x.timelock_id) == (x.state in ("Queued", "Executed")), x
            if x.timelock_id:
                data = TL.encode_call("isOperation", bytes.fromhex(x.timelock_id[2:]))
                assert TL.decode_result("isOperation", await devnet.chain.call(timelock, data))
        governor = devnet.manifest.address("NovaGovernor")
        token = devnet.manifest.address("NovaToken")
        head = await devnet.chain.block_number()
        p = next(p for p in listed.proposals if p.state == "Executed")
        got = (await stub.GetProposal(pb.GetProposalRequest(id=p.id))).proposal
        # states are derived at the indexed head, which the answer names (settled: the chain's)
        assert got.state_at_block == head == await app.views.head()
        assert {x.state_at_block for x in listed.proposals} == {head}
        chain_votes = GOV.decode_result(
            "proposalVotes",
            await devnet.chain.call(governor, GOV.encode_call("proposalVotes", int(p.id))),
        )
        assert (int(got.against_votes), int(got.for_votes), int(got.abstain_votes)) == tuple(
            chain_votes
        )
        assert got.actions[0].target == token and got.description.startswith("NIP-")
        assert int(got.quorum) > 0
        # every listed proposal's quorum (looked up for all of them in a few statements) is
        # the governor's quorum at its snapshot; pages of 3 list the same, in the same order
        started = [x for x in listed.proposals if x.state != "Pending"]
        assert len(started) > 3
        for listed_p in started:
            chain_q = GOV.decode_result(
                "quorum",
                await devnet.chain.call(governor, GOV.encode_call("quorum", listed_p.vote_start)),
            )
            assert int(listed_p.quorum) == chain_q, listed_p.id
        paged: list[tuple[str, str, str]] = []
        while len(paged) < listed.total:
            page = await stub.ListProposals(pb.ListProposalsRequest(limit=3, offset=len(paged)))
            assert page.total == listed.total and page.proposals
            paged += [(x.id, x.state, x.quorum) for x in page.proposals]
        assert paged == [(x.id, x.state, x.quorum) for x in listed.proposals]
        votes = await stub.GetVotes(pb.GetVotesRequest(proposal_id=p.id, limit=2))
        assert votes.total >= len(votes.votes) > 0
        assert sum(
            int(v.weight) for v in (await stub.GetVotes(pb.GetVotesRequest(proposal_id=p.id))).votes
        ) == sum(chain_votes)
        voter = votes.votes[0].voter
        mine = await stub.GetVoter(pb.GetVoterRequest(address=voter.lower()))
        assert any(v.proposal_id == p.id for v in mine.votes)
        await _votes_by_cursor_equal_the_chain(stub, devnet)
        filtered = await stub.ListProposals(pb.ListProposalsRequest(state="executed"))
        assert filtered.total == states_now(listed, "Executed")
        # a delegate's power now and at a past block
        holder = devnet.sim.holders[0]
        delegatee = devnet.sim.delegates.get(holder, holder)
        past = head - 30
        d = await stub.GetDelegate(pb.GetDelegateRequest(address=delegatee, at_block=past))
        assert int(d.votes) == TOK.decode_result(
            "getVotes", await devnet.chain.call(token, TOK.encode_call("getVotes", delegatee))
        )
        assert int(d.votes_at_block) == TOK.decode_result(
            "getPastVotes",
            await devnet.chain.call(token, TOK.encode_call("getPastVotes", delegatee, past)),
        )
        assert holder in d.delegators and d.at_block == past
        theirs = sorted(h.lower() for h, to in devnet.sim.delegates.items() if to == delegatee)
        assert sorted(x.lower() for x in d.delegators) == theirs
        assert d.delegators_total == len(theirs)
        # delegates by voting power (the settled check compared every page with getVotes)
        ranked = await stub.ListDelegates(pb.ListDelegatesRequest(limit=2))
        assert ranked.block_number == head and ranked.total > 2 and ranked.next_cursor
        top = max(ranked.delegates, key=lambda x: int(x.votes))
        assert ranked.delegates[0] == top and int(top.votes) > 0
        more = await stub.ListDelegates(pb.ListDelegatesRequest(limit=2, cursor=ranked.next_cursor))
        assert int(more.delegates[0].votes) <= int(ranked.delegates[1].votes)
        assert more.delegates[0].address not in {x.address for x in ranked.delegates}
        # a popular delegate's list is cut at MAX_DELEGATORS; the total still counts them all
        popular = max(
            set(devnet.sim.delegates.values()), key=list(devnet.sim.delegates.values()).count
        )
        fans = sum(1 for to in devnet.sim.delegates.values() if to == popular)
        assert fans >= 2
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(gov_sql, "MAX_DELEGATORS", 1)
            cut = await stub.GetDelegate(pb.GetDelegateRequest(address=popular))
        assert (len(cut.delegators), cut.delegators_total) == (1, fans)
        # all of them, one a page by cursor and by offset: the simulator's, with the block of
        # their delegation (the chain's DelegateChanged)
        by_cursor: list[pb.Delegator] = []
        by_offset: list[pb.Delegator] = []
        cursor = ""
        while True:
            page = await stub.ListDelegators(
                pb.ListDelegatorsRequest(address=popular, limit=1, cursor=cursor)
            )
            assert page.total == fans and page.block_number == head
            by_cursor += page.delegators
            if not page.next_cursor:
                break
            cursor = page.next_cursor
            more = await stub.ListDelegators(
                pb.ListDelegatorsRequest(address=popular, limit=1, offset=len(by_offset))
            )
            by_offset += more.delegators
        assert by_offset == by_cursor[:-1]
        fans_of = sorted(h.lower() for h, to in devnet.sim.delegates.items() if to == popular)
        assert [x.address.lower() for x in by_cursor] == fans_of
        changed = await devnet.rpc.call(
            "eth_getLogs",
            {
                "address": token,
                "topics": [TOK.events["DelegateChanged"].topic0],
                "fromBlock": "0x0",
                "toBlock": hex(head),
            },
        )
        delegated_in: dict[str, int] = {}
        for log in changed:  # in chain order: the last one of each delegator wins
            delegated_in["0x" + log["topics"][1][-40:]] = int(log["blockNumber"], 16)
        assert all(x.since_block == delegated_in[x.address.lower()] for x in by_cursor)
        for call, request, code in [
            (stub.GetProposal, pb.GetProposalRequest(id="12345"), grpc.StatusCode.NOT_FOUND),
            (stub.GetProposal, pb.GetProposalRequest(id="0x12"), grpc.StatusCode.INVALID_ARGUMENT),
            (
                stub.GetProposal,
                pb.GetProposalRequest(id=str(2**256)),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                stub.ListProposals,
                pb.ListProposalsRequest(state="won"),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (stub.GetVotes, pb.GetVotesRequest(proposal_id="1"), grpc.StatusCode.NOT_FOUND),
            (stub.GetVoter, pb.GetVoterRequest(address="0x12"), grpc.StatusCode.INVALID_ARGUMENT),
            (
                stub.ListDelegates,
                pb.ListDelegatesRequest(cursor="MTA6MTA="),  # "10:10"
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                stub.ListDelegators,
                pb.ListDelegatorsRequest(address=popular, cursor="MTA="),  # "10"
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                stub.ListDelegators,
                pb.ListDelegatorsRequest(address="0x12"),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                stub.GetDelegate,
                pb.GetDelegateRequest(address=delegatee, at_block=head + 1000),
                grpc.StatusCode.OUT_OF_RANGE,
            ),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(request)
            assert info.value.code() == code, request
        # the verifier compares the quorum too: a wrong past total supply (its base) shows
        assert last[0].quorum_checked
        async with app.engine.begin() as conn:
            cp = supply_cp_t.c
            latest = (
                await conn.execute(
                    sa.select(cp.block_number, cp.log_index)
                    .where(cp.block_number < head)
                    .order_by(cp.block_number.desc(), cp.log_index.desc())
                    .limit(1)
                )
            ).one()
            await conn.execute(
                sa.update(supply_cp_t)
                .where(cp.block_number == latest[0], cp.log_index == latest[1])
                .values(total_supply=cp.total_supply + 1000 * 10**18)
            )
        drift = await verify_governance(app.views, devnet.rpc, governor, token, GOV, TOK)
        assert [d for d in drift.drifts if d.startswith(f"quorum({head - 1})")], drift.lines()
        # and the delegates list: a delegate listed with a vote more than getVotes shows
        async with app.engine.begin() as conn:
            dv = gov_sql.delegate_votes_t.c
            await conn.execute(
                sa.update(gov_sql.delegate_votes_t)
                .where(dv.delegate == top.address)
                .values(votes=dv.votes + 1)
            )
        drift = await verify_governance(app.views, devnet.rpc, governor, token, GOV, TOK)
        assert drift.ranking_checked
        assert [d for d in drift.drifts if d.startswith(f"delegates list: {top.address.lower()}")]
        # and a vote row that no longer sums to its proposal's tallies
        async with app.engine.begin() as conn:
            vt = gov_sql.votes_t.c
            await conn.execute(
                sa.update(gov_sql.votes_t)
                .where(vt.proposal_id == int(p.id), vt.voter == voter)
                .values(weight=vt.weight + 1)
            )
        drift = await verify_governance(app.views, devnet.rpc, governor, token, GOV, TOK)
        assert [d for d in drift.drifts if d.startswith(f"proposal {p.id} votes") and "rows" in d]
        # and whom a delegator delegates to
        async with app.engine.begin() as conn:
            dg = gov_sql.delegations_t.c
            await conn.execute(
                sa.update(gov_sql.delegations_t)
                .where(dg.delegator == holder)
                .values(delegatee="0x" + "00" * 19 + "01")
            )
        drift = await verify_governance(app.views, devnet.rpc, governor, token, GOV, TOK)
        assert drift.delegators and drift.delegators > 2
        assert [d for d in drift.drifts if d.startswith(f"delegates({holder}): indexed 0x")]


async def _votes_by_cursor_equal_the_chain(stub, net: Devnet) -> None:
    """A proposal's votes and a voter's, paged by cursor at sizes that split them unevenly:
    each list is the chain's VoteCast logs in chain order, none twice or missing."""
    governor = net.manifest.address("NovaGovernor")
    cast = [GOV.events["VoteCast"], GOV.events["VoteCastWithParams"]]
    logs = await net.rpc.call(
        "eth_getLogs",
        {"address": governor, "fromBlock": "0x0", "topics": [[e.topic0 for e in cast]]},
    )
    chain = []  # (block, log index, proposal, voter) in chain order
    for lg in logs:
        event = next(e for e in cast if e.topic0 == lg["topics"][0])
        args = event.decode(lg["topics"], lg["data"])
        position = (int(lg["blockNumber"], 16), int(lg["logIndex"], 16))
        chain.append((*position, str(args["proposalId"]), args["voter"].lower()))
    chain.sort()
    busiest = Counter(c[2] for c in chain).most_common(1)[0][0]
    want = [c[3] for c in chain if c[2] == busiest]
    assert len(want) >= 4, "the history has a proposal with several votes"
    for size in (1, 3):
        got = await paged_by_cursor(
            stub.GetVotes, pb.GetVotesRequest(proposal_id=busiest, limit=size), "votes"
        )
        assert [v.voter.lower() for v in got] == want
    keen = Counter(c[3] for c in chain).most_common(1)[0][0]
    theirs = [c[2] for c in chain if c[3] == keen]
    assert len(theirs) >= 2, "the history has a voter who voted more than once"
    got = await paged_by_cursor(stub.GetVoter, pb.GetVoterRequest(address=keen, limit=1), "votes")
    assert [v.proposal_id for v in got] == theirs
    # not base64 / one field / not numbers / a block beyond 64 bits
    for bad in ("%%%", "MQ==", "eDox", "OTk5OTk5OTk5OTk5OTk5OTk5OTk6MQ=="):
        for call, request in (
            (stub.GetVotes, pb.GetVotesRequest(proposal_id=busiest, cursor=bad)),
            (stub.GetVoter, pb.GetVoterRequest(address=keen, cursor=bad)),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(request)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
            assert "cursor" in (info.value.details() or "")


def states_now(listed: pb.ListProposalsResponse, state: str) -> int:
    return sum(1 for p in listed.proposals if p.state == state)


async def test_reorgs_during_voting_leave_no_trace(devnet, endpoints, mysql_url):
    async with pipeline(devnet, endpoints, mysql_url) as (_app, stub, settle, last, _):
        await settle("initial catch-up")
        for depth in (2, 5, 9):
            await devnet.sim.resync()
            await devnet.sim.run(blocks=12)  # proposals open, votes land
            await settle(f"settle before reorg {depth}")
            listed = await stub.ListProposals(pb.ListProposalsRequest(state="Active"))
            assert listed.total > 0, "a reorg during voting needs an active proposal"
            await force_reorg(devnet.rpc, devnet.manifest, depth, seed=300 + depth)
            await devnet.sim.resync()
            await devnet.sim.run(blocks=2)
            await settle(f"no drift after reorg {depth}")
        assert last[0].ok
