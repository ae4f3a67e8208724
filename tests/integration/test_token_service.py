"""Token service end to end on the real stack: simulator -> anvil -> block sync -> tansu ->
token service (MariaDB, Redis) -> gRPC, compared with the chain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass

import grpc
import pytest

from block_sync_service.bootstrap import BlockSyncApp
from common.db import migrate
from common.infrastructure.redis_cache import RedisCache
from common.metrics import isolated_registry
from nova import stack
from nova.devnet import artifacts
from nova.devnet.reorg import force_reorg
from novapb.token.v1 import token_pb2 as pb
from novapb.token.v1 import token_pb2_grpc as pb_grpc
from tests.chain_helpers import (
    DELEGATION,
    Devnet,
    beside_sync,
    last_event_block,
    make_devnet,
    wait_for,
)
from tests.integration.test_block_sync import settings_for
from tests.names import cache_prefix
from token_service.bootstrap import TokenApp
from token_service.bootstrap import bootstrap as token_bootstrap
from token_service.infrastructure.verify import verify_token
from token_service.settings import TokenSettings

TOK = artifacts.load("NovaToken").abi
REPO = stack.REPO_ROOT


@pytest.fixture(scope="module")
async def devnet(anvil_url: str, tmp_path_factory: pytest.TempPathFactory):
    net = await make_devnet(anvil_url, tmp_path_factory.mktemp("devnet"), seed=51, events_=5000)
    yield net
    await net.rpc.close()


@dataclass
class Pipeline:
    net: Devnet
    sync: BlockSyncApp
    token: TokenApp
    stub: pb_grpc.TokenServiceStub

    async def last_token_block(self) -> int:
        head = await self.net.chain.block_number()
        token = self.net.manifest.address("NovaToken")
        return await last_event_block(
            self.net.rpc, token, max(0, head - 200), head, skip=DELEGATION
        )

    async def settled(self) -> bool:
        """Caught up with the chain's last token event, and no drift."""
        target = await self.last_token_block()
        stats = await self.token.views.stats()
        if stats.last_block < target:
            return False
        drift = await verify_token(
            self.token.views, self.net.rpc, self.net.manifest.address("NovaToken"), TOK
        )
        return drift.ok

    async def chain_transfers(self, holder: str | None) -> list[tuple[int, int]]:
        """The chain's Transfer logs (of ``holder``, either way) by position, newest first."""
        token = self.net.manifest.address("NovaToken")
        topic = TOK.events["Transfer"].topic0
        queries: list[list[str | None]] = [[topic]]
        if holder:
            padded = "0x" + "00" * 12 + holder[2:].lower()
            queries = [[topic, padded], [topic, None, padded]]
        found = [
            (int(x["blockNumber"], 16), int(x["logIndex"], 16))
            for q in queries
            for x in await self.net.rpc.call(
                "eth_getLogs", {"address": token, "fromBlock": "0x0", "topics": q}
            )
        ]
        return sorted(set(found), reverse=True)

    async def assert_totals_equal_the_chain(self) -> None:
        """Transfer totals (kept as counts beside the rows) == the chain's Transfer logs."""
        for holder in [None, *random.Random(5).sample(self.net.sim.holders, 3)]:
            page = await self.stub.GetTransfers(pb.GetTransfersRequest(address=holder, limit=1))
            assert page.total == len(await self.chain_transfers(holder)), holder


@contextlib.asynccontextmanager
async def pipeline(
    net: Devnet,
    endpoints: stack.Endpoints,
    db_url: str,
    redis_url: str | None = None,
    consume: bool = True,
):
    sync_settings = settings_for(net, endpoints, db_url, reorg_window=64)
    migrate(db_url)
    token_settings = TokenSettings(
        database_url=db_url,
        kafka_bootstrap_servers=endpoints.kafka_bootstrap,
        kafka_topic_prefix=sync_settings.kafka_topic_prefix,
        manifest=net.manifest_path,
        rpc_urls=net.rpc.url,
        grpc_port=0,
        cache_ttl_s=60,
    )
    cache = RedisCache(redis_url or endpoints.redis_url, prefix=cache_prefix(), timeout_s=0.2)
    async with contextlib.AsyncExitStack() as down:
        token = token_bootstrap(token_settings, cache=cache, registry=isolated_registry())
        sync, channel = await beside_sync(down, sync_settings, token, consume)
        yield Pipeline(net, sync, token, pb_grpc.TokenServiceStub(channel))


async def test_balances_supply_and_transfers_equal_the_chain(devnet, endpoints, mysql_url):
    async with pipeline(devnet, endpoints, mysql_url) as p:
        await wait_for(p.settled, "token state to equal the chain", 120)
        token = devnet.manifest.address("NovaToken")
        # every holder through the gRPC (cached) path
        for holder in devnet.sim.holders[:10]:
            reply = await p.stub.GetBalance(pb.GetBalanceRequest(address=holder.lower()))
            chain = TOK.decode_result(
                "balanceOf", await devnet.chain.call(token, TOK.encode_call("balanceOf", holder))
            )
            assert int(reply.balance) == chain
        supply = await p.stub.GetTotalSupply(pb.GetTotalSupplyRequest())
        chain_supply = TOK.decode_result(
            "totalSupply", await devnet.chain.call(token, TOK.encode_call("totalSupply"))
        )
        assert int(supply.total_supply) == chain_supply
        # transfers of sampled addresses == the chain's Transfer logs, newest first, all pages
        for holder in random.Random(3).sample(devnet.sim.holders, 3):
            chain_ids = await p.chain_transfers(holder)
            listed, cursor = [], ""
            while True:
                page = await p.stub.GetTransfers(
                    pb.GetTransfersRequest(address=holder, limit=7, cursor=cursor)
                )
                listed += [(t.block_number, t.log_index) for t in page.transfers]
                if not page.next_cursor:
                    break
                cursor = page.next_cursor
            assert listed == chain_ids
            assert page.total == len(chain_ids) and not page.total_capped
        # every holder, paged by cursor: the chain's balanceOf for each, none missing
        listed, cursor = [], ""
        for _ in range(100):
            holders = await p.stub.GetHolders(pb.GetHoldersRequest(limit=5, cursor=cursor))
            listed += [(h.address, int(h.balance)) for h in holders.holders]
            if not holders.next_cursor:
                break
            cursor = holders.next_cursor
        balances = [b for _, b in listed]
        assert balances == sorted(balances, reverse=True) and 0 not in balances
        assert holders.total == len(listed) == len(dict(listed)) >= len(devnet.sim.holders) // 2
        at = holders.block_number  # the head the pages were read at (settled: the chain's)
        assert at == await devnet.chain.block_number()
        for address, balance in listed:
            assert balance == TOK.decode_result(
                "balanceOf",
                await devnet.chain.call(token, TOK.encode_call("balanceOf", address), at),
            )
        info = await p.stub.GetTokenInfo(pb.GetTokenInfoRequest())
        assert (info.symbol, info.decimals, info.address) == ("NOVA", 18, token)
        assert int(info.total_supply) == chain_supply
        unknown = await p.stub.GetBalance(pb.GetBalanceRequest(address="0x" + "42" * 20))
        assert unknown.balance == "0"
        # the verifier as a gRPC check (and its metric)
        check = await p.stub.Verify(pb.VerifyRequest())
        assert check.ok and check.checked > 0 and list(check.drifts) == []
        assert check.block == (await p.token.views.stats()).last_block
        with pytest.raises(grpc.aio.AioRpcError) as info_:
            await p.stub.Verify(pb.VerifyRequest(block=check.block + 10_000))
        assert info_.value.code() == grpc.StatusCode.OUT_OF_RANGE

        # allowances: the chain's for every pair the traffic approved (transferFrom spends
        # them without an event): from the index while it knows them, else from the chain
        sources = []
        for (owner, spender), value in sorted(devnet.sim.allowances.items()):
            got = await p.stub.GetAllowance(pb.GetAllowanceRequest(owner=owner, spender=spender))
            assert (int(got.allowance), got.exact) == (value, True), (owner, spender, got)
            assert got.approved_at_block > 0
            sources.append(got.source)
        assert sources.count("chain") > 0 and sources.count("indexed") > 0, sources
        # each owner's list, by cursor: every pair the traffic left above 0 is in it, with
        # the chain's value (a stake spent its approval to 0: still listed, at 0)
        for who in sorted({o for o, _ in devnet.sim.allowances})[:12]:
            allowed: dict[str, tuple[int, bool]] = {}
            cursor = ""
            for _ in range(50):
                page = await p.stub.ListAllowances(
                    pb.ListAllowancesRequest(owner=who, limit=3, cursor=cursor)
                )
                allowed |= {a.spender: (int(a.allowance), a.exact) for a in page.allowances}
                if not page.next_cursor:
                    break
                cursor = page.next_cursor
            model = {s: v for (o, s), v in devnet.sim.allowances.items() if o == who}
            assert {s for s, v in model.items() if v} <= set(allowed) <= set(model), who
            assert page.total == len(allowed)
            assert all(allowed[s] == (model[s], True) for s in allowed), (who, allowed, model)
        on_chain = await p.stub.GetAllowance(
            pb.GetAllowanceRequest(owner=owner, spender=spender, on_chain=True)
        )
        assert (on_chain.source, int(on_chain.allowance)) == ("chain", value)
        drift = await p.token.verify(None)  # every pair the index answers as exact is checked
        assert drift.ok and drift.allowances > 0 and drift.allowances_spent > 0, drift.lines()
        for request, field in [
            (pb.GetBalanceRequest(address="0x123"), "address"),
            (pb.GetBalanceRequest(address="0x" + "aB" * 20), "checksum"),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as info_:
                await p.stub.GetBalance(request)
            assert info_.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field in (info_.value.details() or "")
        for bad in [
            pb.GetTransfersRequest(limit=-1),
            pb.GetTransfersRequest(cursor="%%%"),
            pb.GetTransfersRequest(direction=pb.DIRECTION_IN),
            pb.GetTransfersRequest(limit=100_000),
            pb.GetTransfersRequest(offset=10_001),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as info_:
                await p.stub.GetTransfers(bad)
            assert info_.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        # an empty block moves the index's head (the sync's progress markers): a cached
        # balance is answered at the new block, and the verifier's default block follows
        holder = devnet.sim.holders[0]
        cached = await p.stub.GetBalance(pb.GetBalanceRequest(address=holder))
        await devnet.chain.mine()
        head = await devnet.chain.block_number()
        assert cached.block_number < head

        async def at_head() -> bool:
            reply = await p.stub.GetBalance(pb.GetBalanceRequest(address=holder))
            return reply.block_number == head and reply.balance == cached.balance

        await wait_for(at_head, "the balance answered at the new head", 30)  # TTL 60 s
        assert (await p.stub.GetTotalSupply(pb.GetTotalSupplyRequest())).block_number == head
        assert (await p.stub.Verify(pb.VerifyRequest())).block == head


async def test_reorgs_during_traffic_leave_state_equal_to_the_chain(devnet, endpoints, mysql_url):
    async with pipeline(devnet, endpoints, mysql_url) as p:
        await devnet.sim.resync()
        await devnet.sim.run(blocks=22)
        for depth in (1, 4, 20):
            await wait_for(p.settled, f"settle before reorg {depth}", 120)
            await force_reorg(devnet.rpc, devnet.manifest, depth, seed=100 + depth)
            await devnet.sim.resync()
            await devnet.sim.run(blocks=2)
            await wait_for(p.settled, f"state equal to the chain after reorg {depth}", 120)
            await p.assert_totals_equal_the_chain()
        assert p.sync.syncer.status.reorgs_total >= 3


async def test_killed_consumer_and_redelivery_count_everything_once(
    devnet, endpoints, mysql_url, tmp_path
):
    """SIGKILL `nova serve token` 20 times at random moments while traffic flows (mid-batch,
    between commits), restart it each time; then replay consumed records into the topic."""
    rng = random.Random(20261124)
    async with pipeline(devnet, endpoints, mysql_url, consume=False) as p:
        env = {
            **os.environ,
            "NOVA_DATABASE_URL": mysql_url,
            "NOVA_KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
            "NOVA_KAFKA_TOPIC_PREFIX": p.sync.settings.kafka_topic_prefix,
            "NOVA_MANIFEST": str(devnet.manifest_path),
            "NOVA_GRPC_PORT": "0",
            "NOVA_CONSUMER_BATCH": "50",  # many small transactions: more places to die in
        }
        log = tmp_path / "token.log"

        def spawn() -> subprocess.Popen[bytes]:
            with open(log, "ab") as fh:
                return subprocess.Popen(
                    [sys.executable, "-m", "nova.cli", "serve", "token"],
                    env=env,
                    cwd=REPO,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                )

        await devnet.sim.resync()
        proc = spawn()
        try:
            kills = 0
            for _ in range(20):
                await devnet.sim.run(blocks=1)
                before = (await p.token.views.stats()).last_block

                async def moving(b: int = before) -> bool:
                    return (await p.token.views.stats()).last_block > b

                with contextlib.suppress(AssertionError):  # it may already be ahead
                    await wait_for(moving, "the consumer to apply something", 20, 0.02)
                await asyncio.sleep(rng.random() * 0.2)  # a random kill point, not a settle wait
                proc.kill()
                proc.wait(10)
                kills += 1
                proc = spawn()
            assert kills == 20
            # redelivery: replay already-consumed records into the topic
            topic = f"{p.sync.settings.kafka_topic_prefix}token"
            reader = await p.token.bus.consumer(topic)
            await reader.seek(0, 0)
            old = await reader.fetch(300, timeout_s=2)
            await reader.close()
            assert old
            await p.token.bus.publish(topic, [(r.key or b"", r.value) for r in old])
            await devnet.sim.run(blocks=2)
            await wait_for(p.settled, "state equal to the chain after kills and replays", 120)
            await p.assert_totals_equal_the_chain()
        finally:
            proc.terminate()
            assert proc.wait(20) == 0, "SIGTERM must stop `nova serve token` cleanly"
        assert "CONSUMER STOPPED" not in log.read_text()


@contextlib.contextmanager
def private_redis(port: int):
    proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        stack.wait_until(lambda: stack._redis_ready(port), "private redis", 10, proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


async def test_reads_survive_redis_outage_and_cache_is_never_stale(devnet, endpoints, mysql_url):
    port = stack.free_port()
    with private_redis(port) as redis_proc:
        async with pipeline(devnet, endpoints, mysql_url, f"redis://127.0.0.1:{port}/0") as p:
            await wait_for(p.settled, "catch-up", 120)
            cache = p.token.cache
            holder = devnet.sim.holders[0]
            first = await p.stub.GetBalance(pb.GetBalanceRequest(address=holder))
            again = await p.stub.GetBalance(pb.GetBalanceRequest(address=holder))
            assert first.balance == again.balance
            assert cache.hits >= 1
            # a change invalidates the cached balance before the next read sees it
            await devnet.sim.resync()
            src = max(devnet.sim.holders[1:], key=lambda h: devnet.sim.balances.get(h, 0))
            await devnet.sim._commit([_transfer(devnet, src, holder, 12345)])
            await wait_for(p.settled, "the transfer to be applied", 60)
            fresh = await p.stub.GetBalance(pb.GetBalanceRequest(address=holder))
            assert int(fresh.balance) == devnet.sim.balances[holder]
            assert fresh.balance != first.balance
            # Redis down: reads still answer, from MariaDB
            redis_proc.terminate()
            redis_proc.wait(10)
            errors = cache.errors
            down = await p.stub.GetBalance(pb.GetBalanceRequest(address=holder))
            assert down.balance == fresh.balance
            assert cache.errors > errors
            supply = await p.stub.GetTotalSupply(pb.GetTotalSupplyRequest())
            assert int(supply.total_supply) == devnet.sim.supply
            # Redis back on the same port: the cache is used again
            with private_redis(port):
                hits = cache.hits
                for _ in range(3):
                    back = await p.stub.GetBalance(pb.GetBalanceRequest(address=holder))
                    assert back.balance == fresh.balance
                assert cache.hits > hits


def _transfer(net: Devnet, src: str, dst: str, amount: int):
    from nova.devnet.chain import Tx

    net.sim._move(src, dst, amount)
    return Tx(
        src,
        net.manifest.address("NovaToken"),
        TOK.encode_call("transfer", dst, amount),
        200_000,
        f"test transfer {amount}",
    )
