"""Staking service end to end on the real stack, compared with NovaStaking's own views."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys

import grpc
import pytest
import sqlalchemy as sa

from common.db import migrate
from common.infrastructure.redis_cache import RedisCache
from common.metrics import isolated_registry
from nova import stack
from nova.devnet import artifacts
from nova.devnet.reorg import force_reorg
from novapb.staking.v1 import staking_pb2 as pb
from novapb.staking.v1 import staking_pb2_grpc as pb_grpc
from staking_service.bootstrap import bootstrap as staking_bootstrap
from staking_service.infrastructure.sql import stats_t, user_totals_t
from staking_service.infrastructure.verify import verify_staking
from staking_service.settings import StakingSettings
from tests.chain_helpers import Devnet, beside_sync, make_devnet, paged_by_cursor, wait_for
from tests.integration.test_block_sync import settings_for
from tests.names import cache_prefix

STK = artifacts.load("NovaStaking").abi


@pytest.fixture(scope="module")
async def devnet(anvil_url: str, tmp_path_factory: pytest.TempPathFactory):
    net = await make_devnet(
        anvil_url, tmp_path_factory.mktemp("devnet"), seed=61, blocks=90, txs_per_block=12
    )
    yield net
    await net.rpc.close()


@contextlib.asynccontextmanager
async def pipeline(net: Devnet, endpoints: stack.Endpoints, db_url: str, consume: bool = True):
    sync_settings = settings_for(net, endpoints, db_url, reorg_window=64)
    migrate(db_url)
    settings = StakingSettings(
        database_url=db_url,
        kafka_bootstrap_servers=endpoints.kafka_bootstrap,
        kafka_topic_prefix=sync_settings.kafka_topic_prefix,
        manifest=net.manifest_path,
        rpc_urls=net.rpc.url,
        grpc_port=0,
    )
    cache = RedisCache(endpoints.redis_url, prefix=cache_prefix())

    async def settled() -> bool:
        head = await net.chain.block_number()
        logs = await net.rpc.call(
            "eth_getLogs",
            {
                "address": net.manifest.address("NovaStaking"),
                "fromBlock": "0x0",
                "toBlock": hex(head),
            },
        )
        target = max(int(x["blockNumber"], 16) for x in logs)
        stats = await app.views.stats()
        # above the last event after a revert to a later ancestor; a pending revert shows as drift
        if stats.last_block < target or sync.syncer.status.synced < head:
            return False
        drift = await verify_staking(
            app.views, net.rpc, net.manifest.address("NovaStaking"), STK, app.reward_rate, head
        )
        return drift.ok

    async with contextlib.AsyncExitStack() as down:
        app = staking_bootstrap(settings, cache=cache, registry=isolated_registry())
        sync, channel = await beside_sync(down, sync_settings, app, consume)
        yield app, pb_grpc.StakingServiceStub(channel), settled, sync_settings


async def test_stakes_totals_and_rewards_equal_the_contract(devnet, endpoints, mysql_url):
    async with pipeline(devnet, endpoints, mysql_url) as (app, stub, settled, _):
        await wait_for(settled, "staking state to equal the contract", 120)
        head = await devnet.chain.block_number()
        staking = devnet.manifest.address("NovaStaking")
        total = await stub.GetTotalStaked(pb.GetTotalStakedRequest())
        chain_total = STK.decode_result(
            "totalStaked", await devnet.chain.call(staking, STK.encode_call("totalStaked"))
        )
        assert int(total.total_staked) == chain_total > 0
        active = await stub.GetActiveStakes(pb.GetActiveStakesRequest(limit=1000))
        assert active.total == total.active_stakes == len(active.stakes) > 0  # the rows
        sample = active.stakes[0]
        mine = await stub.GetActiveStakes(pb.GetActiveStakesRequest(user=sample.user, limit=1))
        assert mine.total == sum(s.user == sample.user for s in active.stakes)
        at = await stub.CalculateRewards(
            pb.CalculateRewardsRequest(stake_id=sample.id, at_block=head)
        )
        chain_owed = STK.decode_result(
            "pendingRewards",
            await devnet.chain.call(
                staking, STK.encode_call("pendingRewards", int(sample.id)), head
            ),
        )
        assert int(at.rewards) == chain_owed
        assert any(int(s.rewards) > 0 for s in active.stakes), "time travel accrued rewards"
        user = sample.user
        totals = await stub.GetUserTotals(pb.GetUserTotalsRequest(user=user))
        staked_of = STK.decode_result(
            "stakedOf", await devnet.chain.call(staking, STK.encode_call("stakedOf", user))
        )
        assert int(totals.total_staked) == staked_of
        assert totals.block_number == head  # the indexed head they are the totals at
        claims = await stub.GetRewardClaims(pb.GetRewardClaimsRequest(user=user, limit=5))
        assert claims.total >= len(claims.claims)
        await _pages_by_cursor_equal_the_chain(stub, devnet, active.stakes)
        # the stored latest claim time (what stake claim times follow from) is checked too
        async with app.engine.begin() as conn:
            await conn.execute(
                sa.update(user_totals_t)
                .where(user_totals_t.c.user == user)
                .values(last_claim_time=user_totals_t.c.last_claim_time + 1)
            )
        drift = await verify_staking(app.views, devnet.rpc, staking, STK, app.reward_rate, head)
        assert any(f"totals of {user.lower()}" in d for d in drift.drifts), drift.drifts
        async with app.engine.begin() as conn:
            await conn.execute(
                sa.update(user_totals_t)
                .where(user_totals_t.c.user == user)
                .values(last_claim_time=user_totals_t.c.last_claim_time - 1)
            )
        # and the count of active stakes kept beside them (/staking/totals serves it)
        async with app.engine.begin() as conn:
            await conn.execute(sa.update(stats_t).values(active_stakes=stats_t.c.active_stakes + 1))
        drift = await verify_staking(app.views, devnet.rpc, staking, STK, app.reward_rate, head)
        assert any(d.startswith("active stakes: ") for d in drift.drifts), drift.drifts
        async with app.engine.begin() as conn:
            await conn.execute(sa.update(stats_t).values(active_stakes=stats_t.c.active_stakes - 1))
        unstaked = next(
            i for i in range(1, devnet.sim.next_stake_id) if not devnet.sim.stakes[i].active
        )
        gone = await stub.GetStake(pb.GetStakeRequest(id=str(unstaked)))
        assert gone.stake.status == "unstaked"
        assert gone.stake.end_time > 0
        assert gone.stake.rewards == "0"
        for call, request, code in [
            (stub.GetStake, pb.GetStakeRequest(id="999999"), grpc.StatusCode.NOT_FOUND),
            (stub.GetStake, pb.GetStakeRequest(id="abc"), grpc.StatusCode.INVALID_ARGUMENT),
            (
                stub.GetActiveStakes,
                pb.GetActiveStakesRequest(user="0xzz"),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                stub.CalculateRewards,
                pb.CalculateRewardsRequest(stake_id="1", at_block=1, at_timestamp=5),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                stub.GetRewardClaims,
                pb.GetRewardClaimsRequest(user=user, offset=-1),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
            (
                stub.GetActiveStakes,
                pb.GetActiveStakesRequest(offset=10_001),
                grpc.StatusCode.INVALID_ARGUMENT,
            ),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(request)
            assert info.value.code() == code
        await _rewards_follow_the_head(devnet, stub, sample, staking)


async def _rewards_follow_the_head(net: Devnet, stub, sample: pb.Stake, staking: str) -> None:
    """Blocks without a staking event still move the index's head (the sync's progress
    markers): rewards owed are served at the head's time, as the contract's view says."""
    before = await stub.CalculateRewards(pb.CalculateRewardsRequest(stake_id=sample.id))
    later = int((await net.chain.block())["timestamp"], 16) + 3 * 3600 + 5
    await net.chain.mine(later)
    await net.chain.mine(later + 1)
    head = await net.chain.block_number()

    async def at_head() -> bool:
        return (await stub.GetTotalStaked(pb.GetTotalStakedRequest())).block_number == head

    await wait_for(at_head, "the staking index to follow the head", 60)
    owed = STK.decode_result(
        "pendingRewards",
        await net.chain.call(staking, STK.encode_call("pendingRewards", int(sample.id)), head),
    )
    stake = (await stub.GetStake(pb.GetStakeRequest(id=sample.id))).stake
    assert int(stake.rewards) == owed > int(before.rewards)
    now = await stub.CalculateRewards(pb.CalculateRewardsRequest(stake_id=sample.id))
    assert (now.at_timestamp, int(now.rewards)) == (later + 1, owed)


async def _pages_by_cursor_equal_the_chain(stub, net: Devnet, active: list[pb.Stake]) -> None:
    """Active stakes and claims paged by cursor at sizes that split them unevenly: the
    whole list in its order, no stake or claim twice or missing, the claims each a
    RewardsClaimed of the chain."""
    for size in (1, 3, 7):
        paged = await paged_by_cursor(
            stub.GetActiveStakes, pb.GetActiveStakesRequest(limit=size), "stakes"
        )
        assert [s.id for s in paged] == [s.id for s in active]
    assert [int(s.id) for s in active] == sorted(int(s.id) for s in active)
    user = max({s.user for s in active}, key=[s.user for s in active].count)
    mine = await paged_by_cursor(
        stub.GetActiveStakes, pb.GetActiveStakesRequest(user=user, limit=2), "stakes"
    )
    assert [s.id for s in mine] == [s.id for s in active if s.user == user]

    event = STK.events["RewardsClaimed"]
    staking = net.manifest.address("NovaStaking")
    logs = await net.rpc.call(
        "eth_getLogs", {"address": staking, "fromBlock": "0x0", "topics": [event.topic0]}
    )
    by_user: dict[str, list[tuple[int, str]]] = {}
    for lg in logs:
        claimer = event.decode(lg["topics"], lg["data"])["user"].lower()
        claim_id = f"{lg['transactionHash']}:{int(lg['logIndex'], 16)}"
        by_user.setdefault(claimer, []).append((int(lg["blockNumber"], 16), claim_id))
    claimer = max(by_user, key=lambda u: len(by_user[u]))
    assert len(by_user[claimer]) >= 3, "the history has a user with several claims"
    for size in (1, 2):
        paged = await paged_by_cursor(
            stub.GetRewardClaims, pb.GetRewardClaimsRequest(user=claimer, limit=size), "claims"
        )
        assert [(c.block_number, c.id) for c in paged] == sorted(by_user[claimer], reverse=True)
    # not base64; 1:1; x:1; 22 digits; a claim cursor with a bad hash
    for bad in ("%%%", "MTox", "eDox", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ==", "MToweDEyOjE="):
        for request in (
            pb.GetActiveStakesRequest(cursor=bad),
            pb.GetRewardClaimsRequest(user=claimer, cursor=bad),
        ):
            call = (
                stub.GetActiveStakes
                if isinstance(request, pb.GetActiveStakesRequest)
                else stub.GetRewardClaims
            )
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(request)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
            assert "cursor" in (info.value.details() or "")


async def test_reorgs_kills_and_time_travel_leave_no_drift(devnet, endpoints, mysql_url, tmp_path):
    rng = random.Random(61)
    async with pipeline(devnet, endpoints, mysql_url, consume=False) as (_app, _, settled, sync_s):
        env = {
            **os.environ,
            "NOVA_DATABASE_URL": mysql_url,
            "NOVA_KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
            "NOVA_KAFKA_TOPIC_PREFIX": sync_s.kafka_topic_prefix,
            "NOVA_MANIFEST": str(devnet.manifest_path),
            "NOVA_RPC_URLS": devnet.rpc.url,
            "NOVA_GRPC_PORT": "0",
            "NOVA_CONSUMER_BATCH": "20",
        }
        log = tmp_path / "staking.log"

        def spawn() -> subprocess.Popen[bytes]:
            with open(log, "ab") as fh:
                return subprocess.Popen(
                    [sys.executable, "-m", "nova.cli", "serve", "staking"],
                    env=env,
                    cwd=stack.REPO_ROOT,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                )

        proc = spawn()
        try:
            await devnet.sim.resync()
            for depth in (1, 3, 12):
                await devnet.sim.run(blocks=20)  # includes a time travel every 40 blocks
                for _ in range(3):  # kill the consumer at random moments
                    await asyncio.sleep(rng.random() * 0.3)  # a random kill point
                    proc.kill()
                    proc.wait(10)
                    proc = spawn()
                await wait_for(settled, f"settle before reorg {depth}", 120)
                await force_reorg(devnet.rpc, devnet.manifest, depth, seed=200 + depth)
                await devnet.sim.resync()
                await devnet.sim.run(blocks=2)
                await wait_for(settled, f"no drift after reorg {depth}", 120)
        finally:
            proc.terminate()
            assert proc.wait(20) == 0
        assert "CONSUMER STOPPED" not in log.read_text()
