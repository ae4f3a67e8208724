"""The embedded mode's resume (nova/dev.py): its in-process bus starts empty on every run, so
what a consumer had not applied when the last run stopped is republished, on SQLite and the
in-process bus as `nova dev` runs them, against a devnet on anvil."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import SimpleNamespace

from block_sync_service.bootstrap import bootstrap as sync_bootstrap
from block_sync_service.domain.model import Checkpoint
from block_sync_service.settings import BlockSyncSettings
from common.consumer import NO_MARK
from common.db import migrate
from common.inprocess import InMemoryCache, InMemoryEventBus, InMemoryLogArchive
from common.metrics import isolated_registry
from nova import dev
from nova.devnet import artifacts
from tests.chain_helpers import Devnet, make_devnet, wait_for
from token_service.bootstrap import bootstrap as token_bootstrap
from token_service.infrastructure.verify import verify_token
from token_service.settings import TokenSettings

TOK = artifacts.load("NovaToken").abi


def test_the_replay_point_is_the_lowest_consumer_or_the_start() -> None:
    at_90 = Checkpoint(90, "0x90", generation=2)
    assert dev.replay_point([(2, 90, 5), (2, 90, 2**62)], at_90, 10) == 90  # none behind
    assert dev.replay_point([(2, 90, 5), (2, 61, 3), (2, 75, 0)], at_90, 10) == 61
    assert dev.replay_point([(2, 95, 0)], at_90, 10) == 90  # applied what was not committed
    assert dev.replay_point([(2, 80, 0), (1, 85, 0)], at_90, 10) == 9  # missed a revert
    assert dev.replay_point([NO_MARK], Checkpoint(90, "0x90"), 10) == 9  # applied nothing


def test_the_status_line_says_how_far_each_index_is_behind() -> None:
    def app(domain: str, committed: object, error: str = "") -> SimpleNamespace:
        status = SimpleNamespace(error=error)
        consumer = SimpleNamespace(committed=committed, status=status)
        return SimpleNamespace(domain=domain, consumer=consumer)

    consumers = [
        app("token", (0, 90, 3)),
        app("staking", None),  # not started yet: behind by everything
        app("governance", (0, 80, 0), error="nova.governance[0]@7: cannot apply"),
    ]
    assert dev.index_lags(90, consumers) == "token 0 staking 91 governance STOPPED"


class Run:
    """One run of the embedded mode's sync and token service on a database."""

    def __init__(self, net: Devnet, db_url: str) -> None:
        self.bus = InMemoryEventBus()  # a new run: an empty bus
        common = {"database_url": db_url, "manifest": net.manifest_path, "rpc_urls": net.rpc.url}
        self.sync = sync_bootstrap(
            BlockSyncSettings(**common, grpc_port=0, poll_interval_s=0.2),
            bus=self.bus,
            archive=InMemoryLogArchive(),
            registry=isolated_registry(),
        )
        self.token = token_bootstrap(
            TokenSettings(**common, grpc_port=0),
            bus=self.bus,
            cache=InMemoryCache(),
            registry=isolated_registry(),
        )

    async def __aenter__(self) -> Run:
        await self.sync.start()
        await self.token.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.token.close()
        await self.sync.close()

    async def token_at(self, block: int) -> bool:
        assert self.token.views is not None
        return (await self.token.views.stats()).last_block >= block


@contextlib.asynccontextmanager
async def running(coro_fn, *args):
    stop = asyncio.Event()
    task = asyncio.create_task(coro_fn(stop, *args))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_a_run_republishes_what_a_consumer_had_not_applied(
    anvil_url: str, tmp_path: Path
) -> None:
    net = await make_devnet(anvil_url, tmp_path, seed=17, blocks=30, txs_per_block=8)
    try:
        head = await net.chain.block_number()
        first = net.manifest.start_block
        middle = (first + head) // 2
        db_url = f"sqlite+aiosqlite:///{tmp_path / 'dev.sqlite'}"
        migrate(db_url)
        # run 1: the sync publishes the whole chain; the token service applies half of it,
        # then the run stops (as at Ctrl-C, or a crash, with the consumer behind)
        async with Run(net, db_url) as one:
            async with running(one.sync.run, middle), running(one.token.run):
                await wait_for(lambda: one.token_at(middle), "token through the middle", 60)
            async with running(one.sync.run, head) as sync:
                await asyncio.wait_for(sync, 60)
            assert one.sync.syncer is not None and one.sync.syncer.status.synced == head
            assert one.token.views is not None
            assert (await one.token.views.stats()).last_block < head
        # run 2, as `nova dev` starts it: offsets reset, the sync back to the token's block
        await dev._reset_offsets(db_url)
        async with Run(net, db_url) as two:
            await dev._republish_what_consumers_missed(two.sync, [two.token])
            assert two.sync.syncer is not None
            assert middle <= two.sync.syncer.checkpoint.number < head
            async with running(two.sync.run), running(two.token.run):
                await wait_for(lambda: two.token_at(head), "token through the head", 60)
            assert two.token.views is not None
            drift = await verify_token(
                two.token.views, net.rpc, net.manifest.address("NovaToken"), TOK, head
            )
            assert drift.ok, drift.lines()
            assert two.sync.syncer.status.last_reorg_depth == 0  # a rewind is not a reorg
    finally:
        await net.rpc.close()
