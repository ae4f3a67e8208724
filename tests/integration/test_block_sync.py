"""Block sync on the real stack: anvil, MariaDB, tansu (Kafka protocol), SecantusDB."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from pymongo import AsyncMongoClient

from block_sync_service.bootstrap import BlockSyncApp, ConfigError, bootstrap
from block_sync_service.infrastructure.store import blocks as blocks_t
from block_sync_service.infrastructure.store import logs as logs_t
from block_sync_service.infrastructure.store import transactions as txs_t
from block_sync_service.infrastructure.verify import ArchiveDrift, verify_archive, verify_sync
from block_sync_service.settings import BlockSyncSettings
from common.db import create_engine, migrate
from common.infrastructure.kafka_bus import KafkaEventBus
from common.infrastructure.mongo_archive import MongoLogArchive
from common.metrics import isolated_registry
from common.validation import OutOfRange
from nova import stack
from nova.devnet import artifacts
from nova.devnet.reorg import force_reorg
from novapb.block_sync.v1 import block_sync_pb2 as pb
from novapb.block_sync.v1 import block_sync_pb2_grpc as pb_grpc
from tests.chain_helpers import Devnet, TopicReader, ground_truth, make_devnet, wait_for
from tests.faults import DroppableWebSocket, FaultyRpc
from tests.names import archive_database, topic_prefix

DOMAINS = ("token", "staking", "governance")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def devnet(anvil_url: str, tmp_path_factory: pytest.TempPathFactory):
    net = await make_devnet(anvil_url, tmp_path_factory.mktemp("devnet"), seed=21, events_=4000)
    yield net
    await net.rpc.close()


def settings_for(net: Devnet, endpoints: stack.Endpoints, db_url: str, **kw) -> BlockSyncSettings:
    base: dict[str, Any] = dict(
        database_url=db_url,
        kafka_bootstrap_servers=endpoints.kafka_bootstrap,
        kafka_topic_prefix=topic_prefix(),
        mongo_url=endpoints.mongo_url,
        mongo_database=archive_database(),
        manifest=net.manifest_path,
        rpc_urls=net.rpc.url,
        grpc_port=0,
        poll_interval_s=0.2,
        reorg_window=16,
        range_initial=10,
        range_concurrency=3,
    )
    base.update(kw)
    return BlockSyncSettings(**base)


@contextlib.asynccontextmanager
async def running(settings: BlockSyncSettings, until: int | None = None, keep_archive=False):
    migrate(settings.database_url)
    app = bootstrap(settings, registry=isolated_registry())
    await app.start()
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop, until))
    readers = {d: TopicReader(app.bus, app.sink.router.topics[d]) for d in DOMAINS}
    try:
        yield app, task, readers
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
        for r in readers.values():
            await r.close()
        archive = MongoLogArchive(settings.mongo_url, settings.mongo_database)
        if not keep_archive:
            await archive.drop()
        await archive.close()
        await app.close()


async def synced_to(app: BlockSyncApp, block: int) -> bool:
    return app.syncer.status.synced >= block


async def test_backfill_publishes_exactly_the_chain_logs_in_order(devnet, endpoints, mysql_url):
    head = await devnet.chain.block_number()
    truth = await ground_truth(devnet.rpc, devnet.manifest, head)
    settings = settings_for(devnet, endpoints, mysql_url)
    async with running(settings, until=head) as (app, task, readers):
        await asyncio.wait_for(task, 120)
        assert app.syncer.status.synced == head
        for domain in DOMAINS:
            reader = readers[domain]
            await wait_for(lambda r=reader, d=domain: _has(r, len(truth[d])), f"{domain} events")
            published = [(e.event.block_hash, e.event.log_index) for e in reader.envelopes]
            assert published == truth[domain], f"{domain}: published stream != eth_getLogs"
            kinds = {e.event.event for e in reader.envelopes}
            assert "" not in kinds  # every tracked log decoded by its ABI
        token_events = readers["token"].envelopes
        assert all(e.event.historical for e in token_events[:10])
        transfer = next(e.event for e in token_events if e.event.event == "Transfer")
        assert set(transfer.args) == {"from", "to", "value"}
        assert transfer.args["value"].scalar.isdigit()
        assert transfer.block_timestamp > 0
        total = len(set(truth["token"]) | set(truth["staking"]) | set(truth["governance"]))
        assert await app.store.count("logs") == total
        # the archiver (its own consumer group) stores every raw log once, even though the
        # governance topic carries delegation events a second time
        stop = asyncio.Event()
        archiving = asyncio.create_task(app.archiver().run(stop))
        try:
            await wait_for(lambda: _archived(app, total), "archive to catch up", 60)
            assert await app.archive.count() == total
        finally:
            stop.set()
            await archiving
        await _archive_drift_is_named(app, devnet, head)


async def _archive_drift_is_named(app: BlockSyncApp, net: Devnet, head: int) -> None:
    """``verify_archive`` finds the archive equal to the chain, then names each damage: a log
    deleted, a log's data changed, a canonical block's logs marked removed, and a live log of
    a block the chain does not have."""
    assert isinstance(app.archive, MongoLogArchive)
    tracked = list(app.tracked.addresses.values())
    start = app.tracked.start_block
    clean = await verify_archive(app.archive, net.rpc, tracked, start, head, span=11)
    assert clean.ok and clean.logs == await app.archive.count() > 0, clean.lines()
    gone, changed = (await app.archive.between(start, head))[:2]
    last = await app.archive.find_by_block(
        max(x.block_number for x in await app.archive.between(start, head))
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(app.settings.mongo_url)
    try:
        coll = client[app.settings.mongo_database]["logs"]
        await coll.delete_one({"_id": gone.key})
        await coll.update_one({"_id": changed.key}, {"$set": {"data": "0x" + "ee" * 32}})
    finally:
        await client.close()
    await app.archive.mark_removed([last[0].block_hash], 99)
    ghost = replace(last[0], block_hash="0x" + "ab" * 32, generation=99)
    await app.archive.insert([ghost])
    drift = await verify_archive(app.archive, net.rpc, tracked, start, head)
    assert drift.removed == len(last)
    assert len(drift.drifts) == 3 + len(last), drift.lines()
    text = "\n".join(drift.drifts)
    position = f"{last[0].block_number}:{last[0].log_index}"
    for line in (
        f"archived log {gone.block_number}:{gone.log_index}:{gone.block_hash} is on the chain,"
        " not stored",
        f"archived log {changed.block_number}:{changed.log_index}:{changed.block_hash}: data"
        f" stored 0x{'ee' * 32}",
        f"archived log {position}:{last[0].block_hash} is marked removed; its block is canonical",
        f"archived log {position}:0x{'ab' * 32} is stored, not on the chain",
    ):
        assert line in text, (line, text)


async def _has(reader: TopicReader, n: int) -> bool:
    await reader.poll()
    return len(reader.envelopes) >= n


async def _archived(app: BlockSyncApp, n: int) -> bool:
    return await app.archive.count() >= n


async def test_the_sync_follows_the_finalized_block(devnet, endpoints, mysql_url):
    """NOVA_CONFIRMATIONS=finalized: nothing above the node's finalized block is published
    (anvil finalizes the block 64 below its head), and the sync moves with it."""

    async def finalized() -> int:
        return int(
            (await devnet.rpc.call("eth_getBlockByNumber", "finalized", False))["number"], 16
        )

    if await finalized() <= devnet.manifest.start_block:  # a dense history of few blocks
        await devnet.rpc.call("anvil_mine", hex(80))
        await devnet.sim.resync()
    settings = settings_for(devnet, endpoints, mysql_url, confirmations="finalized")
    async with running(settings) as (app, _task, readers):
        for round_ in range(2):
            final = await finalized()
            assert final > devnet.manifest.start_block
            await wait_for(lambda f=final: synced_to(app, f), f"the finalized block {final}", 60)
            assert app.syncer.status.synced == app.syncer.status.final == final
            assert final < app.syncer.status.head
            registry = app.metrics.registry
            assert registry.get_sample_value("nova_block_sync_final_block") == final
            truth = await ground_truth(devnet.rpc, devnet.manifest, final)
            await wait_for(lambda t=truth: _has(readers["token"], len(t["token"])), "events", 30)
            published = [
                (e.event.block_hash, e.event.log_index) for e in readers["token"].envelopes
            ]
            assert published == truth["token"]  # through the finalized block, none above it
            if not round_:
                await devnet.sim.resync()
                await devnet.sim.run(blocks=3)


@pytest.mark.parametrize("use_ws", [False, True], ids=["polling", "websocket"])
async def test_tip_following_publishes_new_blocks(devnet, endpoints, mysql_url, use_ws):
    ws = devnet.rpc.url.replace("http://", "ws://") if use_ws else None
    settings = settings_for(
        devnet, endpoints, mysql_url, ws_url=ws, poll_interval_s=5.0 if use_ws else 0.2
    )
    async with running(settings) as (app, _task, readers):
        head = await devnet.chain.block_number()
        await wait_for(lambda: synced_to(app, head), "initial catch-up", 120)
        await devnet.sim.resync()
        await devnet.sim.run(blocks=3)
        new_head = await devnet.chain.block_number()
        await wait_for(lambda: synced_to(app, new_head), "the new blocks", 30)
        truth = await ground_truth(devnet.rpc, devnet.manifest, new_head)
        await wait_for(lambda: _has(readers["token"], len(truth["token"])), "token events", 30)
        published = [(e.event.block_hash, e.event.log_index) for e in readers["token"].envelopes]
        assert published == truth["token"]
        assert not readers["token"].envelopes[-1].event.historical
        if use_ws:
            assert app.heads is not None and app.heads.heads_seen > 0


async def test_a_dropped_websocket_falls_back_to_polling_and_reconnects(
    devnet, endpoints, mysql_url
):
    proxy = DroppableWebSocket(devnet.rpc.url.replace("http://", "ws://"))
    port = stack.free_port()
    await proxy.start(port)
    settings = settings_for(
        devnet, endpoints, mysql_url, ws_url=f"ws://127.0.0.1:{port}", poll_interval_s=1.0
    )
    try:
        async with running(settings) as (app, _task, _readers):
            head = await devnet.chain.block_number()
            await wait_for(lambda: synced_to(app, head), "initial catch-up", 120)
            assert app.heads is not None
            await wait_for(lambda: _connected(app), "newHeads subscribed", 30)
            await proxy.drop()  # the subscription dies under the syncer
            await devnet.sim.resync()
            await devnet.sim.run(blocks=3)
            new_head = await devnet.chain.block_number()
            await wait_for(lambda: synced_to(app, new_head), "blocks while the WS was down", 30)
            await wait_for(lambda: _reconnected(proxy), "the WS reconnected", 30)
            seen = app.heads.heads_seen
            await devnet.sim.run(blocks=2)
            await wait_for(lambda: _more_heads(app, seen), "newHeads after reconnecting", 30)
            await wait_for(lambda: synced_to(app, new_head + 2), "blocks after reconnecting", 30)
    finally:
        await proxy.stop()


async def _connected(app: BlockSyncApp) -> bool:
    return app.heads is not None and app.heads.connected


async def _reconnected(proxy: DroppableWebSocket) -> bool:
    return proxy.connections >= 2


async def _more_heads(app: BlockSyncApp, seen: int) -> bool:
    return app.heads is not None and app.heads.heads_seen > seen


async def test_reorgs_are_reverted_and_the_new_fork_published(devnet, endpoints, mysql_url):

    settings = settings_for(devnet, endpoints, mysql_url, reorg_window=64)
    async with running(settings) as (app, _task, readers):
        await devnet.sim.resync()
        await devnet.sim.run(blocks=25)  # enough blocks above the window edge for depth 20
        for depth in (1, 3, 20):
            head = await devnet.chain.block_number()
            await wait_for(lambda h=head: synced_to(app, h), f"sync before reorg {depth}", 60)
            result = await force_reorg(devnet.rpc, devnet.manifest, depth, seed=depth)
            await devnet.sim.resync()
            await devnet.sim.run(blocks=2)
            new_head = await devnet.chain.block_number()
            await wait_for(lambda h=new_head: _reorg_seen(app, h), f"reorg {depth} handled", 60)
            stored = await app.store.window(result.first_orphaned)
            assert stored, "the new fork's blocks are stored"
            assert set(result.orphaned_hashes).isdisjoint(stored.values()), "orphaned rows left"
            # every topic got the marker; replaying each stream gives the canonical chain
            truth = await ground_truth(devnet.rpc, devnet.manifest, new_head)
            for domain in DOMAINS:
                r = readers[domain]
                expected = truth[domain]
                await wait_for(lambda r=r, e=expected: _replays_to(r, e), f"{domain} stream", 30)
                marker = r.reverts()[-1]
                assert marker.to_block == result.first_orphaned - 1
                assert set(result.orphaned_hashes) <= set(marker.orphaned_hashes)
            # the archive keeps the orphaned logs, marked removed
            orphan_logs = await _archive_removed(app, result.orphaned_hashes)
            await wait_for(orphan_logs, f"archive marks reorg {depth}", 60)
        assert app.syncer.status.reorgs_total >= 3
        assert app.syncer.status.last_reorg_depth >= 1
        # the archive: the new forks' logs live, every orphaned one marked removed
        tracked = list(app.tracked.addresses.values())
        checks: list[ArchiveDrift] = []

        async def archive_equals_chain() -> bool:
            checks.append(
                await verify_archive(
                    app.archive, devnet.rpc, tracked, app.tracked.start_block, new_head
                )
            )
            return checks[-1].ok

        await wait_for(archive_equals_chain, "the archive to equal the chain", 60)
        assert checks[-1].removed > 0


async def _reorg_seen(app: BlockSyncApp, head: int) -> bool:
    return app.syncer.status.synced >= head and app.syncer.status.last_reorg_depth >= 1


async def _replays_to(reader: TopicReader, truth: list[tuple[str, int]]) -> bool:
    await reader.poll()
    return reader.replay() == truth


async def _archive_removed(app: BlockSyncApp, hashes: list[str]):
    async def check() -> bool:
        if not isinstance(app.archive, MongoLogArchive):
            return True
        removed = await app.archive.count({"block_hash": {"$in": hashes}, "removed": True})
        kept = await app.archive.count({"block_hash": {"$in": hashes}, "removed": False})
        return kept == 0 and removed >= 0

    return check


async def _chain_positions(
    devnet: Devnet, address: str, topics: list[Any]
) -> list[tuple[int, int]]:
    found = await devnet.rpc.call(
        "eth_getLogs",
        {"address": address, "fromBlock": "0x0", "toBlock": "latest", "topics": topics},
    )
    return sorted((int(x["blockNumber"], 16), int(x["logIndex"], 16)) for x in found)


async def _paged_logs(stub: Any, limit: int, **query: Any) -> tuple[list[tuple[int, int]], int]:
    """Every page by cursor: the positions listed, and how many answers a scan budget cut."""
    listed: list[tuple[int, int]] = []
    cut, cursor = 0, ""
    for _ in range(10_000):  # bounded: a cursor that does not move on ends the test
        page = await stub.GetLogs(
            pb.GetLogsRequest(**query, to_latest=True, limit=limit, cursor=cursor)
        )
        listed += [(x.block_number, x.log_index) for x in page.logs]
        assert page.truncated == bool(page.next_cursor)
        if not page.next_cursor:
            return listed, cut
        cut += len(page.logs) < limit
        cursor = page.next_cursor
    raise AssertionError("GetLogs paged without end")


async def test_status_says_how_far_the_archiver_got(devnet, endpoints, mysql_url):
    """The archiver is a consumer of its own and may lag the sync: GetSyncStatus says the
    block it has archived through on every topic, which reaches the head."""
    head = await devnet.chain.block_number()
    async with running(settings_for(devnet, endpoints, mysql_url)) as (app, _, _readers):
        port = await app.serve_grpc(0)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.BlockSyncServiceStub(channel)

            async def archived() -> bool:
                reply = await stub.GetSyncStatus(pb.GetSyncStatusRequest())
                return reply.synced_block == reply.archived_block == head

            await wait_for(archived, "the archiver through the head", 60)
    assert app.archiving is not None and app.archiving.archived_through() == head


async def test_grpc_serves_blocks_transactions_logs_and_status(devnet, endpoints, mysql_url):
    head = await devnet.chain.block_number()
    # a small scan budget: topic-filtered pages are cut short here and continued by cursor
    settings = settings_for(devnet, endpoints, mysql_url, logs_scan_budget=40)
    async with running(settings, until=head) as (app, task, _):
        await asyncio.wait_for(task, 120)
        port = await app.serve_grpc(0)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.BlockSyncServiceStub(channel)
            token = devnet.manifest.address("NovaToken")
            logs = await stub.GetLogs(
                pb.GetLogsRequest(address=token, from_block=0, to_latest=True, limit=50)
            )
            assert len(logs.logs) == 50 and logs.truncated
            first = logs.logs[0]
            block = await stub.GetBlock(pb.GetBlockRequest(block_number=first.block_number))
            assert block.block.hash == first.block_hash
            assert any(t.hash == first.tx_hash for t in block.block.transactions)
            tx = await stub.GetTransaction(pb.GetTransactionRequest(hash=first.tx_hash))
            assert tx.transaction.status == 1 and tx.transaction.logs
            # every page by cursor equals the chain's logs, with and without topics; a rare
            # topic's pages are cut by the scan budget (some empty) and still miss nothing
            tok = artifacts.load("NovaToken").abi
            mint, transfer = tok.events["Mint"].topic0, tok.events["Transfer"].topic0
            holder = "0x" + "00" * 12 + devnet.sim.holders[0][2:].lower()
            for limit, topics in [
                (50, []),
                (3, [mint]),
                (4, [transfer, holder]),
                (1000, [transfer]),
            ]:
                query = {f"topic{i}": t for i, t in enumerate(topics)}
                listed, cut = await _paged_logs(stub, limit, address=token, **query)
                assert listed == await _chain_positions(devnet, token, topics), topics
                assert (cut > 0) == bool(topics), (topics, cut)
            # an offset without topics skips logs; with one it is refused (it counts matches,
            # and skipping them could read every log of the range)
            skipped = await stub.GetLogs(
                pb.GetLogsRequest(address=token, to_latest=True, limit=2, offset=3)
            )
            assert [(x.block_number, x.log_index) for x in skipped.logs] == (
                await _chain_positions(devnet, token, [])
            )[3:5]
            status = await stub.GetSyncStatus(pb.GetSyncStatusRequest())
            assert status.synced_block == status.final_block == head
            assert status.chain_id == 31337
            for call, request, code in [
                (stub.GetTransaction, pb.GetTransactionRequest(hash="0x12"), "INVALID_ARGUMENT"),
                (stub.GetTransaction, pb.GetTransactionRequest(hash="0x" + "ab" * 32), "NOT_FOUND"),
                (stub.GetBlock, pb.GetBlockRequest(block_number=head + 1000), "NOT_FOUND"),
                (stub.GetLogs, pb.GetLogsRequest(address="0xnope"), "INVALID_ARGUMENT"),
                (stub.GetLogs, pb.GetLogsRequest(from_block=10, to_block=5), "INVALID_ARGUMENT"),
                (stub.GetLogs, pb.GetLogsRequest(offset=10_001), "INVALID_ARGUMENT"),
                (stub.GetLogs, pb.GetLogsRequest(cursor="x"), "INVALID_ARGUMENT"),
                (stub.GetLogs, pb.GetLogsRequest(topic1=mint, offset=1), "INVALID_ARGUMENT"),
                (stub.GetLogs, pb.GetLogsRequest(cursor="MTphOjM="), "INVALID_ARGUMENT"),
            ]:
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await call(request)
                assert info.value.code().name == code, info.value.details()
                assert "Traceback" not in (info.value.details() or "")


async def test_verify_sync_finds_every_stored_row_that_is_not_the_chain(
    devnet, endpoints, mysql_url
):
    head = await devnet.chain.block_number()
    settings = settings_for(devnet, endpoints, mysql_url)
    async with running(settings, until=head) as (app, task, _):
        await asyncio.wait_for(task, 120)
        tracked = list(app.tracked.addresses.values())
        start = app.tracked.start_block
        seen: list[int] = []
        clean = await verify_sync(
            app.store, devnet.rpc, tracked, start, None, 7, lambda done, _: seen.append(done)
        )
        assert clean.ok and clean.block == head, clean.lines()
        assert clean.logs == await app.store.count("logs") > 0 and clean.blocks > 0
        assert seen[-1] == head and seen == sorted(seen)  # progress, span by span
        with pytest.raises(OutOfRange, match="above the last synced block"):
            await verify_sync(app.store, devnet.rpc, tracked, start, head + 1)
        # one of each kind of damage, each named
        rows = (await app.store.get_logs([], 0, head, limit=3)).rows
        gone, changed, moved = rows
        key = (logs_t.c.block_number, logs_t.c.log_index)
        async with app.store.engine.begin() as conn:
            await conn.execute(
                sa.delete(logs_t).where(
                    sa.tuple_(*key) == (gone["block_number"], gone["log_index"])
                )
            )
            await conn.execute(
                sa.update(logs_t)
                .where(sa.tuple_(*key) == (changed["block_number"], changed["log_index"]))
                .values(data="0x" + "ee" * 32)
            )
            await conn.execute(
                sa.update(logs_t)
                .where(sa.tuple_(*key) == (moved["block_number"], moved["log_index"]))
                .values(log_index=999)
            )
            await conn.execute(
                sa.update(blocks_t).where(blocks_t.c.number == head).values(hash="0x" + "ab" * 32)
            )
            lost, wrong = [
                h
                for (h,) in await conn.execute(
                    sa.select(txs_t.c.hash)
                    .order_by(txs_t.c.block_number.desc(), txs_t.c.tx_index)
                    .limit(2)
                )
            ]
            await conn.execute(sa.delete(txs_t).where(txs_t.c.hash == lost))
            await conn.execute(sa.update(txs_t).where(txs_t.c.hash == wrong).values(value="7"))
        drift = await verify_sync(app.store, devnet.rpc, tracked, start)
        assert not drift.ok and drift.lines()[-1] == "7 drifts", drift.lines()
        text = "\n".join(drift.lines())
        for line in (
            f"log {gone['block_number']}:{gone['log_index']} is on the chain, not stored",
            f"log {changed['block_number']}:{changed['log_index']}: data stored 0x{'ee' * 32}",
            f"log {moved['block_number']}:{moved['log_index']} is on the chain, not stored",
            f"log {moved['block_number']}:999 is stored, not on the chain",
            f"block {head}: hash stored 0x{'ab' * 32}",
            f"transaction {lost.lower()} is on the chain, not stored",
            f"transaction {wrong.lower()}: value stored 7, chain ",
        ):
            assert line in text, (line, text)


async def test_bad_configuration_fails_fast_with_a_clear_message(
    devnet, endpoints, mysql_url, tmp_path: Path
):
    cases = [
        (
            dict(
                rpc_urls=f"http://127.0.0.1:{stack.free_port()}",
                rpc_max_attempts=1,
                rpc_timeout_s=1,
            ),
            "no RPC answers",
        ),
        (dict(chain_id=1), "wrong chain: expected chain id 1"),
        (
            dict(manifest=None, token_address="0x" + "12" * 20, start_block=0),
            "no contract at 0x1212",
        ),
    ]
    for overrides, message in cases:
        app = bootstrap(
            settings_for(devnet, endpoints, mysql_url, **overrides), registry=isolated_registry()
        )
        try:
            with pytest.raises(ConfigError, match=message):
                await app.validate()
        finally:
            await app.close()
    # a node without finality (pre-merge, some L2s) refuses the tag: named at start
    proxy = FaultyRpc(devnet.rpc.url, seed=1, unknown_tags=frozenset({"finalized"}))
    proxy.active = False
    port = stack.free_port()
    await proxy.start(port)
    app = bootstrap(
        settings_for(
            devnet,
            endpoints,
            mysql_url,
            rpc_urls=f"http://127.0.0.1:{port}",
            confirmations="finalized",
        ),
        registry=isolated_registry(),
    )
    try:
        with pytest.raises(ConfigError, match="NOVA_CONFIRMATIONS=finalized: the node does not"):
            await app.validate()
    finally:
        await app.close()
        await proxy.stop()
    with pytest.raises(ConfigError, match="NOVA_MANIFEST: cannot read"):
        bootstrap(settings_for(devnet, endpoints, mysql_url, manifest=tmp_path / "missing.json"))


def test_kafka_bus_type_is_real(endpoints) -> None:
    assert isinstance(KafkaEventBus(endpoints.kafka_bootstrap), KafkaEventBus)


async def test_two_indexes_of_one_chain_sync_side_by_side(
    devnet, endpoints, mysql_url, other_mysql_url
):
    """Two databases on one server indexing the same chain (a rebuild beside the live index):
    each syncer holds its own database's lock, neither waits for the other."""
    head = await devnet.chain.block_number()
    async with (
        running(settings_for(devnet, endpoints, mysql_url)) as (live, _, _),
        running(settings_for(devnet, endpoints, other_mysql_url)) as (rebuild, _, _),
    ):
        await wait_for(
            lambda: _both_synced(live, rebuild, head), "both indexes to reach the head", 120
        )


async def _both_synced(a: BlockSyncApp, b: BlockSyncApp, head: int) -> bool:
    return a.syncer.status.synced >= head and b.syncer.status.synced >= head


async def test_single_writer_lock_and_fencing(mysql_url):
    from block_sync_service.domain.errors import Fenced
    from block_sync_service.domain.model import BlockBatch, BlockHeader, Checkpoint
    from block_sync_service.infrastructure.lock import MySqlLock, sync_lock_name
    from block_sync_service.infrastructure.store import SqlAlchemySyncStore

    migrate(mysql_url)
    engine = create_engine(mysql_url)
    name = sync_lock_name(engine.url.database, 31337)
    first, second = MySqlLock(engine, name), MySqlLock(engine, name)
    # GET_LOCK names are server-wide: an index of the same chain in another database (a
    # rebuild beside the live one) has a lock of its own and does not wait for this one
    other = MySqlLock(engine, sync_lock_name(f"{engine.url.database}_rebuild", 31337))
    stop = asyncio.Event()
    try:
        assert await first.acquire()
        assert await asyncio.wait_for(other.acquire(stop), 10)
        assert other.attempts == 1
        await other.release()
        waiting = asyncio.create_task(second.acquire(stop))

        async def retried() -> bool:
            return second.attempts >= 2

        await wait_for(retried, "the second syncer to retry the lock", 30)
        assert not waiting.done()  # still waiting: only one syncer runs
        await first.release()
        assert await asyncio.wait_for(waiting, 30)
        await second.release()
        # fencing: an older epoch can no longer move the checkpoint
        store = SqlAlchemySyncStore(engine, 31337)
        _, old = await store.open(1)
        _, new = await store.open(1)
        assert new == old + 1
        header = BlockHeader(5, "0x" + "05" * 32, "0x" + "04" * 32, 1000)
        batch = BlockBatch(1, 5, headers={5: header})
        with pytest.raises(Fenced):
            await store.commit(batch, Checkpoint(5, header.hash), old, 5)
        await store.commit(batch, Checkpoint(5, header.hash), new, 5)
        assert (await store.state()).synced_block == 5
    finally:
        stop.set()
        await engine.dispose()


async def test_a_fenced_sync_waits_for_the_lock_then_goes_on(devnet, endpoints, mysql_url):
    """Another syncer takes a newer epoch (what a standby does once this one lost its lock):
    this one's next commit is refused; it does not exit, it waits for the lock again, opens
    a newer epoch from the stored checkpoint and follows the chain on, with no alarm."""
    from block_sync_service.infrastructure.store import SqlAlchemySyncStore

    settings = settings_for(devnet, endpoints, mysql_url)
    async with running(settings) as (app, task, readers):
        head = await devnet.chain.block_number()
        await wait_for(lambda: synced_to(app, head), "sync to the head", 60)
        epoch = app.syncer._epoch
        _, taken = await SqlAlchemySyncStore(app.engine, app.chain_id).open(1)
        await devnet.sim.resync()
        await devnet.sim.run(blocks=3)
        new_head = await devnet.chain.block_number()
        await wait_for(lambda: synced_to(app, new_head), "sync on after the fence", 60)
        assert not task.done() and app.syncer._epoch > taken > epoch
        assert (await app.store.state()).alarm is None and app.syncer.status.alarm == ""
        truth = await ground_truth(devnet.rpc, devnet.manifest, new_head)
        for domain in DOMAINS:
            r = readers[domain]
            await wait_for(
                lambda r=r, d=domain: _has_all(r, truth[d]), f"{domain} stream complete", 30
            )


async def _has_all(reader: TopicReader, truth: list[tuple[str, int]]) -> bool:
    await reader.poll()
    return list(dict.fromkeys(reader.replay())) == truth


async def _sync_state(settings: BlockSyncSettings) -> tuple[int, int, int]:
    """(synced block, epoch, generation) as stored."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            query = sa.text("SELECT synced_block, epoch, generation FROM sync_state")
            synced, epoch, generation = (await conn.execute(query)).one()
    finally:
        await engine.dispose()
    return int(synced), int(epoch), int(generation)


async def _nova(settings: BlockSyncSettings, *args: str) -> tuple[int, str]:
    """Run ``nova <args>`` as a process with the settings' database, broker, topics and node."""
    env = {
        **os.environ,
        "NOVA_DATABASE_URL": settings.database_url,
        "NOVA_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "NOVA_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "NOVA_MANIFEST": str(settings.manifest),
        "NOVA_RPC_URLS": settings.rpc_urls,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nova.cli",
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_after_a_deep_reorg_nova_rewind_brings_every_topic_back_to_the_chain(
    devnet, endpoints, mysql_url
):
    """A reorg deeper than the window stops the sync with an alarm; `nova rewind` refuses
    while the sync runs and refuses a block of the orphaned fork (naming the block to use),
    then reverts every topic to that block, and the restarted sync republishes the chain."""
    settings = settings_for(devnet, endpoints, mysql_url, reorg_window=4)
    async with running(settings, keep_archive=True) as (app, task, _readers):
        await devnet.sim.resync()
        await devnet.sim.run(blocks=12)
        head = await devnet.chain.block_number()
        await wait_for(lambda: synced_to(app, head), "sync before the reorg", 60)
        code, out = await _nova(settings, "rewind", "--to", str(head - 1), "--yes")
        assert code == 1 and "a sync of this index is running" in out, out
        result = await force_reorg(devnet.rpc, devnet.manifest, 8, seed=77)
        await devnet.sim.resync()
        await devnet.sim.run(blocks=2)

        async def alarmed() -> bool:
            return "deep reorg" in app.syncer.status.alarm

        await wait_for(alarmed, "the deep reorg's alarm", 60)
        assert not task.done()  # the service stays up to report it, until stopped
        assert "deep reorg" in (await app.store.state()).alarm
        ((safe, _),) = await app.store.stored_below(result.first_orphaned - 1, 1)
        inside = min(await app.store.window(result.first_orphaned))  # orphaned, stored
    code, out = await _nova(settings, "rewind", "--to", str(inside), "--yes")
    assert code == 1 and f"still the chain's is {safe}: rewind to it" in out, out
    before = await _sync_state(settings)
    code, out = await _nova(settings, "rewind", "--to", str(inside), "--dry-run")
    assert code == 1 and f"still the chain's is {safe}: rewind to it" in out, out
    code, out = await _nova(settings, "rewind", "--to", str(safe), "--dry-run")
    assert code == 0 and f"to {safe}: the " in out and "nothing changed" in out, out
    assert await _sync_state(settings) == before  # no checkpoint moved, no epoch taken
    code, out = await _nova(settings, "rewind", "--to", str(safe), "--yes")
    assert code == 0 and f"to {safe}: a revert marker" in out, out

    new_head = await devnet.chain.block_number()
    truth = await ground_truth(devnet.rpc, devnet.manifest, new_head)
    async with running(settings) as (app, _task, readers):
        await wait_for(lambda: synced_to(app, new_head), "sync after the rewind", 60)
        assert app.syncer.status.alarm == ""
        for domain in DOMAINS:
            r = readers[domain]
            await wait_for(lambda r=r, d=domain: _replays_to(r, truth[d]), f"{domain} stream", 30)
            assert r.reverts()[-1].to_block == safe
        # the archive: the orphaned fork's logs removed, the logs read again live again
        tracked = list(app.tracked.addresses.values())
        start = app.tracked.start_block

        async def archive_equals_chain() -> bool:
            drift = await verify_archive(app.archive, devnet.rpc, tracked, start, new_head)
            return drift.ok

        await wait_for(archive_equals_chain, "the archive to equal the chain", 60)
