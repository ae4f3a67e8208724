"""The governor moves to another timelock (``updateTimelock``) and back, on the real stack
(anvil -> block sync -> tansu -> MariaDB): GovernorTimelockControl's ``state()`` asks the
governor's timelock at the time, so a proposal queued on the former one reads Canceled, also
one executed there directly, until the governor moves back; the index says the same at the
head and at past blocks, and its state filter agrees."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import pytest
from eth_utils.crypto import keccak

from block_sync_service.bootstrap import TrackedSet
from block_sync_service.bootstrap import bootstrap as sync_bootstrap
from block_sync_service.infrastructure.store import SqlAlchemySyncStore
from block_sync_service.infrastructure.verify import verify_archive, verify_sync
from common.abi import checksum
from common.db import create_engine
from common.metrics import isolated_registry
from nova import stack
from nova.devnet import artifacts
from nova.devnet.chain import Tx
from nova.devnet.reorg import force_reorg
from novapb.block_sync.v1 import block_sync_pb2 as sync_pb
from novapb.block_sync.v1 import block_sync_pb2_grpc as sync_grpc
from novapb.governance.v1 import governance_pb2 as pb
from tests.chain_helpers import Devnet, channel_to, make_devnet, wait_for
from tests.integration.test_governance_service import pipeline

GOV = artifacts.load("NovaGovernor").abi
TOK = artifacts.load("NovaToken").abi
TL = artifacts.load("NovaTimelock").abi
ZERO = "0x" + "00" * 20
GAS = 2_000_000
TOKEN = 10**18


class Governance:
    """Drives proposals through the governor: one voter holding all but a sliver of the
    votes, every proposal voted for, queued and (when asked) executed."""

    def __init__(self, net: Devnet) -> None:
        self.chain = net.chain
        self.governor = net.manifest.address("NovaGovernor")
        self.voter = net.manifest.deployer
        self.actions: dict[int, tuple[list[str], list[int], list[bytes], bytes]] = {}

    async def propose(self, *proposals: tuple[str, str, str]) -> list[int]:
        """(target, calldata, description) each: proposed in one block, voted for, and
        queued once their vote ended; their ids."""
        pids, txs = [], []
        for target, data, desc in proposals:
            args = ([target], [0], [bytes.fromhex(data.removeprefix("0x"))], keccak(text=desc))
            out = await self.chain.call(self.governor, GOV.encode_call("hashProposal", *args))
            pid = int(GOV.decode_result("hashProposal", out))
            self.actions[pid] = args
            pids.append(pid)
            txs.append(
                Tx(
                    self.voter,
                    self.governor,
                    GOV.encode_call("propose", *args[:3], desc),
                    GAS,
                    f"propose {desc}",
                )
            )
        await self.chain.transact(txs)
        await self.blocks(2)  # the voting delay is a block
        await self.chain.transact(
            [
                Tx(self.voter, self.governor, GOV.encode_call("castVote", p, 1), GAS, f"vote {p}")
                for p in pids
            ]
        )
        await self.blocks(21)  # the voting period is 20 blocks
        await self.chain.transact(
            [
                Tx(
                    self.voter,
                    self.governor,
                    GOV.encode_call("queue", *self.actions[p]),
                    GAS,
                    f"queue {p}",
                )
                for p in pids
            ]
        )
        return pids

    async def blocks(self, n: int) -> None:
        for _ in range(n):
            await self.chain.mine()

    async def after_delay(self, txs: Sequence[Tx]) -> None:
        """Mine ``txs`` once the timelock delay (60 s) has passed."""
        now = int((await self.chain.block())["timestamp"], 16)
        await self.chain.transact(txs, timestamp=now + 61)

    def execute(self, pid: int) -> Tx:
        return Tx(
            self.voter, self.governor, GOV.encode_call("execute", *self.actions[pid]), GAS, "exec"
        )

    def execute_on(self, timelock: str, pid: int) -> Tx:
        """Executed on the timelock directly (its executor role is open): no governor event."""
        targets, values, calldatas, description = self.actions[pid]
        salt = bytes(
            a ^ b
            for a, b in zip(bytes.fromhex(self.governor[2:]) + bytes(12), description, strict=True)
        )
        data = TL.encode_call("executeBatch", targets, values, calldatas, bytes(32), salt)
        return Tx(self.voter, timelock, data, GAS, f"execute {pid} on {timelock}")

    async def state(self, pid: int, block: int | str = "latest") -> str:
        out = await self.chain.call(self.governor, GOV.encode_call("state", pid), block)
        return ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired",
                "Executed"][int(GOV.decode_result("state", out))]  # fmt: skip


async def _states(stub: Any, pids: Sequence[int], at: int = 0) -> list[str]:
    out = []
    for pid in pids:
        got = await stub.GetProposal(pb.GetProposalRequest(id=str(pid), at_block=at))
        out.append(got.proposal.state)
    return out


@pytest.fixture
async def devnet(anvil_url: str, tmp_path_factory: pytest.TempPathFactory):
    net = await make_devnet(anvil_url, tmp_path_factory.mktemp("devnet"), seed=17)  # new contracts
    yield net
    await net.rpc.close()


@pytest.fixture(params=["mysql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    """MariaDB, and SQLite as the embedded dev mode stores the index."""
    return str(request.getfixturevalue(f"{request.param}_url"))


async def test_proposals_follow_the_governor_to_another_timelock_and_back(
    devnet: Devnet, endpoints: stack.Endpoints, db_url: str
) -> None:
    chain, m = devnet.chain, devnet.manifest
    gov = Governance(devnet)
    token, t0, me = m.address("NovaToken"), m.address("NovaTimelock"), gov.voter
    art = artifacts.load("NovaTimelock")
    # a second timelock, the governor its proposer (and canceller); and votes for the voter
    deployed = await chain.transact(
        [
            Tx(
                me,
                None,
                art.abi.encode_constructor(art.bytecode, 60, [gov.governor], [ZERO], ZERO),
                12_000_000,
                "deploy a second timelock",
            ),
            Tx(me, token, TOK.encode_call("mint", me, 500_000_000 * TOKEN), GAS, "mint"),
            Tx(me, token, TOK.encode_call("delegate", me), GAS, "delegate"),
        ]
    )
    t1 = checksum(deployed[0]["contractAddress"])
    noop = (me, "0x")  # a call to an account: nothing happens, and it succeeds
    async with pipeline(devnet, endpoints, db_url) as (_, stub, settle, last, sync):
        # on t0: one left queued, one executed on t0 directly, one moving the governor to t1
        left, direct, move = await gov.propose(
            (*noop, "left queued on t0"),
            (*noop, "executed on t0 directly"),
            (gov.governor, GOV.encode_call("updateTimelock", t1), "move to t1"),
        )
        await gov.after_delay([gov.execute_on(t0, direct)])
        before_move = await chain.block_number()
        await settle("queued on t0")
        assert await _states(stub, [left, direct, move]) == ["Queued", "Executed", "Queued"]
        await gov.after_delay([gov.execute(move)])
        await settle("the governor on t1, on a fork about to be orphaned")
        assert await _states(stub, [left, direct, move]) == ["Canceled", "Canceled", "Executed"]
        # a reorg orphans the move (anvil drops its transaction): the governor is on t0 again,
        # and the sync stops following t1
        await force_reorg(devnet.rpc, m, 1, seed=3)
        chain.forget_nonces()
        await settle("the move orphaned")
        assert sync.syncer.status.followed == []
        assert await _states(stub, [left, direct, move]) == ["Queued", "Executed", "Queued"]
        await gov.after_delay([gov.execute(move)])  # executed again, on the new fork
        on_t1 = await chain.block_number()
        await settle("the governor on t1")  # every proposal's state() at the head
        assert await _states(stub, [left, direct, move]) == ["Canceled", "Canceled", "Executed"]
        async with contextlib.AsyncExitStack() as down:  # as GET /api/v1/sync/status reads it
            stub_s = sync_grpc.BlockSyncServiceStub(await channel_to(down, sync))
            status = await stub_s.GetSyncStatus(sync_pb.GetSyncStatusRequest())
        assert [(f.name, f.address, f.from_block) for f in status.followed] == [
            ("NovaTimelock", t1, on_t1)
        ]
        # on t1: one left queued, one executed on t1 directly (the sync follows t1 since the
        # governor named it), one moving the governor back to t0
        left_t1, direct_t1, back = await gov.propose(
            (*noop, "left queued on t1"),
            (*noop, "executed on t1 directly"),
            (gov.governor, GOV.encode_call("updateTimelock", t0), "back to t0"),
        )
        await settle("queued on t1")
        assert await _states(stub, [left, left_t1, back]) == ["Canceled", "Queued", "Queued"]
        await gov.after_delay([gov.execute_on(t1, direct_t1)])
        await settle("executed on t1 directly")
        assert await _states(stub, [left_t1, direct_t1]) == ["Queued", "Executed"]
        await gov.after_delay([gov.execute(back)])
        await settle("the governor back on t0")
        head = await chain.block_number()
        pids = [left, direct, move, left_t1, direct_t1, back]
        assert await _states(stub, pids) == [
            "Queued",  # t0 still has it pending
            "Executed",  # t0 did it
            "Executed",
            "Canceled",  # t1 has it, and the governor asks t0
            "Canceled",  # t1 did it, and the governor asks t0
            "Executed",
        ]
        assert last[0].proposals == 6 and last[0].ok and last[0].timelock_checked
        # each names the timelock it was queued on
        queued_on = [
            (await stub.GetProposal(pb.GetProposalRequest(id=str(p)))).proposal.timelock
            for p in pids
        ]
        assert queued_on == [t0, t0, t0, t1, t1, t1]
        # as of past blocks: what state() said then (on t0 before the move, on t1, and on t1
        # with both of its proposals queued, the block before the move back)
        for block, ids in ((before_move, pids[:3]), (on_t1, pids[:3]), (head - 1, pids)):
            want = [await gov.state(p, block) for p in ids]
            assert await _states(stub, ids, block) == want, block
        # the state filter lists what the unfiltered list says (every proposal a candidate)
        listed = await stub.ListProposals(pb.ListProposalsRequest(limit=100))
        for name in ("Queued", "Executed", "Canceled"):
            only = await stub.ListProposals(pb.ListProposalsRequest(state=name, limit=100))
            want = [x.id for x in listed.proposals if x.state == name]
            assert [x.id for x in only.proposals] == want and only.total == len(want), name
        # the raw log archive too (its archiver lags: waited for), with t1's logs from the move
        assert sync.archive is not None
        archived: list[Any] = []

        async def archive_is_the_chains() -> bool:
            found = await verify_archive(
                sync.archive,
                devnet.rpc,
                [m.address(n) for n in m.contracts],
                m.start_block,
                head,
                follows=sync.tracked.follows,
            )
            archived[:] = [found]
            return found.ok

        await wait_for(archive_is_the_chains, "the archive", 60)
        live = await sync.archive.count({"removed": False})
        assert archived[0].logs == live > 0 and archived[0].removed > 0  # the orphaned move
    # what the sync stored is the chain's: t1's logs from the block the governor named it on
    tracked = TrackedSet({name: m.address(name) for name in m.contracts}, m.start_block, m.chain_id)
    engine = create_engine(db_url)
    try:
        store = SqlAlchemySyncStore(engine, m.chain_id)
        addresses = list(tracked.addresses.values())
        drift = await verify_sync(
            store, devnet.rpc, addresses, m.start_block, head, follows=tracked.follows
        )
        assert drift.ok and drift.logs > 0, drift.lines()
        assert drift.followed == {t1.lower(): on_t1}
        assert f"following {t1.lower()} from block {on_t1}" in drift.lines()[0]
        stored_t1 = await store.get_logs([t1], m.start_block, head)
        # from its first log after the move (its deployment's, before, are not tracked)
        assert stored_t1.rows and min(r["block_number"] for r in stored_t1.rows) > on_t1
        # without following, t1's stored logs are not the chain's tracked logs
        unfollowed = await verify_sync(
            store, devnet.rpc, addresses, m.start_block, head, follows=[]
        )
        assert not unfollowed.ok
    finally:
        await engine.dispose()
    # a restarted sync follows t1 from the stored event (it reads it at open)
    again = sync_bootstrap(sync.settings, registry=isolated_registry())
    try:
        await again.start()
        assert again.syncer is not None
        await again.syncer.open()
        assert again.syncer.status.followed == [("NovaTimelock", t1.lower(), on_t1)]
    finally:
        await again.close()
