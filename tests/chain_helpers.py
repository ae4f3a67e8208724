"""Helpers for tests that follow a real chain: ground truth, topic readers, stream replay."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import grpc

from common import events
from common.jsonrpc import JsonRpcClient
from common.ports import EventBus
from nova.devnet import artifacts
from nova.devnet.chain import DevChain
from nova.devnet.deploy import Manifest, deploy
from nova.devnet.simulate import Simulator

TRACKED = ("NovaToken", "NovaStaking", "NovaGovernor", "NovaTimelock")
TRANSFER = artifacts.load("NovaToken").abi.events["Transfer"].topic0
ZERO_TOPIC = "0x" + "0" * 64
DELEGATION = {  # NovaToken's events of the governance domain: not on the token topic
    artifacts.load("NovaToken").abi.events["DelegateChanged"].topic0,
    artifacts.load("NovaToken").abi.events["DelegateVotesChanged"].topic0,
}


async def last_event_block(
    rpc: JsonRpcClient, address: str, first: int, head: int, skip: Iterable[str] = ()
) -> int:
    """The block of the last log ``address`` emitted in [first, head] whose topic0 is not in
    ``skip`` (0 when none)."""
    logs = await rpc.call(
        "eth_getLogs", {"address": address, "fromBlock": hex(first), "toBlock": hex(head)}
    )
    skipped = set(skip)
    return max(
        (
            int(x["blockNumber"], 16)
            for x in logs
            if not x["topics"] or x["topics"][0] not in skipped
        ),
        default=0,
    )


async def wait_for(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 60, every_s: float = 0.1
) -> None:
    """Poll an async condition until true; fail naming ``what`` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(every_s)


class _App(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


A = TypeVar("A", bound=_App)


async def started(down: contextlib.AsyncExitStack, app: A) -> A:
    """Start a service app, closed when ``down`` unwinds: also when a later set-up step fails,
    so a test's failed set-up leaves nothing running (a leaked syncer holds its lock)."""
    down.push_async_callback(app.close)
    await app.start()
    return app


async def channel_to(down: contextlib.AsyncExitStack, app: Any) -> grpc.aio.Channel:
    """Serve the app's gRPC on a free port; a channel to it, closed when ``down`` unwinds."""
    port = await app.serve_grpc(0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    down.push_async_callback(channel.close, None)
    return channel


async def beside_sync(
    down: contextlib.AsyncExitStack, sync_settings: Any, app: Any, consume: bool = True
) -> tuple[Any, grpc.aio.Channel]:
    """Start a block sync of ``sync_settings``, then ``app`` (a consumer service); run both (the
    app's consumer only with ``consume``) and serve the app's gRPC: (the sync, a channel)."""
    from block_sync_service.bootstrap import bootstrap as sync_bootstrap
    from common.metrics import isolated_registry

    sync = await started(down, sync_bootstrap(sync_settings, registry=isolated_registry()))
    await started(down, app)
    running(down, sync.run, app.run if consume else lambda stop: stop.wait())
    return sync, await channel_to(down, app)


def running(
    down: contextlib.AsyncExitStack, *runs: Callable[[asyncio.Event], Coroutine[Any, Any, Any]]
) -> tuple[asyncio.Event, list[asyncio.Task[Any]]]:
    """Run each ``run(stop)`` as a task; ``down`` sets stop and waits for them (30 s each)."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run(stop)) for run in runs]

    async def halt() -> None:
        stop.set()
        for t in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(t, 30)

    down.push_async_callback(halt)
    return stop, tasks


@dataclass
class Devnet:
    rpc: JsonRpcClient
    manifest: Manifest
    manifest_path: Path
    sim: Simulator

    @property
    def chain(self) -> DevChain:
        return self.sim.chain


async def make_devnet(
    url: str, tmp: Path, seed: int, events_: int = 0, blocks: int = 0, txs_per_block: int = 30
) -> Devnet:
    rpc = JsonRpcClient(url)
    manifest = await deploy(rpc)
    path = tmp / f"manifest-{uuid.uuid4().hex[:6]}.json"
    manifest.save(path)
    chain = DevChain(rpc)
    await chain.set_automine(False)
    sim = Simulator(chain, manifest, seed=seed, holders=25, txs_per_block=txs_per_block)
    await sim.setup()
    if events_:
        await sim.run(events=events_)
    if blocks:
        await sim.run(blocks=blocks)
    return Devnet(rpc, manifest, path, sim)


async def ground_truth(
    rpc: JsonRpcClient, manifest: Manifest, to_block: int | None = None
) -> dict[str, list[tuple[str, int]]]:
    """Per domain topic, the identities (block_hash, log_index) the syncer must publish."""
    head = to_block if to_block is not None else int(await rpc.call("eth_blockNumber"), 16)
    addrs = {manifest.address(n).lower(): n for n in TRACKED}
    logs = await rpc.call(
        "eth_getLogs",
        {"fromBlock": hex(manifest.start_block), "toBlock": hex(head), "address": list(addrs)},
    )
    logs.sort(key=lambda x: (int(x["blockNumber"], 16), int(x["logIndex"], 16)))
    out: dict[str, list[tuple[str, int]]] = {"token": [], "staking": [], "governance": []}
    for lg in logs:
        ident = (lg["blockHash"], int(lg["logIndex"], 16))
        name = addrs[lg["address"].lower()]
        if name == "NovaToken":
            if lg["topics"] and lg["topics"][0] in DELEGATION:
                out["governance"].append(ident)  # the governance domain's only
                continue
            out["token"].append(ident)
            if lg["topics"] and lg["topics"][0] == TRANSFER and ZERO_TOPIC in lg["topics"][1:3]:
                out["governance"].append(ident)  # mints and burns: the supply quorum reads
        elif name == "NovaStaking":
            out["staking"].append(ident)
        else:
            out["governance"].append(ident)
    return out


class TopicReader:
    """Reads a topic from the beginning: events and revert markers in ``envelopes``, the
    syncer's progress markers apart in ``progress``."""

    def __init__(self, bus: EventBus, topic: str) -> None:
        self.bus = bus
        self.topic = topic
        self.envelopes: list[Any] = []
        self.progress: list[Any] = []
        self._consumer: Any = None

    async def poll(self) -> int:
        if self._consumer is None:
            self._consumer = await self.bus.consumer(self.topic)
            await self._consumer.seek(0, 0)
        got = 0
        while True:
            records = await self._consumer.fetch(5000, timeout_s=0.2)
            if not records:
                return got
            for r in records:
                env = events.parse(r.value)
                if env.WhichOneof("body") == "progress":
                    self.progress.append(env.progress)
                else:
                    self.envelopes.append(env)
            got += len(records)

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.close()

    def replay(self) -> list[tuple[str, int]]:
        """Apply the stream: events append, a revert marker drops everything above its block."""
        state: list[tuple[int, str, int]] = []
        for env in self.envelopes:
            if env.WhichOneof("body") == "event":
                e = env.event
                ident = (e.block_number, e.block_hash, e.log_index)
                if ident not in state:
                    state.append(ident)
            elif env.WhichOneof("body") == "revert":
                state = [x for x in state if x[0] <= env.revert.to_block]

        state.sort()
        return [(h, i) for _, h, i in state]

    def reverts(self) -> list[Any]:
        return [e.revert for e in self.envelopes if e.WhichOneof("body") == "revert"]


async def paged_by_cursor(call: Any, request: Any, field: str) -> list[Any]:
    """Every item of a list, requested page by page through ``next_cursor``."""
    items: list[Any] = []
    cursor = ""
    while True:
        request.cursor = cursor
        page = await call(request)
        items += getattr(page, field)
        if not page.next_cursor:
            return items
        assert len(getattr(page, field)) == request.limit  # only a last page is short
        assert page.next_cursor != cursor and len(items) < 10_000, "paging does not advance"
        cursor = page.next_cursor
