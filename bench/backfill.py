"""Backfill benchmark: block sync (RPC -> decode -> Kafka + MariaDB) vs the raw rate of
``eth_getLogs`` + ABI decoding against the same node, in the same run.

    uv run python -m bench.backfill [--events 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import drop_database, fresh_database, generate
from block_sync_service.bootstrap import bootstrap
from block_sync_service.infrastructure.chain import JsonRpcChainClient
from block_sync_service.settings import BlockSyncSettings
from common.db import migrate
from common.metrics import isolated_registry
from nova import stack
from nova.devnet import artifacts


async def raw_rate(
    url: str, addresses: list[str], first: int, last: int, step: int
) -> tuple[float, int]:
    """eth_getLogs in ranges (4 in flight) + decoding every log by its ABI: events/s."""
    chain = JsonRpcChainClient([url])
    abis = {}
    for name in ("NovaToken", "NovaStaking", "NovaGovernor", "NovaTimelock"):
        for spec in artifacts.load(name).abi.events_by_topic.values():
            abis[spec.topic0] = spec
    sem = asyncio.Semaphore(4)
    count = 0

    async def one(a: int, b: int) -> None:
        nonlocal count
        async with sem:
            logs = await chain.logs(a, b, addresses)
        for lg in logs:
            spec = abis.get(lg.topics[0])
            if spec is not None:
                spec.decode(lg.topics, lg.data)
            count += 1

    started = time.monotonic()
    await asyncio.gather(*(one(a, min(last, a + step - 1)) for a in range(first, last + 1, step)))
    took = time.monotonic() - started
    await chain.close()
    return count / took, count


async def service_rate(settings: BlockSyncSettings, head: int) -> tuple[float, int, float]:
    migrate(settings.database_url)
    app = bootstrap(settings, registry=isolated_registry())
    await app.start()
    assert app.syncer is not None
    started = time.monotonic()
    await app.run(asyncio.Event(), until=head)
    took = time.monotonic() - started
    events = app.syncer.status.events_total
    await app.close()
    return events / took, events, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--range", type=int, default=50, help="initial eth_getLogs range")
    args = parser.parse_args()
    endpoints = stack.up()
    with tempfile.TemporaryDirectory() as tmp:
        history, anvil = asyncio.run(generate(args.events, Path(tmp)))
        print(
            f"history: {history.events} events in {history.head} blocks "
            f"(generated in {history.generate_s:.1f}s)"
        )
        db_url, db_name = fresh_database()
        try:
            addresses = [c["address"] for c in history.manifest.contracts.values()]
            raw, raw_count = asyncio.run(
                raw_rate(
                    history.url, addresses, history.manifest.start_block, history.head, args.range
                )
            )
            settings = BlockSyncSettings(
                database_url=db_url,
                kafka_bootstrap_servers=endpoints.kafka_bootstrap,
                kafka_topic_prefix=f"nova.bench{uuid.uuid4().hex[:6]}.",
                manifest=history.manifest_path,
                rpc_urls=history.url,
                grpc_port=0,
                archive=False,
                reorg_window=16,
                range_initial=args.range,
            )
            rate, events, took = asyncio.run(service_rate(settings, history.head))
            assert events == raw_count, f"published {events} of the chain's {raw_count} events"
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        finally:
            drop_database(db_name)
            anvil.terminate()  # type: ignore[attr-defined]
    print(f"{'measure':42} {'value':>12}")
    print(f"{'raw eth_getLogs + decode (events/s)':42} {raw:12,.0f}")
    print(f"{'block sync -> Kafka + MariaDB (events/s)':42} {rate:12,.0f}")
    print(f"{'ratio service / raw':42} {rate / raw:12.2f}")
    print(f"{'chain events published':42} {events:12,}")
    print(f"{'backfill time (s)':42} {took:12.1f}")
    print(f"{'peak RSS of this process (MB)':42} {peak_mb:12.0f}")


if __name__ == "__main__":
    main()
