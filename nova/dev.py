"""``nova dev``: the whole backend in ONE process with embedded backends.

A local anvil with the contracts deployed and live traffic; block sync, token, staking,
governance and the gateway in this process
 over SQLite (the same SQLAlchemy models and migrations), the in-process
bus, in-memory cache and in-memory archive; gRPC still on loopback ports. Running it again resumes
from its database. The in-process bus starts empty, so what the last run published and a
consumer had not applied yet (it was behind the sync when the run stopped or died) is gone:
the consumers' offsets are reset and the block sync goes back to the lowest block every
consumer has applied through, as a reorg to it would (a revert marker, then everything above
republished), so each consumer undoes what it applied above that block and applies it again.
A consumer that had not applied a revert marker of the sync's (an older fork generation) makes
it go back to the start: a full re-index.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api_gateway.main import create_app
from api_gateway.settings import GatewaySettings
from block_sync_service.bootstrap import bootstrap as sync_bootstrap
from block_sync_service.domain.model import Checkpoint
from block_sync_service.settings import BlockSyncSettings
from common.consumer import Mark, read_mark
from common.db import create_engine, migrate
from common.inprocess import InMemoryCache, InMemoryEventBus, InMemoryLogArchive
from common.jsonrpc import JsonRpcClient
from common.logging import get_logger
from common.metrics import isolated_registry
from governance_service.bootstrap import bootstrap as gov_bootstrap
from governance_service.settings import GovernanceSettings
from nova import stack
from nova.devnet.chain import DevChain
from nova.devnet.deploy import Manifest, deploy, is_deployed
from nova.devnet.simulate import Simulator
from nova.gateway_server import GatewayServer
from staking_service.bootstrap import bootstrap as staking_bootstrap
from staking_service.settings import StakingSettings
from token_service.bootstrap import bootstrap as token_bootstrap
from token_service.settings import TokenSettings

log = get_logger(__name__)

# the in-memory archive keeps the latest logs only (nothing reads it back here; SQLite's `logs`
# table keeps them all): about 1.3 KB each
DEV_ARCHIVE_LOGS = 20_000


@dataclass
class DevOptions:
    data_dir: Path
    rpc_url: str | None
    http_port: int
    grpc_base_port: int
    simulate: bool
    interval_s: float
    seed: int


async def _chain(opts: DevOptions) -> tuple[str, Manifest]:
    url = opts.rpc_url or stack.up(services=("anvil",)).rpc_url
    rpc = JsonRpcClient(url)
    try:
        path = opts.data_dir / "manifest.json"
        existing = Manifest.load(path) if path.exists() else None
        if existing is not None and existing.rpc_url == url and await is_deployed(rpc, existing):
            return url, existing
        if existing is not None:
            raise SystemExit(
                f"error: {opts.data_dir} indexes contracts that are not on {url} (a new chain?). "
                f"Start with another --data-dir, or delete {opts.data_dir}."
            )
        manifest = await deploy(rpc)
        manifest.save(path)
        return url, manifest
    finally:
        await rpc.close()


async def run_dev(opts: DevOptions, stop: asyncio.Event) -> None:
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    rpc_url, manifest = await _chain(opts)
    db_url = f"sqlite+aiosqlite:///{(opts.data_dir / 'nova.sqlite').resolve()}"
    migrate(db_url)
    await _reset_offsets(db_url)  # a fresh in-process bus: see the module docstring
    bus, cache = InMemoryEventBus(), InMemoryCache()
    manifest_path = opts.data_dir / "manifest.json"
    common: dict[str, Any] = {
        "database_url": db_url,
        "manifest": manifest_path,
        "rpc_urls": rpc_url,
    }
    # 0: each service on a port the OS picks (printed below), as tests and side-by-side runs want
    ports = {
        name: opts.grpc_base_port + i if opts.grpc_base_port else 0
        for i, name in enumerate(("block_sync", "token", "staking", "governance"))
    }
    sync = sync_bootstrap(
        BlockSyncSettings(**common, grpc_port=ports["block_sync"], poll_interval_s=0.5),
        bus=bus,
        archive=InMemoryLogArchive(max_logs=DEV_ARCHIVE_LOGS),
        registry=isolated_registry(),
    )
    token = token_bootstrap(
        TokenSettings(**common, grpc_port=ports["token"]),
        bus=bus,
        cache=cache,
        registry=isolated_registry(),
    )
    staking = staking_bootstrap(
        StakingSettings(**common, grpc_port=ports["staking"]),
        bus=bus,
        cache=cache,
        registry=isolated_registry(),
    )
    gov = gov_bootstrap(
        GovernanceSettings(**common, grpc_port=ports["governance"]),
        bus=bus,
        registry=isolated_registry(),
    )
    # what started is closed again (last first), also when a later start fails (a port in use)
    async with contextlib.AsyncExitStack() as started:
        for app in (sync, token, staking, gov):
            started.push_async_callback(app.close)
            await app.start()
        await _republish_what_consumers_missed(sync, (token, staking, gov))
        ports["block_sync"] = await sync.serve_grpc(ports["block_sync"])
        ports["token"] = await token.serve_grpc(ports["token"])
        ports["staking"] = await staking.serve_grpc(ports["staking"])
        ports["governance"] = await gov.serve_grpc(ports["governance"])
        gateway = GatewayServer(
            create_app(
                GatewaySettings(
                    block_sync_addr=f"127.0.0.1:{ports['block_sync']}",
                    token_addr=f"127.0.0.1:{ports['token']}",
                    staking_addr=f"127.0.0.1:{ports['staking']}",
                    governance_addr=f"127.0.0.1:{ports['governance']}",
                ),
                feed=cache,  # the services' in-process cache announces their invalidations
            ),
            "127.0.0.1",
            opts.http_port,
        )
        await gateway.start()
        started.push_async_callback(gateway.stop)
        print(
            f"NovaToken dev: chain {rpc_url} (chain id {manifest.chain_id}), "
            f"data in {opts.data_dir}",
            file=sys.stderr,
        )
        print(
            f"  REST API  http://127.0.0.1:{gateway.port}/api/v1   docs "
            f"http://127.0.0.1:{gateway.port}/docs",
            file=sys.stderr,
        )
        print(
            f"  gRPC      block sync :{ports['block_sync']}  token :{ports['token']}  "
            f"staking :{ports['staking']}  governance :{ports['governance']}",
            file=sys.stderr,
            flush=True,
        )
        tasks = [
            asyncio.create_task(sync.run(stop), name="sync"),
            asyncio.create_task(token.run(stop), name="token"),
            asyncio.create_task(staking.run(stop), name="staking"),
            asyncio.create_task(gov.run(stop), name="governance"),
            asyncio.create_task(
                _status_line(sync, token, (token, staking, gov), stop), name="status"
            ),
        ]
        if opts.simulate:
            traffic = _traffic(rpc_url, manifest, opts, stop)
            tasks.append(asyncio.create_task(traffic, name="traffic"))
        try:
            done, _ = await asyncio.wait(
                [*tasks, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
            )
            for t in done:
                if t in tasks and t.exception() is not None:
                    log.error("component failed", component=t.get_name(), error=str(t.exception()))
        finally:
            stop.set()
            for t in tasks:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(t, 15)
    print("\nstopped cleanly", file=sys.stderr)


def replay_point(marks: Sequence[Mark], checkpoint: Checkpoint, start_block: int) -> int:
    """The block to republish above: the lowest block every consumer has applied through, or
    the start when one has not applied the sync's latest revert (an older generation)."""
    target = checkpoint.number
    for generation, block, _ in marks:
        target = start_block - 1 if generation < checkpoint.generation else min(target, block)
    return max(start_block - 1, target)


async def _republish_what_consumers_missed(sync: Any, consumers: Sequence[Any]) -> None:
    """See the module docstring."""
    syncer = sync.syncer
    await syncer.open()
    async with sync.engine.connect() as conn:
        marks = [await read_mark(conn, c.domain, c.topic) for c in consumers]
    target = replay_point(marks, syncer.checkpoint, syncer.cfg.start_block)
    if target < syncer.checkpoint.number:
        print(
            f"republishing blocks {target + 1}-{syncer.checkpoint.number}: a consumer had not "
            "applied them when the last run stopped",
            file=sys.stderr,
        )
        await syncer.rewind(target)


async def _reset_offsets(db_url: str) -> None:
    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM consumer_offsets"))
    await engine.dispose()


async def _traffic(rpc_url: str, manifest: Manifest, opts: DevOptions, stop: asyncio.Event) -> None:
    rpc = JsonRpcClient(rpc_url)
    chain = DevChain(rpc)
    try:
        await chain.set_automine(False)
        sim = Simulator(chain, manifest, seed=opts.seed, holders=40, txs_per_block=20)
        await sim.setup()
        await sim.run(should_stop=stop.is_set, interval_s=opts.interval_s)
    finally:
        with contextlib.suppress(Exception):
            await chain.set_automine(True)
        await rpc.close()


def index_lags(synced: int, consumers: Sequence[Any]) -> str:
    """Each index's blocks behind the sync, or STOPPED: "token 0 staking 0 governance 2"."""
    parts = []
    for app in consumers:
        consumer = app.consumer
        if consumer.status.error:
            parts.append(f"{app.domain} STOPPED")
            continue
        applied = consumer.committed[1] if consumer.committed is not None else -1
        parts.append(f"{app.domain} {max(0, synced - applied)}")
    return " ".join(parts)


async def _status_line(
    sync: object, token: object, consumers: Sequence[Any], stop: asyncio.Event
) -> None:
    tty = sys.stderr.isatty()
    last = 0.0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        s = sync.syncer.status  # type: ignore[attr-defined]
        stats = await token.views.stats()  # type: ignore[attr-defined]
        line = (
            f"head {s.head}  synced {s.synced}  lag {s.lag}  events/s "
            f"{s.events_per_second:,.0f}  holders {stats.holders}  reorgs {s.reorgs_total}  "
            f"behind: {index_lags(s.synced, consumers)}"
        )
        if s.alarm:  # the sync stopped (a reorg deeper than the window): say why
            line += f"  SYNC STOPPED: {s.alarm[:120]}"
        if tty:
            print(f"\r{line}   ", end="", file=sys.stderr, flush=True)
        elif time.monotonic() - last >= 10:
            last = time.monotonic()
            print(line, file=sys.stderr, flush=True)
