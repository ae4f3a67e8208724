"""`nova sync` as a real process: SIGKILL mid-backfill and restart, and a fault-injecting RPC."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pymysql
import pytest
from aiohttp import ClientSession, web

from block_sync_service.bootstrap import bootstrap
from common.db import migrate
from common.infrastructure.kafka_bus import KafkaEventBus
from common.metrics import isolated_registry
from nova import stack
from tests.chain_helpers import TopicReader, ground_truth, make_devnet, wait_for
from tests.faults import FaultyRpc
from tests.integration.test_block_sync import settings_for
from tests.names import topic_prefix

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def devnet(anvil_url: str, tmp_path_factory: pytest.TempPathFactory):
    net = await make_devnet(
        anvil_url, tmp_path_factory.mktemp("devnet"), seed=33, blocks=160, txs_per_block=6
    )
    yield net
    await net.rpc.close()


def _synced(db_url: str) -> int:
    name = db_url.rsplit("/", 1)[1]
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root", database=name)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT synced_block FROM sync_state")
            row = cur.fetchone()
            return int(row[0]) if row else -1
    except pymysql.err.ProgrammingError:
        return -1
    finally:
        conn.close()


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "nova.cli", "sync"],
            env={**os.environ, **env},
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


async def test_sigkill_during_backfill_then_restart_leaves_no_gap(
    devnet, endpoints, mysql_url, tmp_path: Path
):
    head = await devnet.chain.block_number()
    prefix = topic_prefix()
    env = {
        "NOVA_DATABASE_URL": mysql_url,
        "NOVA_KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        "NOVA_KAFKA_TOPIC_PREFIX": prefix,
        "NOVA_MANIFEST": str(devnet.manifest_path),
        "NOVA_RPC_URLS": devnet.rpc.url,
        "NOVA_GRPC_PORT": "0",
        "NOVA_ARCHIVE": "false",
        "NOVA_REORG_WINDOW": "16",
        "NOVA_RANGE_INITIAL": "4",
        "NOVA_RANGE_MAX": "4",
        "NOVA_RANGE_CONCURRENCY": "1",
        "NOVA_RPC_RATE_LIMIT": "40",  # slow enough that the kill lands mid-backfill
        "NOVA_POLL_INTERVAL_S": "0.2",
    }
    migrate(mysql_url)
    log = tmp_path / "sync.log"
    start = devnet.manifest.start_block
    proc = _spawn(env, log)
    try:
        killed_at = -1
        for _ in range(2):  # two kills at different points
            target = _synced(mysql_url) + 12

            async def progressed(t: int = target) -> bool:
                return _synced(mysql_url) >= t

            await wait_for(progressed, "backfill progress before the kill", 60)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            killed_at = _synced(mysql_url)
            assert start <= killed_at < head - 10, "the kill must land mid-backfill"
            proc = _spawn(env, log)

        async def done() -> bool:
            return _synced(mysql_url) >= head

        await wait_for(done, "backfill to finish after restarts", 120)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(20) == 0, "SIGTERM must stop `nova sync` cleanly (exit 0)"
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    truth = await ground_truth(devnet.rpc, devnet.manifest, head)
    bus = KafkaEventBus(endpoints.kafka_bootstrap)
    try:
        for domain in ("token", "staking", "governance"):
            reader = TopicReader(bus, f"{prefix}{domain}")
            try:

                async def complete(r: TopicReader = reader, d: str = domain) -> bool:
                    await r.poll()
                    return set(r.replay()) >= set(truth[d])

                await wait_for(complete, f"{domain} topic complete", 30)
                assert [x for x in reader.replay() if x in set(truth[domain])] == truth[domain]
                assert set(reader.replay()) - set(truth[domain]) == set()
                # a re-published event is the same event (same identity, same content)
                first: dict[tuple[str, int], bytes] = {}
                for env_ in reader.envelopes:
                    if env_.WhichOneof("body") != "event":
                        continue
                    e = env_.event

                    e.historical = False
                    ident = (e.block_hash, e.log_index)
                    body = e.SerializeToString(deterministic=True)
                    assert first.setdefault(ident, body) == body, f"{ident} changed on replay"
            finally:
                await reader.close()
    finally:
        await bus.close()


async def test_backfill_through_rpc_faults_yields_exactly_the_ground_truth(
    devnet, endpoints, mysql_url
):
    head = await devnet.chain.block_number()
    proxy = FaultyRpc(devnet.rpc.url, seed=7)
    proxy.session = ClientSession()
    app = web.Application()
    app.router.add_post("/", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = stack.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    dead = f"http://127.0.0.1:{stack.free_port()}"  # one of two RPC URLs is dead
    settings = settings_for(
        devnet,
        endpoints,
        mysql_url,
        rpc_urls=f"{dead},http://127.0.0.1:{port}",
        rpc_timeout_s=1.0,
        rpc_max_attempts=20,
        range_initial=64,
        archive=False,
    )
    migrate(mysql_url)
    sync = bootstrap(settings, registry=isolated_registry())
    sync.chain._backoff_base = 0.01  # keep retries quick on loopback
    try:
        await sync.start()
        await asyncio.wait_for(sync.run(asyncio.Event(), until=head), 180)
        truth = await ground_truth(devnet.rpc, devnet.manifest, head)
        for domain in ("token", "staking", "governance"):
            reader = TopicReader(sync.bus, sync.sink.router.topics[domain])
            try:
                await reader.poll()
                assert reader.replay() == truth[domain]
            finally:
                await reader.close()
        assert proxy.counts["range"] > 0
        assert proxy.counts["429"] > 0
        assert proxy.counts["timeout"] > 0
    finally:
        await sync.close()
        await runner.cleanup()
        await proxy.session.close()
